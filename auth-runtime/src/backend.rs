//! The one `jsonwebtoken` crypto backend this build signs and verifies with.
//!
//! jsonwebtoken picks its backend from its own cargo features and, with both on, falls back to a
//! provider that panics on first use. Our `rust-crypto` and `aws-lc-rs` features forward to those
//! and refuse to be combined; and since another crate in the graph could still turn the other
//! jsonwebtoken feature on directly, signing and verifying call our backend's factories
//! explicitly and the backend is installed as the process default before any key is built, so
//! jsonwebtoken's own helpers (JWK export) never hit the panicking fallback either.

#[cfg(all(feature = "rust-crypto", feature = "aws-lc-rs"))]
compile_error!(
    "auth-runtime: enable exactly one crypto backend, `rust-crypto` (default) or `aws-lc-rs`; \
     for aws-lc-rs use `default-features = false, features = [\"aws-lc-rs\", \"derive\", \"schema\"]`"
);

#[cfg(not(any(feature = "rust-crypto", feature = "aws-lc-rs")))]
compile_error!("auth-runtime: enable one crypto backend, `rust-crypto` (default) or `aws-lc-rs`");

use jsonwebtoken::crypto::CryptoProvider;

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
static PROVIDER: &CryptoProvider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;

#[cfg(all(feature = "aws-lc-rs", not(feature = "rust-crypto")))]
static PROVIDER: &CryptoProvider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;

/// Name of the compiled backend, for logs and benchmark tables.
pub const BACKEND: &str = if cfg!(feature = "aws-lc-rs") {
    "aws-lc-rs"
} else {
    "rust-crypto"
};

/// The compiled backend, installed as jsonwebtoken's process default on first use unless the
/// application installed one itself (then theirs stays: any installed provider is safe).
pub(crate) fn provider() -> &'static CryptoProvider {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // Err means some provider is already installed, which is all we need.
        let _ = PROVIDER.install_default();
    });
    PROVIDER
}
