//! Verifying a compact JWS whose payload is `{"type", "properties", ...registered claims}`.
//!
//! Strict and in this order: size, shape, header (`crit` refused; `jku`, `jwk`, `x5u`, `x5c`
//! never read), key by `kid`, `alg` equal to that key's one algorithm, signature, `typ`, then the
//! claims (integer `exp`/`nbf`/`iat` only, `exp` required, `iss` and `aud` exact strings) and last
//! the typed decode of the session. Every failure has its own [`VerifyError`] variant.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::claims::{Claims, Verified};
use super::keys::{Algorithm, VerificationKey};
use super::wire::de::Key;
use super::wire::{PropertiesSeed, quoted_list};
use crate::session_types::SessionTypes;

/// Why a token was refused. Each check of the verification has its own variant, so callers can
/// log and count them apart; none of them reveals a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
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

impl VerifyError {
    /// The kind of refusal, as events and logs name it (`expired`, `bad_signature`,
    /// `unknown_key`, ...): stable, and never the token or any part of it.
    pub fn kind(&self) -> &'static str {
        match self {
            VerifyError::TooLarge { .. } => "too_large",
            VerifyError::Malformed(_) => "malformed",
            VerifyError::CriticalHeader => "critical_header",
            VerifyError::UnknownKey { .. } => "unknown_key",
            VerifyError::AlgorithmMismatch { .. } => "algorithm_mismatch",
            VerifyError::AlgorithmNotAllowed { .. } => "algorithm_not_allowed",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::WrongTokenType { .. } => "wrong_token_type",
            VerifyError::MissingClaim(_) => "missing_claim",
            VerifyError::InvalidClaim { .. } => "invalid_claim",
            VerifyError::Expired { .. } => "expired",
            VerifyError::IssuedInTheFuture { .. } => "issued_in_the_future",
            VerifyError::LifetimeTooLong { .. } => "lifetime_too_long",
            VerifyError::NotYetValid { .. } => "not_yet_valid",
            VerifyError::WrongIssuer { .. } => "wrong_issuer",
            VerifyError::WrongAudience { .. } => "wrong_audience",
            VerifyError::WrongClaim { .. } => "wrong_claim",
            VerifyError::Unmapped(_) => "unmapped",
            VerifyError::UnknownSessionType { .. } => "unknown_session_type",
            VerifyError::Clock => "clock",
            VerifyError::InvalidProperties(_) => "invalid_properties",
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

/// What the verification of one token checks against.
pub(crate) struct Policy<'a> {
    pub(crate) keys: &'a [VerificationKey],
    /// For each key, in the same order, the encoded header we issue with it ([`issued_header`]).
    pub(crate) issued_headers: &'a [Option<String>],
    pub(crate) default_kid: &'a str,
    pub(crate) token_type: &'a str,
    pub(crate) issuer: &'a str,
    pub(crate) audience: &'a str,
    pub(crate) leeway: u64,
    /// The longest lifetime a token may claim: the configured lifetime, in seconds.
    pub(crate) max_lifetime: u64,
    pub(crate) max_len: usize,
    pub(crate) now: u64,
}
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    /// Whether the header names `crit` at all: `"crit": null` is refused like any other value.
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// `true` for any value, `null` included; a missing key is `false` through `#[serde(default)]`.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// A compact JWS split into its three base64url parts, after the size check.
pub(crate) struct Compact<'t> {
    pub(crate) header: &'t str,
    pub(crate) payload: &'t str,
    pub(crate) signature: &'t str,
    /// `header.payload`: the bytes the signature covers.
    pub(crate) signed: &'t [u8],
}

/// Splits `token` into its parts; refuses one over `max_len` bytes before looking at it.
pub(crate) fn split(token: &str, max_len: usize) -> Result<Compact<'_>, VerifyError> {
    if token.len() > max_len {
        return Err(VerifyError::TooLarge {
            len: token.len(),
            max: max_len,
        });
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed(Malformed::Parts));
    };
    let signed_len = header.len() + 1 + payload.len();
    Ok(Compact {
        header,
        payload,
        signature,
        signed: &token.as_bytes()[..signed_len],
    })
}

/// A decoded header: `alg`, `typ` and `kid`, with `crit` already refused.
pub(crate) struct TokenHeader {
    pub(crate) alg: String,
    pub(crate) typ: Option<String>,
    pub(crate) kid: Option<String>,
}

/// Decodes a header and refuses `crit`; `jku`, `jwk`, `x5u` and `x5c` are never read.
pub(crate) fn read_header(header_b64: &str) -> Result<TokenHeader, VerifyError> {
    let header_json = decode_part(header_b64, "header")?;
    let header: Header<'_> =
        serde_json::from_slice(&header_json).map_err(|error| VerifyError::Malformed(Malformed::Header(error)))?;
    if header.crit {
        return Err(VerifyError::CriticalHeader);
    }
    Ok(TokenHeader {
        alg: header.alg.into_owned(),
        typ: header.typ.map(Cow::into_owned),
        kid: header.kid.map(Cow::into_owned),
    })
}

/// Verifies `token` under `policy` and decodes its session.
pub(crate) fn verify<S: SessionTypes>(token: &str, policy: &Policy<'_>) -> Result<Verified<S>, VerifyError> {
    let parts = split(token, policy.max_len)?;
    // Our own tokens carry exactly the header we issue with their key: known good, nothing to parse.
    let issued = policy
        .keys
        .iter()
        .zip(policy.issued_headers)
        .find(|(_, issued)| issued.as_deref() == Some(parts.header));
    let (key, token_type) = match issued {
        Some((key, _)) => (key, Ok(())),
        None => check_header(parts.header, policy)?,
    };
    let signature = decode_part(parts.signature, "signature")?;
    if !key.verify_signature(parts.signed, &signature) {
        return Err(VerifyError::BadSignature);
    }
    // Decoded before the `typ` verdict, so a token with a valid signature over an unreadable
    // payload is malformed whatever its type.
    let payload = decode_part(parts.payload, "payload")?;
    token_type?;
    decode_payload(&payload, policy)
}

/// Any other header, decoded and checked: no `crit`, a known `kid` (or none, for the signing key),
/// `alg` equal to that key's algorithm. Returns the key, and the `typ` verdict, which is given only
/// once the signature holds (a forged token learns nothing from it).
fn check_header<'p>(
    header_b64: &str,
    policy: &Policy<'p>,
) -> Result<(&'p VerificationKey, Result<(), VerifyError>), VerifyError> {
    let header = read_header(header_b64)?;
    let kid = header.kid.as_deref().unwrap_or(policy.default_kid);
    let key = policy
        .keys
        .iter()
        .find(|key| key.kid == kid)
        .ok_or_else(|| VerifyError::UnknownKey {
            kid: header.kid.clone(),
        })?;
    if header.alg != key.algorithm.as_str() {
        return Err(VerifyError::AlgorithmMismatch {
            found: header.alg,
            expected: key.algorithm,
        });
    }
    let token_type = match &header.typ {
        Some(typ) if typ.eq_ignore_ascii_case(policy.token_type) => Ok(()),
        other => Err(VerifyError::WrongTokenType {
            found: other.clone(),
            expected: policy.token_type.to_owned(),
        }),
    };
    Ok((key, token_type))
}

pub(crate) fn decode_part(part: &str, name: &'static str) -> Result<Vec<u8>, VerifyError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| VerifyError::Malformed(Malformed::Base64 { part: name }))
}

/// The payload's claims as read, before they are checked.
#[derive(Default)]
pub(crate) struct RawClaims<'a> {
    pub(crate) session_type: Option<Cow<'a, str>>,
    pub(crate) properties: Option<&'a RawValue>,
    pub(crate) issuer: Option<Cow<'a, str>>,
    pub(crate) audience: Option<Audience<'a>>,
    pub(crate) subject: Option<Cow<'a, str>>,
    pub(crate) issued_at: Option<u64>,
    pub(crate) not_before: Option<u64>,
    pub(crate) expires_at: Option<u64>,
    pub(crate) token_id: Option<Cow<'a, str>>,
    pub(crate) nonce: Option<Cow<'a, str>>,
    pub(crate) session_id: Option<Cow<'a, str>>,
    /// The claims [`ClaimsReading::extra`] asked for, by their index there.
    pub(crate) extra: Vec<(usize, &'a RawValue)>,
}

/// `aud`: one string, or (where [`ClaimsReading::audience_list`] allows it) a list of them.
pub(crate) enum Audience<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}

impl Audience<'_> {
    /// Whether `audience` is the one, or one of the list.
    pub(crate) fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(one) => one == audience,
            Audience::Many(many) => many.iter().any(|one| one == audience),
        }
    }

    /// The audience as shown in an error.
    pub(crate) fn shown(&self) -> String {
        match self {
            Audience::One(one) => one.clone().into_owned(),
            Audience::Many(many) => many.join(", "),
        }
    }
}

/// What to read from a payload besides the registered claims.
#[derive(Default)]
pub(crate) struct ClaimsReading<'o> {
    /// Whether `aud` may be a list (RFC 7519 allows it; our own tokens never use one).
    pub(crate) audience_list: bool,
    /// Other claims to capture (OpenAuth's `mode`, say), raw.
    pub(crate) extra: &'o [String],
}

/// Reads a payload's claims: a JSON object, every claim we know at most once, times as integers
/// up to the year 9999.
pub(crate) fn read_claims<'a>(payload: &'a [u8], reading: &ClaimsReading<'_>) -> Result<RawClaims<'a>, VerifyError> {
    // The visitor reports claim errors here, typed; serde only carries a placeholder out.
    let claim_error = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(payload);
    let parsed = de::Deserializer::deserialize_map(
        &mut deserializer,
        ClaimsVisitor {
            claim_error: &claim_error,
            reading,
        },
    )
    .and_then(|claims| deserializer.end().map(|()| claims));
    parsed.map_err(|error| {
        claim_error
            .into_inner()
            .unwrap_or(VerifyError::Malformed(Malformed::Payload(error)))
    })
}

/// `iat` and `nbf` against the clock: neither may be later than now plus the leeway.
pub(crate) fn check_issued_and_not_before(raw: &RawClaims<'_>, now: u64, leeway: u64) -> Result<(), VerifyError> {
    if let Some(issued_at) = raw.issued_at
        && issued_at > now.saturating_add(leeway)
    {
        return Err(VerifyError::IssuedInTheFuture { issued_at, now });
    }
    if let Some(not_before) = raw.not_before
        && not_before > now.saturating_add(leeway)
    {
        return Err(VerifyError::NotYetValid { not_before, now });
    }
    Ok(())
}

/// The typed session of `{"type", "properties"}`: the same decode for every issuer.
pub(crate) fn decode_session<S: SessionTypes>(raw: &RawClaims<'_>) -> Result<S, VerifyError> {
    let session_type = raw.session_type.as_deref().ok_or(VerifyError::MissingClaim("type"))?;
    if !S::TYPES.contains(&session_type) {
        return Err(VerifyError::UnknownSessionType {
            found: session_type.to_owned(),
            expected: S::TYPES,
        });
    }
    let properties = raw.properties.map_or("{}", RawValue::get);
    let mut properties_deserializer = serde_json::Deserializer::from_str(properties);
    de::DeserializeSeed::deserialize(PropertiesSeed::<S>::new(session_type), &mut properties_deserializer)
        .map_err(VerifyError::InvalidProperties)
}

/// Latest time a token may name: the end of year 9999. Anything later is a forged or broken
/// number, and bounding it keeps all time arithmetic far from overflow.
const MAX_TIMESTAMP: u64 = 253_402_300_799;

fn decode_payload<S: SessionTypes>(payload: &[u8], policy: &Policy<'_>) -> Result<Verified<S>, VerifyError> {
    let raw = read_claims(payload, &ClaimsReading::default())?;
    let expires_at = raw.expires_at.ok_or(VerifyError::MissingClaim("exp"))?;
    if policy.now > expires_at.saturating_add(policy.leeway) {
        return Err(VerifyError::Expired {
            expires_at,
            now: policy.now,
        });
    }
    if let Some(issued_at) = raw.issued_at
        && issued_at > policy.now.saturating_add(policy.leeway)
    {
        return Err(VerifyError::IssuedInTheFuture {
            issued_at,
            now: policy.now,
        });
    }
    // A token that outlives what we issue was not issued by this configuration (or the key
    // signed something it should not have): refused, whatever its signature says.
    let lifetime = match raw.issued_at {
        Some(issued_at) => expires_at.saturating_sub(issued_at),
        None => expires_at.saturating_sub(policy.now.saturating_add(policy.leeway)),
    };
    if lifetime > policy.max_lifetime {
        return Err(VerifyError::LifetimeTooLong {
            lifetime,
            max: policy.max_lifetime,
        });
    }
    check_issued_and_not_before(&raw, policy.now, policy.leeway)?;
    let issuer = raw.issuer.as_deref().ok_or(VerifyError::MissingClaim("iss"))?;
    if issuer != policy.issuer {
        return Err(VerifyError::WrongIssuer {
            found: issuer.to_owned(),
        });
    }
    let audience = raw.audience.as_ref().ok_or(VerifyError::MissingClaim("aud"))?;
    if !audience.contains(policy.audience) {
        return Err(VerifyError::WrongAudience {
            found: audience.shown(),
        });
    }
    let session = decode_session(&raw)?;
    Ok(Verified {
        session,
        claims: Claims {
            issuer: issuer.to_owned(),
            audience: policy.audience.to_owned(),
            subject: raw.subject.map(Cow::into_owned),
            issued_at: raw.issued_at,
            not_before: raw.not_before,
            expires_at,
            token_id: raw.token_id.map(Cow::into_owned),
            nonce: raw.nonce.map(Cow::into_owned),
            session_id: raw.session_id.map(Cow::into_owned),
        },
    })
}

struct ClaimsVisitor<'e, 'o> {
    claim_error: &'e RefCell<Option<VerifyError>>,
    reading: &'e ClaimsReading<'o>,
}

impl ClaimsVisitor<'_, '_> {
    /// Records the typed error and hands serde a placeholder to unwind with.
    fn fail<E: de::Error>(&self, error: VerifyError) -> E {
        let message = error.to_string();
        *self.claim_error.borrow_mut() = Some(error);
        E::custom(message)
    }

    fn twice<E: de::Error>(&self, claim: &'static str) -> E {
        self.fail(VerifyError::InvalidClaim {
            claim,
            reason: "the claim appears twice".to_owned(),
        })
    }

    fn read<'de, A, T>(&self, map: &mut A, slot: &mut Option<T>, claim: &'static str) -> Result<(), A::Error>
    where
        A: MapAccess<'de>,
        T: Deserialize<'de>,
    {
        if slot.is_some() {
            return Err(self.twice(claim));
        }
        let value = map.next_value::<T>().map_err(|error| {
            self.fail(VerifyError::InvalidClaim {
                claim,
                reason: error.to_string(),
            })
        })?;
        *slot = Some(value);
        Ok(())
    }

    fn read_time<'de, A: MapAccess<'de>>(
        &self,
        map: &mut A,
        slot: &mut Option<u64>,
        claim: &'static str,
    ) -> Result<(), A::Error> {
        self.read(map, slot, claim)?;
        if slot.is_some_and(|time| time > MAX_TIMESTAMP) {
            return Err(self.fail(VerifyError::InvalidClaim {
                claim,
                reason: "the time is past the year 9999".to_owned(),
            }));
        }
        Ok(())
    }

    /// `aud` as one string, or as a list of strings where the reading allows it.
    fn read_audience<'de, A: MapAccess<'de>>(
        &self,
        map: &mut A,
        slot: &mut Option<Audience<'de>>,
    ) -> Result<(), A::Error> {
        if slot.is_some() {
            return Err(self.twice("aud"));
        }
        if !self.reading.audience_list {
            let mut one = None;
            self.read(map, &mut one, "aud")?;
            *slot = one.map(Audience::One);
            return Ok(());
        }
        let mut raw: Option<&'de RawValue> = None;
        self.read(map, &mut raw, "aud")?;
        let invalid = |reason: String| self.fail(VerifyError::InvalidClaim { claim: "aud", reason });
        let text = raw.map_or("null", RawValue::get);
        *slot = Some(if text.starts_with('[') {
            Audience::Many(serde_json::from_str(text).map_err(|error| invalid(error.to_string()))?)
        } else {
            Audience::One(serde_json::from_str(text).map_err(|error| invalid(error.to_string()))?)
        });
        Ok(())
    }
}

impl<'de> Visitor<'de> for ClaimsVisitor<'_, '_> {
    type Value = RawClaims<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawClaims<'de>, A::Error> {
        let mut raw = RawClaims::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.as_str() {
                "type" => self.read(&mut map, &mut raw.session_type, "type")?,
                "properties" => self.read(&mut map, &mut raw.properties, "properties")?,
                "iss" => self.read(&mut map, &mut raw.issuer, "iss")?,
                "aud" => self.read_audience(&mut map, &mut raw.audience)?,
                "sub" => self.read(&mut map, &mut raw.subject, "sub")?,
                "jti" => self.read(&mut map, &mut raw.token_id, "jti")?,
                "nonce" => self.read(&mut map, &mut raw.nonce, "nonce")?,
                "sid" => self.read(&mut map, &mut raw.session_id, "sid")?,
                "iat" => self.read_time(&mut map, &mut raw.issued_at, "iat")?,
                "nbf" => self.read_time(&mut map, &mut raw.not_before, "nbf")?,
                "exp" => self.read_time(&mut map, &mut raw.expires_at, "exp")?,
                other => match self.reading.extra.iter().position(|name| name == other) {
                    Some(index) => {
                        if raw.extra.iter().any(|(seen, _)| *seen == index) {
                            return Err(self.fail(VerifyError::InvalidClaim {
                                claim: "(extra)",
                                reason: format!("the claim `{}` appears twice", key.as_str().escape_debug()),
                            }));
                        }
                        raw.extra.push((index, map.next_value()?));
                    }
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                },
            }
        }
        Ok(raw)
    }
}
