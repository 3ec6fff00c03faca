//! Picking a token's key from a key set, and why a lookup can fail: shared by the fixed and the
//! remote key sources.

use crate::token::keys::VerificationKey;

/// Why no key was found for a token.
#[derive(Debug)]
pub(crate) enum LookupError {
    /// No key has the token's `kid` (after a refetch, for a remote set that allows one).
    Unknown,
    /// The keys could not be had: the issuer is down past the staleness bound, or its answer was
    /// not a usable key set. Says nothing about the token.
    #[cfg_attr(
        not(feature = "jwks"),
        allow(dead_code, reason = "only a remote set can be unavailable")
    )]
    Unavailable(String),
}

/// The key `kid` names; without a `kid`, the only key, if there is exactly one.
pub(crate) fn select(keys: &[VerificationKey], kid: Option<&str>) -> Option<usize> {
    match kid {
        Some(kid) => keys.iter().position(|key| key.kid() == kid),
        None if keys.len() == 1 => Some(0),
        None => None,
    }
}
