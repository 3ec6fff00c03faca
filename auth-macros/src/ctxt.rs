//! Collects every error found in one derive so the user sees them all in one compile.

use std::fmt::Display;

use quote::ToTokens;

/// Error sink shared by the parsing and validation stages.
#[derive(Default)]
pub(crate) struct Ctxt {
    errors: Vec<syn::Error>,
}

impl Ctxt {
    /// Records an error pointing at the tokens of `spanned`.
    pub(crate) fn error_spanned_by(&mut self, spanned: impl ToTokens, message: impl Display) {
        self.errors.push(syn::Error::new_spanned(spanned, message));
    }

    /// Records an error produced by syn's own parsing.
    pub(crate) fn syn_error(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// Combines everything recorded so far into one error, or `Ok` when nothing was.
    pub(crate) fn check(self) -> syn::Result<()> {
        let mut errors = self.errors.into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for error in errors {
            combined.combine(error);
        }
        Err(combined)
    }
}
