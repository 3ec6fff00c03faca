//! Rules that span several variants or fields: what makes two of them collide on the wire or in
//! the generated API. Each collision is reported at the second occurrence.

use std::collections::HashMap;

use quote::ToTokens;

use crate::ast::{Input, Style};
use crate::ctxt::Ctxt;

/// Every rule across variants, each reported at its second occurrence:
/// - [`check_tags`]: two variants never share a tag;
/// - [`check_properties`]: two fields of one struct variant never share a property name;
/// - [`check_newtypes`]: two newtype variants never hold the same type;
/// - [`check_accessor_names`]: two variants never generate the same accessor.
pub(crate) fn check(cx: &mut Ctxt, input: &Input<'_>) {
    check_tags(cx, input);
    check_properties(cx, input);
    check_newtypes(cx, input);
    check_accessor_names(cx, input);
}

/// Each variant's tag (after `rename` and `rename_all`) is its own: the tag alone says which
/// variant a token holds.
fn check_tags(cx: &mut Ctxt, input: &Input<'_>) {
    let mut seen = HashMap::new();
    for variant in &input.variants {
        if let Some(first) = seen.insert(variant.tag.as_str(), variant.ident) {
            cx.error_spanned_by(
                variant.ident,
                format_args!(
                    "duplicate session type `{}`: variant `{first}` already uses it; give one of them a distinct `#[session(rename = \"...\")]`",
                    variant.tag
                ),
            );
        }
    }
}

/// Within a struct variant, each field's property name (after `rename` and `rename_all`) is its
/// own: a property must decode into exactly one field.
fn check_properties(cx: &mut Ctxt, input: &Input<'_>) {
    for variant in &input.variants {
        let Style::Struct(fields) = &variant.style else {
            continue;
        };
        let mut seen = HashMap::new();
        for field in fields {
            if let Some(first) = seen.insert(field.name.as_str(), field.ident) {
                cx.error_spanned_by(
                    field.original,
                    format_args!(
                        "duplicate property `{}` in variant `{}`: field `{first}` already uses it; give one of them a distinct `#[session(rename = \"...\")]`",
                        field.name, variant.ident
                    ),
                );
            }
        }
    }
}

/// Narrowing by type (`SessionVariant<T>`) needs each newtype variant to hold its own type.
fn check_newtypes(cx: &mut Ctxt, input: &Input<'_>) {
    let mut seen = HashMap::new();
    for variant in &input.variants {
        let Style::Newtype(ty) = variant.style else { continue };
        let key = ty.to_token_stream().to_string();
        if let Some(first) = seen.insert(key, variant.ident) {
            cx.error_spanned_by(
                ty,
                format_args!(
                    "variant `{}` holds the same type as variant `{first}`, so the session cannot be narrowed by type; wrap one of them in its own struct",
                    variant.ident
                ),
            );
        }
    }
}

/// `is_<variant>()` and `as_<variant>()` are named from the variant; two spellings of one name
/// (`ApiClient` and `Api_Client`) would generate the same method twice.
fn check_accessor_names(cx: &mut Ctxt, input: &Input<'_>) {
    let mut seen = HashMap::new();
    for variant in &input.variants {
        let method = variant.method_stem();
        if let Some(first) = seen.insert(method.clone(), variant.ident) {
            cx.error_spanned_by(
                variant.ident,
                format_args!(
                    "variants `{first}` and `{}` would both generate `is_{method}()`; rename one of them",
                    variant.ident
                ),
            );
        }
    }
}
