//! What the derive emits when it rejects its input: the errors, and beside them a minimal
//! `SessionTypes`, `Serialize` and `Deserialize` impl (thiserror's `fallback.rs` does the same), so
//! one bad attribute is one error, not one more at every place that uses the enum as a session.
//! The bodies are never run: the crate does not compile while the errors stand.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::attr;
use crate::ctxt::Ctxt;
use crate::params::{Parameters, allowed_lints};

pub(crate) fn expand(original: &DeriveInput, errors: syn::Error) -> TokenStream {
    let errors = errors.into_compile_error();
    // A generic input is refused, and an impl for it would need bounds we cannot guess.
    if !original.generics.params.is_empty() || original.generics.where_clause.is_some() {
        return errors;
    }
    // The runtime path as far as the attributes say it; their errors are already in `errors`.
    let container = attr::Container::from_ast(&mut Ctxt::default(), &original.attrs);
    let params = Parameters::new(&original.ident, &container.crate_path);
    let Parameters {
        ident, krate, serde, ..
    } = &params;
    let allowed = allowed_lints();
    quote! {
        #errors

        #[doc(hidden)]
        #allowed
        const _: () = {
            #[automatically_derived]
            impl #krate::SessionTypes for #ident {
                const TYPES: &'static [&'static str] = &[];

                fn session_type(&self) -> &'static str {
                    ::core::unreachable!()
                }

                fn serialize_properties<__S>(&self, _: __S) -> ::core::result::Result<__S::Ok, __S::Error>
                where
                    __S: #serde::Serializer,
                {
                    ::core::unreachable!()
                }

                fn deserialize_properties<'de, __D>(_: &str, _: __D) -> ::core::result::Result<Self, __D::Error>
                where
                    __D: #serde::Deserializer<'de>,
                {
                    ::core::unreachable!()
                }
            }

            #[automatically_derived]
            impl #serde::Serialize for #ident {
                fn serialize<__S>(&self, _: __S) -> ::core::result::Result<__S::Ok, __S::Error>
                where
                    __S: #serde::Serializer,
                {
                    ::core::unreachable!()
                }
            }

            #[automatically_derived]
            impl<'de> #serde::Deserialize<'de> for #ident {
                fn deserialize<__D>(_: __D) -> ::core::result::Result<Self, __D::Error>
                where
                    __D: #serde::Deserializer<'de>,
                {
                    ::core::unreachable!()
                }
            }
        };
    }
}
