//! Code generation. Input reaching this stage has passed `valid`; nothing here rejects anything.
//!
//! The generated code stays small: the map walking, duplicate-key checks and error wording live
//! in the runtime's `__private` module, and this file only emits what differs per enum (tags,
//! property names and types). Every path is absolute or goes through the runtime path, so the
//! code works under `#![no_implicit_prelude]` and with a renamed runtime.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::DeriveInput;

use crate::ast::{Input, Style, Variant};
use crate::ctxt::Ctxt;
use crate::params::{Parameters, allowed_lints};
use crate::{fallback, valid};

/// The derive's output: the generated impls, or every error with a fallback impl beside them.
pub(crate) fn derive(original: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let input = Input::from_ast(&mut cx, original);
    if let Some(input) = &input {
        valid::check(&mut cx, input);
    }
    match (cx.check(), input) {
        (Ok(()), Some(input)) => expand(&input),
        (Err(errors), _) => fallback::expand(original, errors),
        // `from_ast` only returns `None` after recording an error, which `check` returned above.
        (Ok(()), None) => TokenStream::new(),
    }
}

fn expand(input: &Input<'_>) -> TokenStream {
    let params = Parameters::new(&input.original.ident, &input.attrs.crate_path);
    let Parameters {
        ident,
        krate,
        private,
        serde,
    } = &params;
    let allowed = allowed_lints();

    let tags: Vec<&str> = input.variants.iter().map(|v| v.tag.as_str()).collect();
    let tag_arms = input.variants.iter().map(|variant| {
        let pattern = pattern_ignoring_fields(ident, variant);
        let tag = &variant.tag;
        quote!(#pattern => #tag,)
    });
    let serialize_arms = input.variants.iter().map(|variant| serialize_arm(&params, variant));
    let deserialize_arms = input.variants.iter().map(|variant| deserialize_arm(&params, variant));
    let variant_any = variant_any(&params, input);
    let schema = schema_impl(&params, input);
    let narrowing = input
        .variants
        .iter()
        .map(|variant| narrowing_impl(&params, input, variant));
    let accessors = input.variants.iter().map(|variant| accessors(&params, input, variant));

    quote! {
        #[doc(hidden)]
        #allowed
        const _: () = {
            #[automatically_derived]
            impl #krate::SessionTypes for #ident {
                const TYPES: &'static [&'static str] = &[#(#tags),*];

                fn session_type(&self) -> &'static str {
                    match self {
                        #(#tag_arms)*
                    }
                }

                fn serialize_properties<__S>(
                    &self,
                    __serializer: __S,
                ) -> ::core::result::Result<__S::Ok, __S::Error>
                where
                    __S: #serde::Serializer,
                {
                    match self {
                        #(#serialize_arms)*
                    }
                }

                fn deserialize_properties<'de, __D>(
                    __session_type: &str,
                    __deserializer: __D,
                ) -> ::core::result::Result<Self, __D::Error>
                where
                    __D: #serde::Deserializer<'de>,
                {
                    match __session_type {
                        #(#deserialize_arms)*
                        _ => ::core::result::Result::Err(#private::de::unknown_type::<__D::Error>(
                            __session_type,
                            <Self as #krate::SessionTypes>::TYPES,
                        )),
                    }
                }

                #variant_any
            }

            #[automatically_derived]
            impl #serde::Serialize for #ident {
                fn serialize<__S>(&self, __serializer: __S) -> ::core::result::Result<__S::Ok, __S::Error>
                where
                    __S: #serde::Serializer,
                {
                    #private::serialize_session(self, __serializer)
                }
            }

            #[automatically_derived]
            impl<'de> #serde::Deserialize<'de> for #ident {
                fn deserialize<__D>(__deserializer: __D) -> ::core::result::Result<Self, __D::Error>
                where
                    __D: #serde::Deserializer<'de>,
                {
                    #private::deserialize_session(__deserializer)
                }
            }

            #schema

            #(#narrowing)*

            #[automatically_derived]
            #[allow(dead_code, reason = "generated accessors; an application uses the ones it needs")]
            impl #ident {
                #(#accessors)*
            }
        };
    }
}

/// The catch-all arm a match needs when the enum has other variants (and must not have otherwise,
/// or the generated code would trip `unreachable_patterns`).
fn other_variants(input: &Input<'_>, arm: TokenStream) -> TokenStream {
    if input.variants.len() > 1 {
        arm
    } else {
        TokenStream::new()
    }
}

fn pattern_ignoring_fields(ident: &syn::Ident, variant: &Variant<'_>) -> TokenStream {
    let variant_ident = variant.ident;
    match variant.style {
        Style::Struct(_) => quote!(#ident::#variant_ident { .. }),
        Style::Newtype(_) => quote!(#ident::#variant_ident(..)),
        Style::Unit => quote!(#ident::#variant_ident),
    }
}

fn serialize_arm(params: &Parameters<'_>, variant: &Variant<'_>) -> TokenStream {
    let Parameters { ident, serde, .. } = params;
    let variant_ident = variant.ident;
    let tag = &variant.tag;
    match &variant.style {
        Style::Struct(fields) => {
            let bindings: Vec<_> = (0..fields.len()).map(|i| format_ident!("__field{}", i)).collect();
            let field_idents = fields.iter().map(|field| field.ident);
            let names = fields.iter().map(|field| &field.name);
            let len = fields.len();
            quote! {
                #ident::#variant_ident { #(#field_idents: #bindings),* } => {
                    let mut __state = #serde::Serializer::serialize_struct(__serializer, #tag, #len)?;
                    #(#serde::ser::SerializeStruct::serialize_field(&mut __state, #names, #bindings)?;)*
                    #serde::ser::SerializeStruct::end(__state)
                }
            }
        }
        Style::Newtype(_) => quote! {
            #ident::#variant_ident(__value) => #serde::Serialize::serialize(__value, __serializer),
        },
        Style::Unit => quote! {
            #ident::#variant_ident => {
                let __state = #serde::Serializer::serialize_struct(__serializer, #tag, 0)?;
                #serde::ser::SerializeStruct::end(__state)
            }
        },
    }
}

fn deserialize_arm(params: &Parameters<'_>, variant: &Variant<'_>) -> TokenStream {
    let Parameters {
        ident, private, serde, ..
    } = params;
    let variant_ident = variant.ident;
    let tag = &variant.tag;
    match &variant.style {
        Style::Struct(fields) => {
            let slots: Vec<_> = (0..fields.len()).map(|i| format_ident!("__field{}", i)).collect();
            let types = fields.iter().map(|field| field.ty);
            let names: Vec<_> = fields.iter().map(|field| &field.name).collect();
            let field_idents = fields.iter().map(|field| field.ident);
            let expecting = format!("the properties of session type `{tag}`");
            quote! {
                #tag => {
                    struct __Visitor;

                    impl<'de> #serde::de::Visitor<'de> for __Visitor {
                        type Value = #ident;

                        fn expecting(&self, __formatter: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                            ::core::fmt::Formatter::write_str(__formatter, #expecting)
                        }

                        fn visit_map<__A>(self, mut __map: __A) -> ::core::result::Result<#ident, __A::Error>
                        where
                            __A: #serde::de::MapAccess<'de>,
                        {
                            #(let mut #slots: ::core::option::Option<#types> = ::core::option::Option::None;)*
                            while let ::core::option::Option::Some(__key) =
                                #serde::de::MapAccess::next_key::<#private::de::Key<'de>>(&mut __map)?
                            {
                                match #private::de::Key::as_str(&__key) {
                                    #(#names => #private::de::property(&mut __map, &mut #slots, #tag, #names)?,)*
                                    _ => #private::de::skip_property(&mut __map)?,
                                }
                            }
                            ::core::result::Result::Ok(#ident::#variant_ident {
                                #(#field_idents: #private::de::take_property(#slots, #tag, #names)?,)*
                            })
                        }
                    }

                    #serde::Deserializer::deserialize_map(__deserializer, __Visitor)
                }
            }
        }
        Style::Newtype(ty) => quote! {
            #tag => ::core::result::Result::map(
                #private::de::newtype::<#ty, __D>(#tag, __deserializer),
                #ident::#variant_ident,
            ),
        },
        Style::Unit => quote! {
            #tag => ::core::result::Result::map(
                #private::de::unit::<__D>(#tag, __deserializer),
                |()| #ident::#variant_ident,
            ),
        },
    }
}

/// `variant_any` for enums with newtype variants; the trait's default (`None`) serves the rest.
fn variant_any(params: &Parameters<'_>, input: &Input<'_>) -> TokenStream {
    let ident = params.ident;
    let newtypes: Vec<_> = input
        .variants
        .iter()
        .filter(|variant| matches!(variant.style, Style::Newtype(_)))
        .map(|variant| variant.ident)
        .collect();
    if newtypes.is_empty() {
        return TokenStream::new();
    }
    let rest = if newtypes.len() < input.variants.len() {
        quote!(_ => ::core::option::Option::None,)
    } else {
        TokenStream::new()
    };
    quote! {
        fn variant_any(&self) -> ::core::option::Option<&(dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync)> {
            match self {
                #(#ident::#newtypes(__value) => ::core::option::Option::Some(__value),)*
                #rest
            }
        }
    }
}

/// `SessionVariant<T>` for each newtype variant: narrowing a session to one type by type.
fn narrowing_impl(params: &Parameters<'_>, input: &Input<'_>, variant: &Variant<'_>) -> TokenStream {
    let Style::Newtype(ty) = variant.style else {
        return TokenStream::new();
    };
    let Parameters { ident, krate, .. } = params;
    let variant_ident = variant.ident;
    let tag = &variant.tag;
    let others = other_variants(input, quote!(__other => ::core::result::Result::Err(__other),));
    let other_ref = other_variants(input, quote!(_ => ::core::option::Option::None,));
    quote! {
        #[automatically_derived]
        impl #krate::SessionVariant<#ty> for #ident {
            const TYPE: &'static str = #tag;

            fn as_variant(&self) -> ::core::option::Option<&#ty> {
                match self {
                    #ident::#variant_ident(__value) => ::core::option::Option::Some(__value),
                    #other_ref
                }
            }

            fn into_variant(self) -> ::core::result::Result<#ty, Self> {
                match self {
                    #ident::#variant_ident(__value) => ::core::result::Result::Ok(__value),
                    #others
                }
            }

            fn from_variant(__value: #ty) -> Self {
                #ident::#variant_ident(__value)
            }
        }
    }
}

/// `is_<variant>()` for every variant, and `as_<variant>()` / `into_<variant>()` for newtypes.
fn accessors(params: &Parameters<'_>, input: &Input<'_>, variant: &Variant<'_>) -> TokenStream {
    let Parameters { ident, krate, .. } = params;
    let vis = &input.original.vis;
    let stem = variant.method_stem();
    let span = variant.ident.span();
    let is_method = format_ident!("is_{}", stem, span = span);
    let pattern = pattern_ignoring_fields(ident, variant);
    let variant_ident = variant.ident;
    let is_doc = format!(
        "Whether this is a `{}` session (variant [`{ident}::{variant_ident}`]).",
        variant.tag
    );
    let wildcard = other_variants(input, quote!(_ => false,));
    let is_fn = quote_spanned! {span=>
        #[doc = #is_doc]
        #[must_use]
        #vis fn #is_method(&self) -> bool {
            match self {
                #pattern => true,
                #wildcard
            }
        }
    };
    let Style::Newtype(ty) = variant.style else {
        return is_fn;
    };
    let as_method = format_ident!("as_{}", stem, span = span);
    let into_method = format_ident!("into_{}", stem, span = span);
    let as_doc = format!(
        "The properties of a `{}` session, or `None` for a session of another type.",
        variant.tag
    );
    let into_doc = format!(
        "Takes the properties of a `{}` session, or gives the session back if it has another type.",
        variant.tag
    );
    quote_spanned! {span=>
        #is_fn

        #[doc = #as_doc]
        #[must_use]
        #vis fn #as_method(&self) -> ::core::option::Option<&#ty> {
            <Self as #krate::SessionVariant<#ty>>::as_variant(self)
        }

        #[doc = #into_doc]
        #vis fn #into_method(self) -> ::core::result::Result<#ty, Self> {
            <Self as #krate::SessionVariant<#ty>>::into_variant(self)
        }
    }
}

#[cfg(feature = "schema")]
fn schema_impl(params: &Parameters<'_>, input: &Input<'_>) -> TokenStream {
    let Parameters { ident, private, .. } = params;
    let schemars = quote!(#private::schemars);
    let name = ident.to_string();
    let branches = input.variants.iter().map(|variant| {
        let tag = &variant.tag;
        let description = match &variant.docs {
            Some(docs) => quote!(::core::option::Option::Some(#docs)),
            None => quote!(::core::option::Option::None),
        };
        let properties = match &variant.style {
            Style::Struct(fields) if fields.is_empty() => quote!(#private::schema::empty_properties()),
            Style::Struct(fields) => {
                let entries = fields.iter().map(|field| {
                    let name = &field.name;
                    let ty = field.ty;
                    let required = !field.is_option;
                    quote!((#name, #schemars::SchemaGenerator::subschema_for::<#ty>(__generator), #required))
                });
                quote!(#private::schema::struct_properties([#(#entries),*]))
            }
            Style::Newtype(ty) => quote!(#schemars::SchemaGenerator::subschema_for::<#ty>(__generator)),
            Style::Unit => quote!(#private::schema::empty_properties()),
        };
        quote!(#private::schema::Branch {
            session_type: #tag,
            description: #description,
            properties: #properties,
        })
    });
    quote! {
        #[automatically_derived]
        impl #schemars::JsonSchema for #ident {
            fn schema_name() -> #private::Cow<'static, str> {
                #private::Cow::Borrowed(#name)
            }

            fn schema_id() -> #private::Cow<'static, str> {
                #private::Cow::Borrowed(::core::concat!(::core::module_path!(), "::", #name))
            }

            fn json_schema(__generator: &mut #schemars::SchemaGenerator) -> #schemars::Schema {
                #private::schema::tagged_union([#(#branches),*])
            }
        }
    }
}

#[cfg(not(feature = "schema"))]
fn schema_impl(_params: &Parameters<'_>, _input: &Input<'_>) -> TokenStream {
    TokenStream::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With `crate = "..."`, the generated code reaches the runtime only through that path, so a
    /// renamed dependency works even where no `auth_runtime` is in scope.
    #[test]
    fn renamed_runtime_is_the_only_runtime_path() {
        let input: DeriveInput = syn::parse_quote! {
            #[session(crate = "my_auth")]
            enum Session {
                User { id: String },
                Api(Client),
                Guest,
            }
        };
        let output = derive(&input).to_string();
        assert!(output.contains("my_auth"));
        assert!(!output.contains("auth_runtime"), "{output}");
    }
}
