//! [`JwtVerifier`]: a [`SessionVerifier`] for JWTs another issuer signed, configured by a
//! profile (OpenAuth, SST v2, or any JWT issuer's rules), so the session layer, its cache,
//! `use_session` and the extractors read those sessions exactly like ours.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde_json::value::RawValue;

use super::key_source::KeySource;
use super::lookup::LookupError;
use crate::clock::Clock;
use crate::session_types::SessionTypes;
use crate::token::algorithm::Algorithm;
use crate::token::compact::{decode_part, read_header, split};
use crate::token::defaults::{DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LEN, MAX_LEEWAY};
use crate::token::error::TokenError;
use crate::token::keys::{KeyError, VerificationKey};
use crate::token::reading::{
    Audience, ClaimsReading, RawClaims, check_issued_and_not_before, decode_session, read_claims,
};
use crate::verifier::{Authenticated, SessionVerifier, VerifierError};

/// The registered claims of another issuer's token, and all of its claims as JSON, for a
/// mapping closure ([`JwtVerifierBuilder::map_claims`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ForeignClaims {
    /// `iss`, if present.
    pub issuer: Option<String>,
    /// `aud`: one or several audiences; empty without the claim.
    pub audience: Vec<String>,
    /// `sub`, if present.
    pub subject: Option<String>,
    /// `iat`, if present.
    pub issued_at: Option<u64>,
    /// When the token stops being valid: its `exp`, or `iat` plus the maximum age.
    pub expires_at: u64,
    /// `jti`, if present.
    pub token_id: Option<String>,
    /// Every claim of the payload.
    pub all: serde_json::Map<String, serde_json::Value>,
}

type MapClaims<S> = dyn Fn(&ForeignClaims) -> Result<S, String> + Send + Sync;

/// How the claims become the session.
enum Mapping<S> {
    /// `{"type", "properties"}`, decoded by the derive exactly as for our own tokens.
    TypeAndProperties,
    /// A closure over the claims: Connectum's `mapSession`.
    Claims(Arc<MapClaims<S>>),
}

impl<S> Clone for Mapping<S> {
    fn clone(&self) -> Self {
        match self {
            Mapping::TypeAndProperties => Mapping::TypeAndProperties,
            Mapping::Claims(map) => Mapping::Claims(Arc::clone(map)),
        }
    }
}

/// How long a token is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    /// `exp` is required.
    Exp,
    /// `iat` is required and the token is valid `max_age` after it (and until `exp`, if present).
    MaxAge(Duration),
}

/// Verifies JWTs another issuer signed and decodes the session they carry; see the
/// [module documentation](super).
pub struct JwtVerifier<S> {
    inner: Arc<Profile<S>>,
}

impl<S> Clone for JwtVerifier<S> {
    fn clone(&self) -> Self {
        JwtVerifier {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S> fmt::Debug for JwtVerifier<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let profile = &self.inner;
        f.debug_struct("JwtVerifier")
            .field("issuer", &profile.issuer)
            .field("audiences", &profile.audiences)
            .field("algorithms", &profile.algorithms)
            .field("token_types", &profile.token_types)
            .field("expiry", &profile.expiry)
            .finish_non_exhaustive()
    }
}

struct Profile<S> {
    keys: KeySource,
    issuer: Option<String>,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    token_types: Vec<String>,
    /// Claims that must be present with exactly this JSON value.
    required: Vec<(String, serde_json::Value)>,
    /// The names of `required`, for the claims reader.
    required_names: Vec<String>,
    expiry: Expiry,
    leeway: Duration,
    max_len: usize,
    clock: Clock,
    map: Mapping<S>,
}

/// Why a [`JwtVerifier`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwtConfigError {
    /// No algorithm is accepted: no token could ever pass.
    #[error("no algorithm accepted; name at least one with `algorithms`")]
    NoAlgorithms,
    /// An HMAC algorithm was accepted: a shared secret is not another issuer's public key.
    #[error("HS256 cannot verify another issuer's tokens: it needs the issuer's secret")]
    Hmac,
    /// Neither an issuer nor an audience is checked: any token signed by these keys for anyone
    /// would pass. Set both (an OpenID provider's access tokens carry both).
    #[error("set the issuer and at least one audience; without them tokens meant for others pass")]
    Unbound,
    /// The leeway is over five minutes.
    #[error("clock leeway must be at most {MAX_LEEWAY:?}")]
    Leeway,
    /// The maximum age is zero.
    #[error("the maximum age must be at least one second")]
    MaxAge,
    /// A key could not be read.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Configures a [`JwtVerifier`]; start from [`JwtVerifier::builder`], [`JwtVerifier::openauth`]
/// or [`JwtVerifier::sst_v2`].
pub struct JwtVerifierBuilder<S> {
    profile: Profile<S>,
    /// Whether the issuer and audience may both be absent (SST v2 names neither).
    unbound: bool,
}

impl<S> fmt::Debug for JwtVerifierBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifierBuilder")
            .field("issuer", &self.profile.issuer)
            .field("audiences", &self.profile.audiences)
            .finish_non_exhaustive()
    }
}

impl<S: SessionTypes> JwtVerifier<S> {
    /// A verifier for any JWT issuer (an OpenID provider's access tokens, say): set its issuer,
    /// audience, algorithms and how claims become the session. By default: `exp` required, `typ`
    /// `JWT` or `at+jwt` (RFC 9068), 60 s leeway, sessions decoded from `{"type", "properties"}`.
    pub fn builder(keys: impl Into<KeySource>) -> JwtVerifierBuilder<S> {
        JwtVerifierBuilder {
            profile: Profile {
                keys: keys.into(),
                issuer: None,
                audiences: Vec::new(),
                algorithms: Vec::new(),
                token_types: vec!["JWT".to_owned(), "at+jwt".to_owned()],
                required: Vec::new(),
                required_names: Vec::new(),
                expiry: Expiry::Exp,
                leeway: DEFAULT_LEEWAY,
                max_len: DEFAULT_MAX_TOKEN_LEN,
                clock: Clock::system(),
                map: Mapping::TypeAndProperties,
            },
            unbound: false,
        }
    }

    /// OpenAuth's access tokens (`@openauthjs/openauth` 0.4): `iss` is the issuer's origin,
    /// `aud` your client id (OpenAuth's own client leaves `aud` unchecked; this does not),
    /// `mode` must be `access` (a refresh-mode token is refused), `typ` `JWT`, ES256 (current
    /// keys) or RS256/RS512 (OpenAuth's legacy keys), `exp` required, and the session decoded from
    /// `{"type", "properties"}`; `sub` becomes the subject. Keys usually come from
    /// `RemoteJwks::issuer(issuer)` (feature `jwks`).
    pub fn openauth(issuer: &str, client_id: &str, keys: impl Into<KeySource>) -> JwtVerifierBuilder<S> {
        JwtVerifier::builder(keys)
            .issuer(issuer.trim_end_matches('/'))
            .audience(client_id)
            .algorithms(&[Algorithm::ES256, Algorithm::RS256, Algorithm::RS512])
            .token_types(&["JWT"])
            .require_claim("mode", "access")
    }

    /// SST v2's sessions (`sst/node/auth`'s `Session.create`, signed by `fast-jwt` with RS512):
    /// `{"type", "properties", "iat"}` under `{"alg":"RS512","typ":"JWT"}`, verified with the RSA
    /// public key from SST's config (PEM). The format has no `exp`, `iss` or `aud`, so a token is
    /// valid `max_age` after its `iat`, and is bound to nothing but the key: a legacy format,
    /// read to migrate from, not one to issue.
    pub fn sst_v2(public_key_pem: &[u8], max_age: Duration) -> Result<JwtVerifierBuilder<S>, KeyError> {
        let key = VerificationKey::rsa_pem(public_key_pem, Algorithm::RS512)?;
        let mut builder = JwtVerifier::builder(key)
            .algorithms(&[Algorithm::RS512])
            .token_types(&["JWT"])
            .max_age(max_age);
        builder.unbound = true;
        Ok(builder)
    }
}

impl<S: SessionTypes> JwtVerifierBuilder<S> {
    /// The issuer `iss` must name exactly.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.profile.issuer = Some(issuer.into());
        self
    }

    /// An audience `aud` may name (a string, or one of a list); call again for more.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.profile.audiences.push(audience.into());
        self
    }

    /// The algorithms accepted; each key still verifies its own one only. HS256 is refused at
    /// build: another issuer's tokens are checked with its public keys.
    pub fn algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.profile.algorithms = algorithms.to_vec();
        self
    }

    /// The `typ` headers accepted (compared without case); an empty list accepts any, or none.
    pub fn token_types(mut self, token_types: &[&str]) -> Self {
        self.profile.token_types = token_types.iter().map(|typ| (*typ).to_owned()).collect();
        self
    }

    /// A claim that must be present with exactly this value (a string, a number, `true`).
    pub fn require_claim(mut self, claim: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        let claim = claim.into();
        self.profile.required_names.push(claim.clone());
        self.profile.required.push((claim, value.into()));
        self
    }

    /// Tokens are valid `max_age` after their `iat`, which becomes required (and until their
    /// `exp`, when they have one): for issuers that write no `exp`.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.profile.expiry = Expiry::MaxAge(max_age);
        self
    }

    /// Tolerance for clock skew on `exp`, `iat` and `nbf`; 60 seconds by default, at most 5 minutes.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.profile.leeway = leeway;
        self
    }

    /// The longest token read; longer ones are refused before any parsing.
    pub fn max_token_len(mut self, max_len: usize) -> Self {
        self.profile.max_len = max_len;
        self
    }

    /// Replaces the system clock, for tests that need tokens from the past or the future.
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.profile.clock = Clock::custom(clock);
        self
    }

    /// Maps the claims to the session with `map` (Connectum's `mapSession`) instead of decoding
    /// `{"type", "properties"}`: for issuers whose tokens carry their own claims (an OpenID
    /// provider's `sub`, `scope`, `email`). An `Err` refuses the token with its message.
    pub fn map_claims(mut self, map: impl Fn(&ForeignClaims) -> Result<S, String> + Send + Sync + 'static) -> Self {
        self.profile.map = Mapping::Claims(Arc::new(map));
        self
    }

    /// Checks the configuration and builds the verifier.
    pub fn build(self) -> Result<JwtVerifier<S>, JwtConfigError> {
        let profile = self.profile;
        if profile.algorithms.is_empty() {
            return Err(JwtConfigError::NoAlgorithms);
        }
        if profile.algorithms.contains(&Algorithm::HS256) {
            return Err(JwtConfigError::Hmac);
        }
        if !self.unbound && (profile.issuer.is_none() || profile.audiences.is_empty()) {
            return Err(JwtConfigError::Unbound);
        }
        if profile.leeway > MAX_LEEWAY {
            return Err(JwtConfigError::Leeway);
        }
        if profile.expiry == Expiry::MaxAge(Duration::ZERO) {
            return Err(JwtConfigError::MaxAge);
        }
        Ok(JwtVerifier {
            inner: Arc::new(profile),
        })
    }
}

/// Why a token was refused: a verification error, or keys that could not be had.
enum Refused {
    Token(TokenError),
    KeysUnavailable(String),
}

impl From<TokenError> for Refused {
    fn from(error: TokenError) -> Self {
        Refused::Token(error)
    }
}

impl<S: SessionTypes> JwtVerifier<S> {
    /// Verifies `token` and decodes its session; keys are looked up (and fetched, for a remote
    /// set) as the token's `kid` requires.
    pub async fn verify(&self, token: &str) -> Result<Authenticated<S>, VerifierError> {
        self.check(token).await.map_err(|refused| match refused {
            Refused::Token(error) => VerifierError::failed(error),
            Refused::KeysUnavailable(reason) => VerifierError::unavailable(reason),
        })
    }

    async fn check(&self, token: &str) -> Result<Authenticated<S>, Refused> {
        let profile = &*self.inner;
        let now = profile.clock.unix_seconds().map_err(|_| TokenError::Clock)?;
        let parts = split(token, profile.max_len)?;
        let header = read_header(parts.header)?;
        let algorithm = Algorithm::from_name(&header.alg)
            .filter(|algorithm| profile.algorithms.contains(algorithm))
            .ok_or_else(|| TokenError::AlgorithmNotAllowed {
                found: header.alg.clone(),
            })?;
        let found = match profile.keys.find(header.kid.as_deref()).await {
            Ok(found) => found,
            Err(LookupError::Unknown) => return Err(TokenError::UnknownKey { kid: header.kid }.into()),
            Err(LookupError::Unavailable(reason)) => return Err(Refused::KeysUnavailable(reason)),
        };
        let key = found.key().ok_or(TokenError::UnknownKey {
            kid: header.kid.clone(),
        })?;
        if key.algorithm() != algorithm {
            return Err(TokenError::AlgorithmMismatch {
                found: header.alg,
                expected: key.algorithm(),
            }
            .into());
        }
        let signature = decode_part(parts.signature, "signature")?;
        if !key.verify_signature(parts.signed, &signature) {
            return Err(TokenError::BadSignature.into());
        }
        let payload = decode_part(parts.payload, "payload")?;
        // Like ours: the `typ` verdict only once the signature holds.
        let typ_accepted = profile.token_types.is_empty()
            || header.typ.as_deref().is_some_and(|typ| {
                profile
                    .token_types
                    .iter()
                    .any(|accepted| accepted.eq_ignore_ascii_case(typ))
            });
        if !typ_accepted {
            return Err(TokenError::WrongTokenType {
                found: header.typ,
                expected: profile.token_types.join(" or "),
            }
            .into());
        }
        let reading = ClaimsReading {
            audience_list: true,
            extra: &profile.required_names,
        };
        let raw = read_claims(&payload, &reading)?;
        let expires_at = self.check_claims(&raw, now)?;
        let session = match &profile.map {
            Mapping::TypeAndProperties => decode_session(&raw)?,
            Mapping::Claims(map) => {
                let claims = foreign_claims(&raw, &payload, expires_at)?;
                map(&claims).map_err(TokenError::Unmapped)?
            }
        };
        let mut authenticated = Authenticated::new(session);
        authenticated.expires_at = Some(expires_at);
        authenticated.subject = raw.subject.map(Cow::into_owned);
        authenticated.session_id = raw.token_id.map(Cow::into_owned);
        authenticated.issued_at = raw.issued_at;
        Ok(authenticated)
    }

    /// Times, issuer, audience and required claims; returns when the token stops being valid.
    fn check_claims(&self, raw: &RawClaims<'_>, now: u64) -> Result<u64, TokenError> {
        let profile = &*self.inner;
        let leeway = profile.leeway.as_secs();
        let expires_at = match profile.expiry {
            Expiry::Exp => raw.expires_at.ok_or(TokenError::MissingClaim("exp"))?,
            Expiry::MaxAge(max_age) => {
                let issued_at = raw.issued_at.ok_or(TokenError::MissingClaim("iat"))?;
                let aged_out = issued_at.saturating_add(max_age.as_secs());
                raw.expires_at.map_or(aged_out, |exp| exp.min(aged_out))
            }
        };
        if now > expires_at.saturating_add(leeway) {
            return Err(TokenError::Expired { expires_at, now });
        }
        check_issued_and_not_before(raw, now, leeway)?;
        if let Some(issuer) = &profile.issuer {
            let found = raw.issuer.as_deref().ok_or(TokenError::MissingClaim("iss"))?;
            if found != issuer {
                return Err(TokenError::WrongIssuer {
                    found: found.to_owned(),
                });
            }
        }
        if !profile.audiences.is_empty() {
            let found = raw.audience.as_ref().ok_or(TokenError::MissingClaim("aud"))?;
            if !profile.audiences.iter().any(|audience| found.contains(audience)) {
                return Err(TokenError::WrongAudience { found: found.shown() });
            }
        }
        for (index, (claim, expected)) in profile.required.iter().enumerate() {
            let found: Option<&RawValue> = raw.extra.iter().find(|(at, _)| *at == index).map(|(_, value)| *value);
            let matches = found
                .and_then(|value| serde_json::from_str::<serde_json::Value>(value.get()).ok())
                .is_some_and(|value| value == *expected);
            if !matches {
                return Err(TokenError::WrongClaim {
                    claim: claim.clone(),
                    found: found.map(|value| value.get().chars().take(64).collect()),
                    expected: expected.to_string(),
                });
            }
        }
        Ok(expires_at)
    }
}

/// The claims as a mapping closure sees them.
fn foreign_claims(raw: &RawClaims<'_>, payload: &[u8], expires_at: u64) -> Result<ForeignClaims, TokenError> {
    let all: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(payload)
        .map_err(|error| TokenError::Malformed(crate::token::error::Malformed::Payload(error)))?;
    let audience = match &raw.audience {
        None => Vec::new(),
        Some(Audience::One(one)) => vec![one.clone().into_owned()],
        Some(Audience::Many(many)) => many.iter().map(|one| one.clone().into_owned()).collect(),
    };
    Ok(ForeignClaims {
        issuer: raw.issuer.as_deref().map(str::to_owned),
        audience,
        subject: raw.subject.as_deref().map(str::to_owned),
        issued_at: raw.issued_at,
        expires_at,
        token_id: raw.token_id.as_deref().map(str::to_owned),
        all,
    })
}

/// Another issuer's tokens are stateless to check (the key set is the verifier's own concern),
/// so answers are cached by token.
impl<S: SessionTypes> SessionVerifier for JwtVerifier<S> {
    type Session = S;
    type Output = Authenticated<S>;

    async fn verify_session(&self, token: &str, _headers: &HeaderMap) -> Result<Authenticated<S>, VerifierError> {
        self.verify(token).await
    }

    fn map_session(&self, authenticated: Authenticated<S>) -> Result<Authenticated<S>, VerifierError> {
        Ok(authenticated)
    }
}
