//! Parsing of `#[session(...)]` on the enum, its variants and their fields.
//!
//! Every problem is recorded in the [`Ctxt`] and parsing goes on, so one compile reports all of
//! them; a rejected attribute simply keeps its default.

use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitStr, Token};

use crate::case::RenameRule;
use crate::ctxt::Ctxt;

/// Attributes on the enum itself.
pub(crate) struct Container {
    pub(crate) rename_all: Option<RenameRule>,
    /// Path to the runtime crate, `::auth_runtime` unless `#[session(crate = "...")]` says otherwise.
    pub(crate) crate_path: syn::Path,
}

/// Attributes on one variant.
pub(crate) struct Variant {
    pub(crate) rename: Option<String>,
    /// Rule for this variant's property names.
    pub(crate) rename_all: Option<RenameRule>,
}

/// Attributes on one field of a struct variant.
pub(crate) struct Field {
    pub(crate) rename: Option<String>,
}

/// One attribute value, remembering whether it was already set so a repeat can be reported.
struct Slot<T> {
    name: &'static str,
    value: Option<T>,
}

impl<T> Slot<T> {
    fn new(name: &'static str) -> Self {
        Slot { name, value: None }
    }

    fn set(&mut self, cx: &mut Ctxt, meta: &ParseNestedMeta<'_>, value: T) {
        if self.value.is_some() {
            cx.error_spanned_by(
                &meta.path,
                format_args!("duplicate `#[session({})]` attribute; keep only one", self.name),
            );
        } else {
            self.value = Some(value);
        }
    }
}

impl Container {
    pub(crate) fn from_ast(cx: &mut Ctxt, attrs: &[Attribute]) -> Self {
        let mut rename_all = Slot::new("rename_all");
        let mut crate_path = Slot::new("crate");
        for_each_session_meta(cx, attrs, "`rename_all`, `crate`", |cx, meta| {
            if meta.path.is_ident("rename_all") {
                if let Some(rule) = parse_rename_rule(cx, meta)? {
                    rename_all.set(cx, meta, rule);
                }
            } else if meta.path.is_ident("crate") {
                if let Some(path) = parse_crate_path(cx, meta)? {
                    crate_path.set(cx, meta, path);
                }
            } else {
                return Ok(false);
            }
            Ok(true)
        });
        Container {
            rename_all: rename_all.value,
            crate_path: crate_path.value.unwrap_or_else(|| syn::parse_quote!(::auth_runtime)),
        }
    }
}

impl Variant {
    pub(crate) fn from_ast(cx: &mut Ctxt, attrs: &[Attribute]) -> Self {
        let mut rename = Slot::new("rename");
        let mut rename_all = Slot::new("rename_all");
        for_each_session_meta(cx, attrs, "`rename`, `rename_all`", |cx, meta| {
            if meta.path.is_ident("rename") {
                if let Some(name) = parse_name(cx, meta)? {
                    rename.set(cx, meta, name);
                }
            } else if meta.path.is_ident("rename_all") {
                if let Some(rule) = parse_rename_rule(cx, meta)? {
                    rename_all.set(cx, meta, rule);
                }
            } else {
                return Ok(false);
            }
            Ok(true)
        });
        Variant {
            rename: rename.value,
            rename_all: rename_all.value,
        }
    }
}

impl Field {
    pub(crate) fn from_ast(cx: &mut Ctxt, attrs: &[Attribute]) -> Self {
        let mut rename = Slot::new("rename");
        for_each_session_meta(cx, attrs, "`rename`", |cx, meta| {
            if meta.path.is_ident("rename") {
                if let Some(name) = parse_name(cx, meta)? {
                    rename.set(cx, meta, name);
                }
                Ok(true)
            } else {
                Ok(false)
            }
        });
        Field { rename: rename.value }
    }
}

/// Runs `handle` on each `key` or `key = value` inside every `#[session(...)]` in `attrs`.
///
/// `handle` returns `Ok(false)` for a key it does not know; the key is then reported with the
/// list of keys `expected` at this position, and its value skipped so the next key still parses.
fn for_each_session_meta(
    cx: &mut Ctxt,
    attrs: &[Attribute],
    expected: &str,
    mut handle: impl FnMut(&mut Ctxt, &ParseNestedMeta<'_>) -> syn::Result<bool>,
) {
    for attr in attrs {
        if !attr.path().is_ident("session") {
            continue;
        }
        if let syn::Meta::Path(path) = &attr.meta {
            cx.error_spanned_by(path, "expected `#[session(...)]` with at least one key");
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            if !handle(cx, &meta)? {
                let path = &meta.path;
                let key = quote::quote!(#path).to_string().replace(' ', "");
                cx.error_spanned_by(
                    &meta.path,
                    format_args!("unknown attribute `#[session({key})]` here; expected one of {expected}"),
                );
                skip_value(&meta)?;
            }
            Ok(())
        });
        if let Err(error) = result {
            cx.syn_error(error);
        }
    }
}

/// Consumes `= value` or `(...)` after an unknown key.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| skip_value(&inner))?;
    }
    Ok(())
}

/// Parses `key = "string"`; records a spanned error and returns `None` for anything else.
fn parse_string(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>, example: &str) -> syn::Result<Option<LitStr>> {
    let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
    if !meta.input.peek(Token![=]) {
        cx.error_spanned_by(
            &meta.path,
            format_args!("`#[session({key} = ...)]` expects a value, e.g. `{key} = {example}`"),
        );
        skip_value(meta)?;
        return Ok(None);
    }
    let value: syn::Expr = meta.value()?.parse()?;
    match value {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(string),
            ..
        }) => Ok(Some(string)),
        other => {
            cx.error_spanned_by(
                other,
                format_args!("`#[session({key} = ...)]` expects a string literal, e.g. `{key} = {example}`"),
            );
            Ok(None)
        }
    }
}

fn parse_name(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<String>> {
    let Some(literal) = parse_string(cx, meta, "\"userID\"")? else {
        return Ok(None);
    };
    let name = literal.value();
    if name.is_empty() {
        cx.error_spanned_by(&literal, "`#[session(rename = \"\")]` needs a non-empty name");
        return Ok(None);
    }
    Ok(Some(name))
}

fn parse_rename_rule(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<RenameRule>> {
    let Some(literal) = parse_string(cx, meta, "\"camelCase\"")? else {
        return Ok(None);
    };
    let rule = RenameRule::from_name(&literal.value());
    if rule.is_none() {
        cx.error_spanned_by(
            &literal,
            format_args!(
                "unknown rename rule `rename_all = {:?}`; expected one of {}",
                literal.value(),
                RenameRule::names()
            ),
        );
    }
    Ok(rule)
}

fn parse_crate_path(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<syn::Path>> {
    let Some(literal) = parse_string(cx, meta, "\"my_auth\"")? else {
        return Ok(None);
    };
    match literal.parse::<syn::Path>() {
        Ok(path) => Ok(Some(path)),
        Err(_) => {
            cx.error_spanned_by(
                &literal,
                format_args!(
                    "`#[session(crate = {:?})]` is not a path; name the runtime as in `crate = \"my_auth\"`",
                    literal.value()
                ),
            );
            Ok(None)
        }
    }
}
