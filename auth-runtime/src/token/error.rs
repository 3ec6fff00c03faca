//! Why a token was refused: one variant per check, none revealing a key.

use super::algorithm::Algorithm;
use super::wire::quoted_list;

/// Why a token was refused. Each check of the verification has its own variant, so callers can
/// log and count them apart; none of them reveals a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Longer than the configured maximum; refused before any parsing.
    #[error("token is {len} bytes, over the {max}-byte limit")]
    TooLarge {
        /// The token's length.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// Not three base64url parts, bad base64, or a header or payload that is not the JSON expected.
    #[error("malformed token: {0}")]
    Malformed(Malformed),
    /// The header has a `crit` parameter; no extension is understood, so every one is refused.
    #[error("token header lists critical extensions (`crit`), which are not supported")]
    CriticalHeader,
    /// No configured key has the token's `kid`.
    #[error("no verification key {}", unknown_kid(kid.as_deref()))]
    UnknownKey {
        /// The `kid` the token named.
        kid: Option<String>,
    },
    /// The header's `alg` is not the one algorithm of the selected key.
    #[error("token says alg `{found}`, but its key is for {expected}")]
    AlgorithmMismatch {
        /// The token's `alg` (possibly `none`).
        found: String,
        /// The key's algorithm.
        expected: Algorithm,
    },
    /// The header's `alg` is not one the verifier accepts from this issuer.
    #[error("token algorithm `{found}` is not accepted from this issuer")]
    AlgorithmNotAllowed {
        /// The token's `alg`.
        found: String,
    },
    /// The signature does not verify with the selected key.
    #[error("bad signature")]
    BadSignature,
    /// The header's `typ` is missing or another kind of token's.
    #[error("token type is {}, expected `{expected}`", match found { Some(found) => format!("`{found}`"), None => "missing".to_owned() })]
    WrongTokenType {
        /// The token's `typ`.
        found: Option<String>,
        /// The configured session token type.
        expected: String,
    },
    /// A required claim is absent.
    #[error("token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type or an impossible value (a string or float `exp`, say).
    #[error("invalid `{claim}` claim: {reason}")]
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// `exp` (plus the leeway) is in the past.
    #[error("token expired at {expires_at} (now {now})")]
    Expired {
        /// The token's `exp`.
        expires_at: u64,
        /// The time of the check.
        now: u64,
    },
    /// `iat` (minus the leeway) is in the future: no token of ours is issued ahead of the clock.
    #[error("token says it was issued at {issued_at}, in the future (now {now})")]
    IssuedInTheFuture {
        /// The token's `iat`.
        issued_at: u64,
        /// The time of the check.
        now: u64,
    },
    /// The token claims to live longer than any token these sessions issue (`exp - iat`, or
    /// without `iat` `exp - now`, beyond the configured lifetime).
    #[error("token lives {lifetime} s, longer than the {max} s these sessions issue")]
    LifetimeTooLong {
        /// The lifetime the token claims, in seconds.
        lifetime: u64,
        /// The configured lifetime, in seconds.
        max: u64,
    },
    /// `nbf` (minus the leeway) is in the future.
    #[error("token is not valid before {not_before} (now {now})")]
    NotYetValid {
        /// The token's `nbf`.
        not_before: u64,
        /// The time of the check.
        now: u64,
    },
    /// `iss` is not the configured issuer.
    #[error("token issuer `{found}` is not the expected issuer")]
    WrongIssuer {
        /// The token's `iss`.
        found: String,
    },
    /// `aud` is not the configured audience.
    #[error("token audience `{found}` is not the expected audience")]
    WrongAudience {
        /// The token's `aud`.
        found: String,
    },
    /// A claim the verifier requires has another value (OpenAuth's `mode` is `refresh`, not
    /// `access`, say) or is missing.
    #[error("claim `{claim}` is {}, expected {expected}", found.as_deref().unwrap_or("missing"))]
    WrongClaim {
        /// The claim's name.
        claim: String,
        /// Its value in the token, as JSON; `None` when absent.
        found: Option<String>,
        /// The value required, as JSON.
        expected: String,
    },
    /// The verifier's mapping from claims to the session refused them.
    #[error("the token's claims do not map to a session: {0}")]
    Unmapped(String),
    /// The session `type` is not one of the enum's tags.
    #[error("unknown session type `{found}`, expected one of {}", quoted_list(expected))]
    UnknownSessionType {
        /// The token's `type`.
        found: String,
        /// The tags the enum accepts.
        expected: &'static [&'static str],
    },
    /// The system clock reads before 1970, so `exp` cannot be checked; nothing is accepted.
    #[error("system clock is before the Unix epoch; tokens cannot be checked")]
    Clock,
    /// The `properties` do not decode as the session type says (a missing or mistyped property).
    #[error("invalid session properties: {0}")]
    InvalidProperties(#[source] serde_json::Error),
}

/// The old name of [`TokenError`]: it read two letters away from
/// [`VerifierError`](crate::verifier::VerifierError), which means something else.
#[deprecated(since = "0.3.0", note = "renamed `TokenError`")]
pub type VerifyError = TokenError;

impl TokenError {
    /// The kind of refusal, as events and logs name it (`expired`, `bad_signature`,
    /// `unknown_key`, ...): stable, and never the token or any part of it.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenError::TooLarge { .. } => "too_large",
            TokenError::Malformed(_) => "malformed",
            TokenError::CriticalHeader => "critical_header",
            TokenError::UnknownKey { .. } => "unknown_key",
            TokenError::AlgorithmMismatch { .. } => "algorithm_mismatch",
            TokenError::AlgorithmNotAllowed { .. } => "algorithm_not_allowed",
            TokenError::BadSignature => "bad_signature",
            TokenError::WrongTokenType { .. } => "wrong_token_type",
            TokenError::MissingClaim(_) => "missing_claim",
            TokenError::InvalidClaim { .. } => "invalid_claim",
            TokenError::Expired { .. } => "expired",
            TokenError::IssuedInTheFuture { .. } => "issued_in_the_future",
            TokenError::LifetimeTooLong { .. } => "lifetime_too_long",
            TokenError::NotYetValid { .. } => "not_yet_valid",
            TokenError::WrongIssuer { .. } => "wrong_issuer",
            TokenError::WrongAudience { .. } => "wrong_audience",
            TokenError::WrongClaim { .. } => "wrong_claim",
            TokenError::Unmapped(_) => "unmapped",
            TokenError::UnknownSessionType { .. } => "unknown_session_type",
            TokenError::Clock => "clock",
            TokenError::InvalidProperties(_) => "invalid_properties",
        }
    }
}

/// What was malformed about a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// Not `header.payload.signature`.
    #[error("expected three dot-separated parts")]
    Parts,
    /// A part is not unpadded, canonical base64url.
    #[error("{part} is not valid base64url")]
    Base64 {
        /// `header`, `payload` or `signature`.
        part: &'static str,
    },
    /// The header is not a JSON object with a string `alg` (and string `typ`, `kid` if present).
    #[error("header: {0}")]
    Header(#[source] serde_json::Error),
    /// The payload is not a JSON object, or repeats a claim.
    #[error("payload: {0}")]
    Payload(#[source] serde_json::Error),
}

/// How an unknown `kid` is shown in messages and logs: escaped (a `kid` is attacker text) and cut
/// to 64 characters (it may be kilobytes long).
fn unknown_kid(kid: Option<&str>) -> String {
    match kid {
        None => "matches a token without kid".to_owned(),
        Some(kid) => format!("with kid \"{}\"", crate::telemetry::shown(kid)),
    }
}
