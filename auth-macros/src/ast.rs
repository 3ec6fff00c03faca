//! The enum as the later stages see it: each variant's shape, tag and property names resolved,
//! with the original syn nodes kept for error spans.

use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, Ident, Type};

use crate::attr;
use crate::case::RenameRule;
use crate::ctxt::Ctxt;

pub(crate) struct Input<'a> {
    pub(crate) original: &'a DeriveInput,
    pub(crate) attrs: attr::Container,
    pub(crate) variants: Vec<Variant<'a>>,
}

pub(crate) struct Variant<'a> {
    pub(crate) ident: &'a Ident,
    /// The wire name: `"type"` in the token.
    pub(crate) tag: String,
    pub(crate) style: Style<'a>,
    /// The variant's doc comment, for the JSON Schema description.
    #[cfg_attr(
        not(feature = "schema"),
        allow(dead_code, reason = "only the JSON Schema uses doc comments")
    )]
    pub(crate) docs: Option<String>,
}

pub(crate) enum Style<'a> {
    /// `User { user_id: String }`: the fields are the properties.
    Struct(Vec<Field<'a>>),
    /// `Api(ApiClient)`: the one field's own serialization is the properties.
    Newtype(&'a Type),
    /// `Guest`: properties are `{}`.
    Unit,
}

pub(crate) struct Field<'a> {
    pub(crate) original: &'a syn::Field,
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    /// The wire name inside `"properties"`.
    pub(crate) name: String,
    /// `Option<T>`: a missing property decodes as `None` and is not required by the schema.
    #[cfg_attr(not(feature = "schema"), allow(dead_code, reason = "only the JSON Schema reads it"))]
    pub(crate) is_option: bool,
}

impl<'a> Input<'a> {
    /// Reads the derive input; shapes that cannot be a session are reported and yield `None`.
    pub(crate) fn from_ast(cx: &mut Ctxt, original: &'a DeriveInput) -> Option<Self> {
        let attrs = attr::Container::from_ast(cx, &original.attrs);
        let data = match &original.data {
            Data::Enum(data) => data,
            Data::Struct(data) => {
                cx.error_spanned_by(
                    data.struct_token,
                    "SessionTypes can only be derived for enums; wrap the struct in a variant, e.g. `enum Session { User(User) }`",
                );
                return None;
            }
            Data::Union(data) => {
                cx.error_spanned_by(
                    data.union_token,
                    "SessionTypes can only be derived for enums; write `enum Session { ... }` with one variant per session type",
                );
                return None;
            }
        };
        if !original.generics.params.is_empty() || original.generics.where_clause.is_some() {
            cx.error_spanned_by(
                &original.generics,
                "SessionTypes does not support generic parameters; use concrete types in the variants",
            );
        }
        if data.variants.is_empty() {
            cx.error_spanned_by(
                &original.ident,
                "SessionTypes needs at least one variant, e.g. `User { user_id: String }`",
            );
        }
        let variants = data
            .variants
            .iter()
            .filter_map(|variant| Variant::from_ast(cx, variant, attrs.rename_all))
            .collect();
        Some(Input {
            original,
            attrs,
            variants,
        })
    }
}

impl<'a> Variant<'a> {
    fn from_ast(cx: &mut Ctxt, original: &'a syn::Variant, rename_all: Option<RenameRule>) -> Option<Self> {
        let attrs = attr::Variant::from_ast(cx, &original.attrs);
        let ident = &original.ident;
        let tag = attrs.rename.clone().unwrap_or_else(|| {
            rename_all
                .unwrap_or(RenameRule::SnakeCase)
                .apply_to_variant(&ident.unraw().to_string())
        });
        let style = match &original.fields {
            Fields::Named(named) => Style::Struct(
                named
                    .named
                    .iter()
                    .filter_map(|field| Field::from_ast(cx, field, attrs.rename_all))
                    .collect(),
            ),
            Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
                if attrs.rename_all.is_some() {
                    cx.error_spanned_by(
                        original,
                        "`#[session(rename_all = ...)]` on a variant renames its named fields; for a newtype variant put `#[serde(rename_all = ...)]` on the inner struct",
                    );
                }
                for field in &unnamed.unnamed {
                    reject_session_attrs(cx, &field.attrs, "a newtype variant's field");
                }
                Style::Newtype(&unnamed.unnamed[0].ty)
            }
            Fields::Unnamed(unnamed) if unnamed.unnamed.is_empty() => {
                cx.error_spanned_by(
                    &original.fields,
                    format_args!("variant `{ident}()` has no fields; write `{ident}` for a session without properties"),
                );
                return None;
            }
            Fields::Unnamed(unnamed) => {
                cx.error_spanned_by(
                    &original.fields,
                    format_args!(
                        "tuple variant `{ident}` has {} fields, but properties need names; write `{ident} {{ name: Type, ... }}` or `{ident}(OneStruct)`",
                        unnamed.unnamed.len()
                    ),
                );
                return None;
            }
            Fields::Unit => Style::Unit,
        };
        Some(Variant {
            ident,
            tag,
            style,
            docs: doc_comment(&original.attrs),
        })
    }
}

impl<'a> Field<'a> {
    fn from_ast(cx: &mut Ctxt, original: &'a syn::Field, rename_all: Option<RenameRule>) -> Option<Self> {
        let attrs = attr::Field::from_ast(cx, &original.attrs);
        let ident = original.ident.as_ref()?;
        let unraw = ident.unraw().to_string();
        let name = attrs.rename.unwrap_or_else(|| match rename_all {
            Some(rule) => rule.apply_to_field(&unraw),
            None => unraw,
        });
        Some(Field {
            original,
            ident,
            ty: &original.ty,
            name,
            is_option: is_option(&original.ty),
        })
    }
}

fn reject_session_attrs(cx: &mut Ctxt, attrs: &[syn::Attribute], place: &str) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("session")) {
        cx.error_spanned_by(
            attr,
            format_args!("`#[session(...)]` has no meaning on {place}; configure the inner type with `#[serde(...)]`"),
        );
    }
}

/// Whether the type is written `Option<T>` (also `std::option::Option<T>`), the same syntactic
/// test serde uses to let a missing field decode as `None`.
fn is_option(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    if path.qself.is_some() {
        return false;
    }
    path.path
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "Option" && !segment.arguments.is_empty())
}

/// Joins `///` lines the way rustdoc does for a one-paragraph summary.
fn doc_comment(attrs: &[syn::Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(syn::MetaNameValue {
            value:
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(text),
                    ..
                }),
            ..
        }) = &attr.meta
        {
            lines.push(text.value().trim().to_owned());
        }
    }
    let joined = lines.join("\n").trim().to_owned();
    (!joined.is_empty()).then_some(joined)
}

impl Variant<'_> {
    /// The variant name in snake_case, the stem of its generated accessors (`is_<stem>()`).
    pub(crate) fn method_stem(&self) -> String {
        crate::case::method_snake_case(&self.ident.unraw().to_string())
    }
}
