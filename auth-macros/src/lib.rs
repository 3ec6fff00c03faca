//! `#[derive(SessionTypes)]`: turns an enum into a typed session for `auth-runtime`.
//!
//! Use it through `auth_runtime::SessionTypes` (the runtime re-exports it); the generated code calls
//! into the runtime, so this crate alone is not useful. The attributes are documented on the
//! runtime's re-export.

#![deny(missing_docs)]

mod ast;
mod attr;
mod case;
mod ctxt;
mod expand;
mod fallback;
mod params;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `auth_runtime::SessionTypes` and the serde, schema and accessor code that goes with it.
///
/// The enum's variants may be struct variants (`User { user_id: String }`: the fields are the
/// properties), newtype variants (`Api(ApiClient)`: the inner type's serde form is the properties,
/// and must be an object) or unit variants (`Guest`: the properties are `{}`). Tuple variants of
/// two or more fields, generics, structs and unions are refused with an error that says what to
/// write instead. The wire form is `{"type": "<tag>", "properties": {...}}`.
///
/// Attributes, all under `#[session(...)]`:
///
/// - on the enum: `rename_all = "..."` renames every tag with one of serde's rules
///   (`"lowercase"`, `"UPPERCASE"`, `"PascalCase"`, `"camelCase"`, `"snake_case"` (the default),
///   `"SCREAMING_SNAKE_CASE"`, `"kebab-case"`, `"SCREAMING-KEBAB-CASE"`); `crate = "path"` names
///   the runtime when it is renamed in `Cargo.toml` (default `::auth_runtime`);
/// - on a variant: `rename = "tag"` sets its tag; `rename_all = "..."` renames its properties;
/// - on a field of a struct variant: `rename = "name"` sets its property name.
///
/// Generated, besides the `SessionTypes` impl: `Serialize` and `Deserialize` in the wire form,
/// `is_<variant>()` for every variant, `as_<variant>()`, `into_<variant>()` and
/// `SessionVariant<Inner>` for every newtype variant, and `schemars::JsonSchema` when the
/// runtime's `schema` feature is on. The runtime's README shows it all at work.
#[proc_macro_derive(SessionTypes, attributes(session))]
pub fn derive_session_types(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
