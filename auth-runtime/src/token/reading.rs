//! Reading a payload's claims: a JSON object, each registered claim at most once, times as
//! integers up to the year 9999; and the typed decode of `{"type", "properties"}`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::error::{Malformed, TokenError};
use super::wire::PropertiesSeed;
use super::wire::de::Key;
use crate::session_types::SessionTypes;

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
pub(crate) fn read_claims<'a>(payload: &'a [u8], reading: &ClaimsReading<'_>) -> Result<RawClaims<'a>, TokenError> {
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
            .unwrap_or(TokenError::Malformed(Malformed::Payload(error)))
    })
}

/// `iat` and `nbf` against the clock: neither may be later than now plus the leeway.
pub(crate) fn check_issued_and_not_before(raw: &RawClaims<'_>, now: u64, leeway: u64) -> Result<(), TokenError> {
    if let Some(issued_at) = raw.issued_at
        && issued_at > now.saturating_add(leeway)
    {
        return Err(TokenError::IssuedInTheFuture { issued_at, now });
    }
    if let Some(not_before) = raw.not_before
        && not_before > now.saturating_add(leeway)
    {
        return Err(TokenError::NotYetValid { not_before, now });
    }
    Ok(())
}

/// The typed session of `{"type", "properties"}`: the same decode for every issuer.
pub(crate) fn decode_session<S: SessionTypes>(raw: &RawClaims<'_>) -> Result<S, TokenError> {
    let session_type = raw.session_type.as_deref().ok_or(TokenError::MissingClaim("type"))?;
    if !S::TYPES.contains(&session_type) {
        return Err(TokenError::UnknownSessionType {
            found: session_type.to_owned(),
            expected: S::TYPES,
        });
    }
    let properties = raw.properties.map_or("{}", RawValue::get);
    let mut properties_deserializer = serde_json::Deserializer::from_str(properties);
    de::DeserializeSeed::deserialize(PropertiesSeed::<S>::new(session_type), &mut properties_deserializer)
        .map_err(TokenError::InvalidProperties)
}

/// Latest time a token may name: the end of year 9999. Anything later is a forged or broken
/// number, and bounding it keeps all time arithmetic far from overflow.
const MAX_TIMESTAMP: u64 = 253_402_300_799;

struct ClaimsVisitor<'e, 'o> {
    claim_error: &'e RefCell<Option<TokenError>>,
    reading: &'e ClaimsReading<'o>,
}

impl ClaimsVisitor<'_, '_> {
    /// Records the typed error and hands serde a placeholder to unwind with.
    fn fail<E: de::Error>(&self, error: TokenError) -> E {
        let message = error.to_string();
        *self.claim_error.borrow_mut() = Some(error);
        E::custom(message)
    }

    fn twice<E: de::Error>(&self, claim: &'static str) -> E {
        self.fail(TokenError::InvalidClaim {
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
            self.fail(TokenError::InvalidClaim {
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
            return Err(self.fail(TokenError::InvalidClaim {
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
        let invalid = |reason: String| self.fail(TokenError::InvalidClaim { claim: "aud", reason });
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
                            return Err(self.fail(TokenError::InvalidClaim {
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
