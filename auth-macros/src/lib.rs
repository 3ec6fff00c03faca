//! `#[derive(SessionTypes)]`: turns an enum into a typed session for `auth-runtime`.
//!
//! Use it through `auth_runtime::SessionTypes` (the runtime re-exports it); the generated code calls
//! into the runtime, so this crate alone is not useful. The attributes are documented on the
//! runtime's re-export.

mod ast;
mod attr;
mod case;
mod ctxt;
mod expand;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `auth_runtime::SessionTypes` and the serde, schema and accessor code that goes with it.
#[proc_macro_derive(SessionTypes, attributes(session))]
pub fn derive_session_types(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
