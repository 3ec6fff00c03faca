//! What every generator needs: the enum's name and the runtime's paths, and the lints generated
//! code allows. Both the expansion and the fallback emitted beside errors build on it.

use proc_macro2::TokenStream;
use quote::quote;

/// What every generator needs, computed once (serde_derive's `Parameters` does the same).
pub(crate) struct Parameters<'a> {
    /// The enum's name.
    pub(crate) ident: &'a syn::Ident,
    /// The runtime: `::auth_runtime`, or what `#[session(crate = "...")]` says.
    pub(crate) krate: &'a syn::Path,
    /// `<runtime>::__private`: the helpers generated code calls.
    pub(crate) private: TokenStream,
    /// `<runtime>::__private::serde`.
    pub(crate) serde: TokenStream,
}

impl<'a> Parameters<'a> {
    pub(crate) fn new(ident: &'a syn::Ident, krate: &'a syn::Path) -> Self {
        let private = quote!(#krate::__private);
        let serde = quote!(#private::serde);
        Parameters {
            ident,
            krate,
            private,
            serde,
        }
    }
}

/// The lints generated code may trip through no fault of the user's, allowed by name (serde's
/// `dummy.rs` does the same): never a whole group, so a lint the user turned on still sees their
/// own code. `deprecated`: a deprecated variant warns where the user names it, not here.
pub(crate) fn allowed_lints() -> TokenStream {
    quote! {
        #[allow(
            deprecated,
            non_upper_case_globals,
            non_snake_case,
            unused_attributes,
            unused_qualifications,
            clippy::absolute_paths,
            clippy::match_like_matches_macro,
            clippy::missing_const_for_fn,
            clippy::needless_lifetimes,
            clippy::option_if_let_else,
            clippy::used_underscore_binding,
            clippy::used_underscore_items,
        )]
    }
}
