//! Randomness from the operating system: unguessable ids (token ids, flow ids) and the draws
//! one-time codes are made from. No user-space generator to seed or to fork.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `N` random bytes, base64url: token ids (16 bytes) and flow ids (32 bytes).
pub(crate) fn random_id<const N: usize>() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether `value` has the shape of an id [`random_id`] makes: base64url, its length in
/// `lengths` (43 for 32 bytes).
#[cfg_attr(
    not(feature = "providers"),
    allow(dead_code, reason = "ids in cookies are read by the sign-in flows")
)]
pub(crate) fn is_id(value: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A uniformly random `u64`.
#[cfg_attr(
    not(feature = "providers"),
    allow(dead_code, reason = "only one-time codes draw numbers")
)]
pub(crate) fn random_u64() -> Result<u64, getrandom::Error> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}
