//! OpenAuth's stored password hashes (`@openauthjs/openauth`'s `PasswordProvider`): its default
//! `ScryptHasher` (`{"hash", "salt", "N", "r", "p"}`, standard base64, a 32-byte key) and its
//! `PBKDF2Hasher` (`{"hash", "salt", "iterations"}`, base64url, HMAC-SHA-256, 32 bytes). The
//! parameters come from the stored record, so they are bounded: a record that asks for more work
//! than OpenAuth ever does is refused, not computed.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The largest scrypt cost accepted: `N` up to 2^20 (OpenAuth's default is 2^14), `r` and `p`
/// up to 16 (its defaults are 8 and 1).
const MAX_SCRYPT_LOG_N: u32 = 20;
const MAX_SCRYPT_R_P: u32 = 16;
/// The most PBKDF2 iterations accepted (OpenAuth's default is 600 000).
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Scrypt {
    hash: String,
    salt: String,
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Pbkdf2 {
    hash: String,
    salt: String,
    iterations: u32,
}

/// Whether `password` matches the OpenAuth record `stored` (JSON); `false` for anything else.
pub(super) fn verify(password: &[u8], stored: &str) -> bool {
    if let Ok(record) = serde_json::from_str::<Scrypt>(stored) {
        return scrypt_matches(password, &record).unwrap_or(false);
    }
    if let Ok(record) = serde_json::from_str::<Pbkdf2>(stored) {
        return pbkdf2_matches(password, &record).unwrap_or(false);
    }
    false
}

fn scrypt_matches(password: &[u8], record: &Scrypt) -> Option<bool> {
    if !record.n.is_power_of_two() || record.n < 2 {
        return None;
    }
    let log_n = record.n.trailing_zeros();
    if log_n > MAX_SCRYPT_LOG_N || record.r > MAX_SCRYPT_R_P || record.p > MAX_SCRYPT_R_P {
        return None;
    }
    let salt = STANDARD.decode(&record.salt).ok()?;
    let expected = STANDARD.decode(&record.hash).ok()?;
    if expected.len() != 32 {
        return None;
    }
    let params = scrypt::Params::new(u8::try_from(log_n).ok()?, record.r, record.p, 32).ok()?;
    let mut derived = [0u8; 32];
    scrypt::scrypt(password, &salt, &params, &mut derived).ok()?;
    Some(bool::from(derived.ct_eq(expected.as_slice())))
}

fn pbkdf2_matches(password: &[u8], record: &Pbkdf2) -> Option<bool> {
    if record.iterations == 0 || record.iterations > MAX_PBKDF2_ITERATIONS {
        return None;
    }
    let salt = URL_SAFE_NO_PAD.decode(&record.salt).ok()?;
    let expected = URL_SAFE_NO_PAD.decode(&record.hash).ok()?;
    if expected.len() != 32 {
        return None;
    }
    let mut derived = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, &salt, record.iterations, &mut derived);
    Some(bool::from(derived.ct_eq(expected.as_slice())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_that_ask_for_too_much_work_are_refused() {
        let huge = r#"{"hash":"AAAA","salt":"AAAA","N":4294967296,"r":8,"p":1}"#;
        assert!(!verify(b"x", huge));
        let not_power = r#"{"hash":"AAAA","salt":"AAAA","N":1000,"r":8,"p":1}"#;
        assert!(!verify(b"x", not_power));
        let iterations = r#"{"hash":"AAAA","salt":"AAAA","iterations":4000000000}"#;
        assert!(!verify(b"x", iterations));
        assert!(!verify(b"x", "{}"));
    }
}
