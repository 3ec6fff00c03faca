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

/// Name of the compiled crypto backend (`rust-crypto` or `aws-lc-rs`), for logs and benchmark
/// tables.
pub const CRYPTO_BACKEND: &str = if cfg!(feature = "aws-lc-rs") {
    "aws-lc-rs"
} else {
    "rust-crypto"
};

/// The former name of [`CRYPTO_BACKEND`].
#[deprecated(
    since = "0.2.0",
    note = "renamed to `CRYPTO_BACKEND`: \"backend\" elsewhere means a session backend"
)]
pub const BACKEND: &str = CRYPTO_BACKEND;

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

/// A verification key made ready once, when it is built, instead of on every token: the HMAC key
/// schedule run, the Ed25519 point decompressed, the P-256 point decoded and checked.
///
/// The crates and calls are the ones jsonwebtoken's own verifiers use for the same backend (its
/// verifiers are rebuilt per call and are not `Send`, so they cannot be kept); RS256, where the
/// key set-up is small beside the signature check, still goes through jsonwebtoken per call.
#[derive(Clone)]
pub(crate) enum Prepared {
    /// HMAC-SHA256 with the key already absorbed; each check works on a copy.
    #[cfg(feature = "rust-crypto")]
    Hs256(hmac::Hmac<sha2::Sha256>),
    /// A decompressed Ed25519 public key.
    #[cfg(feature = "rust-crypto")]
    Ed25519(ed25519_dalek::VerifyingKey),
    /// A decoded P-256 public key.
    #[cfg(feature = "rust-crypto")]
    Es256(p256::ecdsa::VerifyingKey),
    /// An HMAC-SHA256 key.
    #[cfg(all(feature = "aws-lc-rs", not(feature = "rust-crypto")))]
    Hs256(aws_lc_rs::hmac::Key),
    /// A parsed Ed25519 or P-256 public key, bound to its algorithm.
    #[cfg(all(feature = "aws-lc-rs", not(feature = "rust-crypto")))]
    Public(aws_lc_rs::signature::ParsedPublicKey),
    /// Built per call by jsonwebtoken's verifier factory.
    Library,
}

impl Prepared {
    /// Prepares `key` for `algorithm`; `None` if the backend refuses the key material.
    pub(crate) fn new(algorithm: jsonwebtoken::Algorithm, key: &jsonwebtoken::DecodingKey) -> Option<Self> {
        use jsonwebtoken::Algorithm::{ES256, EdDSA, HS256};
        #[cfg(feature = "rust-crypto")]
        {
            use hmac::Mac;
            // RSA keys are modulus and exponent, not bytes: ask only for the others.
            let bytes = || key.try_get_as_bytes().ok();
            match algorithm {
                HS256 => hmac::Hmac::new_from_slice(bytes()?).ok().map(Prepared::Hs256),
                EdDSA => {
                    let point = <&[u8; 32]>::try_from(bytes()?).ok()?;
                    ed25519_dalek::VerifyingKey::from_bytes(point)
                        .ok()
                        .map(Prepared::Ed25519)
                }
                ES256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes()?)
                    .ok()
                    .map(Prepared::Es256),
                _ => Some(Prepared::Library),
            }
        }
        #[cfg(all(feature = "aws-lc-rs", not(feature = "rust-crypto")))]
        {
            use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey};
            let bytes = || key.try_get_as_bytes().ok();
            match algorithm {
                HS256 => Some(Prepared::Hs256(aws_lc_rs::hmac::Key::new(
                    aws_lc_rs::hmac::HMAC_SHA256,
                    bytes()?,
                ))),
                EdDSA => ParsedPublicKey::new(&ED25519, bytes()?).ok().map(Prepared::Public),
                ES256 => ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, bytes()?)
                    .ok()
                    .map(Prepared::Public),
                _ => Some(Prepared::Library),
            }
        }
    }

    /// Whether `signature` is valid over `message`; `false` for anything the backend refuses.
    pub(crate) fn verify(
        &self,
        algorithm: jsonwebtoken::Algorithm,
        key: &jsonwebtoken::DecodingKey,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        match self {
            #[cfg(feature = "rust-crypto")]
            Prepared::Hs256(mac) => {
                use hmac::Mac;
                let mut mac = mac.clone();
                mac.update(message);
                // Constant-time, and only a full 32-byte tag matches.
                mac.verify_slice(signature).is_ok()
            }
            #[cfg(feature = "rust-crypto")]
            Prepared::Ed25519(public) => {
                use ed25519_dalek::Verifier;
                ed25519_dalek::Signature::from_slice(signature)
                    .is_ok_and(|signature| public.verify(message, &signature).is_ok())
            }
            #[cfg(feature = "rust-crypto")]
            Prepared::Es256(public) => {
                use p256::ecdsa::signature::Verifier;
                p256::ecdsa::Signature::from_slice(signature)
                    .is_ok_and(|signature| public.verify(message, &signature).is_ok())
            }
            #[cfg(all(feature = "aws-lc-rs", not(feature = "rust-crypto")))]
            Prepared::Hs256(mac) => aws_lc_rs::hmac::verify(mac, message, signature).is_ok(),
            #[cfg(all(feature = "aws-lc-rs", not(feature = "rust-crypto")))]
            Prepared::Public(public) => public.verify_sig(message, signature).is_ok(),
            Prepared::Library => {
                let Ok(verifier) = (provider().verifier_factory)(&algorithm, key) else {
                    return false;
                };
                verifier.verify(message, &signature.to_vec()).is_ok()
            }
        }
    }
}
