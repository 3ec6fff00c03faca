//! Verifying a compact JWS whose payload is `{"type", "properties", ...registered claims}`.
//!
//! Strict and in this order: size, shape, header (`crit` refused; `jku`, `jwk`, `x5u`, `x5c`
//! never read), key by `kid`, `alg` equal to that key's one algorithm, signature, `typ`, then the
//! claims (integer `exp`/`nbf`/`iat` only, `exp` required, `iss` and `aud` exact strings) and last
//! the typed decode of the session. Every failure has its own [`TokenError`] variant.
use std::borrow::Cow;

use super::claims::{Claims, VerifiedToken};
use super::compact::{decode_part, read_header, split};
use super::error::TokenError;
use super::keys::VerificationKey;
use super::reading::{ClaimsReading, check_issued_and_not_before, decode_session, read_claims};
use crate::session_types::SessionTypes;

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

/// Verifies `token` under `policy` and decodes its session.
pub(crate) fn verify<S: SessionTypes>(token: &str, policy: &Policy<'_>) -> Result<VerifiedToken<S>, TokenError> {
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
        return Err(TokenError::BadSignature);
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
) -> Result<(&'p VerificationKey, Result<(), TokenError>), TokenError> {
    let header = read_header(header_b64)?;
    let kid = header.kid.as_deref().unwrap_or(policy.default_kid);
    let key = policy
        .keys
        .iter()
        .find(|key| key.kid == kid)
        .ok_or_else(|| TokenError::UnknownKey {
            kid: header.kid.clone(),
        })?;
    if header.alg != key.algorithm.as_str() {
        return Err(TokenError::AlgorithmMismatch {
            found: header.alg,
            expected: key.algorithm,
        });
    }
    let token_type = match &header.typ {
        Some(typ) if typ.eq_ignore_ascii_case(policy.token_type) => Ok(()),
        other => Err(TokenError::WrongTokenType {
            found: other.clone(),
            expected: policy.token_type.to_owned(),
        }),
    };
    Ok((key, token_type))
}

fn decode_payload<S: SessionTypes>(payload: &[u8], policy: &Policy<'_>) -> Result<VerifiedToken<S>, TokenError> {
    let raw = read_claims(payload, &ClaimsReading::default())?;
    let expires_at = raw.expires_at.ok_or(TokenError::MissingClaim("exp"))?;
    if policy.now > expires_at.saturating_add(policy.leeway) {
        return Err(TokenError::Expired {
            expires_at,
            now: policy.now,
        });
    }
    if let Some(issued_at) = raw.issued_at
        && issued_at > policy.now.saturating_add(policy.leeway)
    {
        return Err(TokenError::IssuedInTheFuture {
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
        return Err(TokenError::LifetimeTooLong {
            lifetime,
            max: policy.max_lifetime,
        });
    }
    check_issued_and_not_before(&raw, policy.now, policy.leeway)?;
    let issuer = raw.issuer.as_deref().ok_or(TokenError::MissingClaim("iss"))?;
    if issuer != policy.issuer {
        return Err(TokenError::WrongIssuer {
            found: issuer.to_owned(),
        });
    }
    let audience = raw.audience.as_ref().ok_or(TokenError::MissingClaim("aud"))?;
    if !audience.contains(policy.audience) {
        return Err(TokenError::WrongAudience {
            found: audience.shown(),
        });
    }
    let session = decode_session(&raw)?;
    Ok(VerifiedToken {
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
