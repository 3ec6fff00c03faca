//! Identity headers (Connectum's `propagateHeaders`): the session in `x-session` for the next
//! service, proved by a token made with a key the two services share; and [`TrustedHeaders`],
//! the verifier that reads them on the receiving side, from whoever holds the key only.

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::PropagationError;
use crate::session_types::SessionTypes;
use crate::verifier::{Authenticated, CacheKey, SessionVerifier, VerifierError};

/// The header that carries the session: base64url of its `{"type", "properties"}` JSON.
pub const IDENTITY_HEADER: &str = "x-session";
/// The header that proves it: an HS256 token of the shared key over the next service's name
/// (`aud`), 60 seconds, the subject and the SHA-256 of `x-session`.
pub const IDENTITY_PROOF_HEADER: &str = "x-session-proof";
/// How long a proof is accepted.
const PROOF_LIFETIME: Duration = Duration::from_secs(60);
/// The clock skew allowed between the two services.
const PROOF_LEEWAY: u64 = 5;
/// The longest `x-session` read: 8 KiB.
const MAX_IDENTITY_LEN: usize = 8 * 1024;

/// A key two services share to trust identity headers between them (at least 32 random bytes).
#[derive(Clone)]
pub struct IdentityKey {
    secret: Vec<u8>,
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityKey(<redacted>)")
    }
}

/// Why an [`IdentityKey`] was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an identity key needs at least 32 bytes; this one has {0}")]
pub struct IdentityKeyTooShort(pub usize);

#[derive(serde::Serialize, serde::Deserialize)]
struct Proof {
    aud: String,
    iat: u64,
    exp: u64,
    /// SHA-256 of the `x-session` value, base64url.
    sha: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

fn digest(value: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value))
}

impl IdentityKey {
    /// A shared key of at least 32 bytes.
    pub fn new(secret: &[u8]) -> Result<Self, IdentityKeyTooShort> {
        if secret.len() < 32 {
            return Err(IdentityKeyTooShort(secret.len()));
        }
        Ok(IdentityKey {
            secret: secret.to_vec(),
        })
    }

    /// The headers that carry `current` to the service `audience`.
    pub(super) fn headers<S: SessionTypes>(
        &self,
        current: &Authenticated<S>,
        audience: &str,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, PropagationError> {
        let json = serde_json::to_vec(&current.session).map_err(|error| PropagationError::Sign(error.to_string()))?;
        let session = URL_SAFE_NO_PAD.encode(json);
        let issued_at = now();
        let proof = Proof {
            aud: audience.to_owned(),
            iat: issued_at,
            exp: issued_at + PROOF_LIFETIME.as_secs(),
            sha: digest(session.as_bytes()),
            sub: current.subject.clone(),
            sid: current.session_id.clone(),
        };
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        let proof = jsonwebtoken::encode(&header, &proof, &jsonwebtoken::EncodingKey::from_secret(&self.secret))
            .map_err(|error| PropagationError::Sign(error.to_string()))?;
        let value =
            |text: String| HeaderValue::from_str(&text).map_err(|error| PropagationError::Sign(error.to_string()));
        Ok(vec![
            (HeaderName::from_static(IDENTITY_HEADER), value(session)?),
            (HeaderName::from_static(IDENTITY_PROOF_HEADER), value(proof)?),
        ])
    }
}

/// Why identity headers were refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// No `x-session-proof`, or more than one.
    #[error("identity headers without exactly one proof are not trusted")]
    MissingProof,
    /// The proof is not one the shared key made for this service, or it expired.
    #[error("the identity proof is not valid here: {0}")]
    InvalidProof(String),
    /// The proof is for another `x-session` value.
    #[error("the identity proof does not match the identity header")]
    Mismatch,
    /// `x-session` is not a session this service knows.
    #[error("the identity header is not a session: {0}")]
    Malformed(String),
}

/// The receiving side of identity headers: a [`SessionVerifier`] whose "token" is the
/// `x-session` header (read it with `CredentialSource::header("x-session")`), trusted only with a
/// proof made with `key` for `audience` (this service's name). Not cached: each request's proof
/// is checked.
pub struct TrustedHeaders<S> {
    key: IdentityKey,
    audience: String,
    session: PhantomData<fn() -> S>,
}

impl<S> fmt::Debug for TrustedHeaders<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedHeaders")
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl<S: SessionTypes> TrustedHeaders<S> {
    /// Trusts identity headers proved with `key` for the service `audience` (this one).
    pub fn new(key: IdentityKey, audience: impl Into<String>) -> Self {
        TrustedHeaders {
            key,
            audience: audience.into(),
            session: PhantomData,
        }
    }

    fn read(&self, session: &str, headers: &HeaderMap) -> Result<Authenticated<S>, IdentityError> {
        if session.len() > MAX_IDENTITY_LEN {
            return Err(IdentityError::Malformed("too long".to_owned()));
        }
        let mut proofs = headers.get_all(IDENTITY_PROOF_HEADER).iter();
        let (Some(proof), None) = (proofs.next(), proofs.next()) else {
            return Err(IdentityError::MissingProof);
        };
        let proof = proof.to_str().map_err(|_| IdentityError::MissingProof)?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_audience(&[self.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        validation.leeway = PROOF_LEEWAY;
        let key = jsonwebtoken::DecodingKey::from_secret(&self.key.secret);
        let proof = jsonwebtoken::decode::<Proof>(proof, &key, &validation)
            .map_err(|error| IdentityError::InvalidProof(error.to_string()))?
            .claims;
        if proof.iat > now() + PROOF_LEEWAY || proof.exp.saturating_sub(proof.iat) > PROOF_LIFETIME.as_secs() {
            return Err(IdentityError::InvalidProof(
                "issued in the future or for too long".to_owned(),
            ));
        }
        let matches: bool = digest(session.as_bytes()).as_bytes().ct_eq(proof.sha.as_bytes()).into();
        if !matches {
            return Err(IdentityError::Mismatch);
        }
        let json = URL_SAFE_NO_PAD
            .decode(session)
            .map_err(|error| IdentityError::Malformed(error.to_string()))?;
        let session: S = serde_json::from_slice(&json).map_err(|error| IdentityError::Malformed(error.to_string()))?;
        let mut authenticated = Authenticated::new(session);
        authenticated.subject = proof.sub;
        authenticated.session_id = proof.sid;
        authenticated.expires_at = Some(proof.exp);
        authenticated.issued_at = Some(proof.iat);
        Ok(authenticated)
    }
}

impl<S: SessionTypes> SessionVerifier for TrustedHeaders<S> {
    type Session = S;
    type Output = Authenticated<S>;

    async fn verify_session(&self, token: &str, headers: &HeaderMap) -> Result<Authenticated<S>, VerifierError> {
        self.read(token, headers).map_err(VerifierError::failed)
    }

    fn map_session(&self, output: Authenticated<S>) -> Result<Authenticated<S>, VerifierError> {
        Ok(output)
    }

    fn cache_key(&self) -> CacheKey {
        CacheKey::Uncached
    }
}
