//! A compact JWS: split into its three parts after the size check, its header read, a part
//! decoded from base64url.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::error::{Malformed, TokenError};

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
pub(crate) fn split(token: &str, max_len: usize) -> Result<Compact<'_>, TokenError> {
    if token.len() > max_len {
        return Err(TokenError::TooLarge {
            len: token.len(),
            max: max_len,
        });
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed(Malformed::Parts));
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
pub(crate) fn read_header(header_b64: &str) -> Result<TokenHeader, TokenError> {
    let header_json = decode_part(header_b64, "header")?;
    let header: Header<'_> =
        serde_json::from_slice(&header_json).map_err(|error| TokenError::Malformed(Malformed::Header(error)))?;
    if header.crit {
        return Err(TokenError::CriticalHeader);
    }
    Ok(TokenHeader {
        alg: header.alg.into_owned(),
        typ: header.typ.map(Cow::into_owned),
        kid: header.kid.map(Cow::into_owned),
    })
}

pub(crate) fn decode_part(part: &str, name: &'static str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed(Malformed::Base64 { part: name }))
}
