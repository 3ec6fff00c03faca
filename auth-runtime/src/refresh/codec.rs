//! Refresh tokens as bytes: made at random, recognised by shape, named in the store by their
//! hash, and a successor sealed under the token it replaces.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::sessions::IssueError;

/// Fixed context of the key that seals a successor under the token it replaces.
const SEAL_CONTEXT: &[u8] = b"auth-runtime refresh token successor v1";

/// `N` random bytes, base64url.
pub(super) fn random_token<const N: usize>() -> Result<String, IssueError> {
    crate::random::random_id::<N>().map_err(IssueError::Random)
}

/// A refresh token's 32 bytes, if it is one (43 base64url characters).
pub(super) fn decode_token(token: &str) -> Option<[u8; 32]> {
    if token.len() != 43 {
        return None;
    }
    URL_SAFE_NO_PAD.decode(token).ok()?.try_into().ok()
}

/// The store's name for a refresh token: its SHA-256, base64url.
pub(crate) fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// The pad that seals a successor under `token`: SHA-256 of a fixed context and the token's 256
/// secret bits. Each token seals exactly one successor, so the pad is used once.
fn pad(token: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(SEAL_CONTEXT);
    hasher.update(token);
    hasher.finalize().into()
}

pub(super) fn seal(token: &[u8; 32], successor: &str) -> Option<String> {
    Some(with_pad(token, &decode_token(successor)?))
}

pub(super) fn open(token: &[u8; 32], sealed: &str) -> Option<String> {
    let sealed: [u8; 32] = URL_SAFE_NO_PAD.decode(sealed).ok()?.try_into().ok()?;
    Some(with_pad(token, &sealed))
}

/// `bytes` XOR `token`'s pad, base64url: sealing and opening are the same step.
fn with_pad(token: &[u8; 32], bytes: &[u8; 32]) -> String {
    let mixed: Vec<u8> = bytes.iter().zip(pad(token)).map(|(byte, key)| byte ^ key).collect();
    URL_SAFE_NO_PAD.encode(mixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_successor_opens_only_under_the_token_it_replaced() {
        let token = [7u8; 32];
        let successor = URL_SAFE_NO_PAD.encode([9u8; 32]);
        let sealed = seal(&token, &successor).expect("a refresh token seals");
        assert_ne!(sealed, successor);
        assert_eq!(open(&token, &sealed).as_deref(), Some(successor.as_str()));
        assert_ne!(open(&[8u8; 32], &sealed).as_deref(), Some(successor.as_str()));
    }

    #[test]
    fn only_43_base64url_characters_are_a_refresh_token() {
        assert!(decode_token(&URL_SAFE_NO_PAD.encode([1u8; 32])).is_some());
        assert!(decode_token("short").is_none());
        assert!(decode_token(&"*".repeat(43)).is_none());
        assert!(decode_token(&URL_SAFE_NO_PAD.encode([1u8; 33])).is_none());
    }
}
