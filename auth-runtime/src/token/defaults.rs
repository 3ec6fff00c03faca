//! The defaults of issuing and verification, in one place for every module that reasons about a
//! token's lifetime (the facade, revocation records).

use std::time::Duration;

/// The default token lifetime: 30 days, SST's default.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// The default clock leeway for `exp`, `nbf` and `iat`: one minute.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// The longest clock leeway a configuration may set: five minutes. Records that must outlive
/// any token (revocations) are kept this long past the token's `exp`.
pub const MAX_LEEWAY: Duration = Duration::from_secs(5 * 60);
/// The default `typ` header of session tokens: explicit, so no other JWT signed with the same
/// key (an ID token, a magic link) is ever accepted as a session (RFC 8725, section 3.11).
pub const DEFAULT_TOKEN_TYPE: &str = "session+jwt";
/// The default maximum token length: 8 KiB, above any cookie a browser keeps.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
