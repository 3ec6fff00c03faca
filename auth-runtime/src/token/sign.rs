//! Issuing: the header `{"alg","typ","kid"}` and the payload `{"type","properties",...claims}`
//! in a fixed key order, signed as a compact JWS.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::keys::{SigningKey, VerificationKey};
use super::wire::Properties;
use crate::session_types::SessionTypes;

/// The claims written into a new token.
pub(crate) struct NewClaims<'a, S> {
    pub(crate) session: &'a S,
    pub(crate) issuer: &'a str,
    pub(crate) audience: &'a str,
    pub(crate) subject: Option<&'a str>,
    pub(crate) issued_at: u64,
    pub(crate) expires_at: u64,
    pub(crate) token_id: &'a str,
    pub(crate) nonce: Option<&'a str>,
    pub(crate) session_id: Option<&'a str>,
    pub(crate) mode: Option<&'a str>,
}

impl<S: SessionTypes> Serialize for NewClaims<'_, S> {
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", self.session.session_type())?;
        map.serialize_entry("properties", &Properties(self.session))?;
        map.serialize_entry("iss", self.issuer)?;
        map.serialize_entry("aud", self.audience)?;
        if let Some(subject) = self.subject {
            map.serialize_entry("sub", subject)?;
        }
        map.serialize_entry("iat", &self.issued_at)?;
        map.serialize_entry("exp", &self.expires_at)?;
        map.serialize_entry("jti", self.token_id)?;
        if let Some(nonce) = self.nonce {
            map.serialize_entry("nonce", nonce)?;
        }
        if let Some(session_id) = self.session_id {
            map.serialize_entry("sid", session_id)?;
        }
        if let Some(mode) = self.mode {
            map.serialize_entry("mode", mode)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct NewHeader<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

/// Why a token could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The session or claims did not serialize (a map with non-string keys, say).
    #[error("session does not serialize: {0}")]
    Serialize(#[source] serde_json::Error),
    /// The crypto backend refused to sign.
    #[error("signing failed: {0}")]
    Crypto(#[source] jsonwebtoken::errors::Error),
}

/// The base64url header every token signed with `key` carries: `{"alg","typ","kid"}`, in that order.
///
/// Verification keeps one per key: a token whose header is byte for byte this string passes every
/// header check (`alg`, `typ`, `kid`, no `crit`) without being decoded or parsed.
pub(crate) fn issued_header(key: &VerificationKey, token_type: &str) -> Result<String, serde_json::Error> {
    let header = NewHeader {
        alg: key.algorithm().as_str(),
        typ: token_type,
        kid: key.kid(),
    };
    Ok(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?))
}

/// Signs `claims` as a compact JWS.
pub(crate) fn sign<S: SessionTypes>(
    key: &SigningKey,
    token_type: &str,
    claims: &NewClaims<'_, S>,
) -> Result<String, SignError> {
    let payload = serde_json::to_vec(claims).map_err(SignError::Serialize)?;
    let mut token = issued_header(key.verification_key(), token_type).map_err(SignError::Serialize)?;
    token.reserve(payload.len() * 4 / 3 + 100);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    let signature = key.sign(token.as_bytes()).map_err(SignError::Crypto)?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
    Ok(token)
}
