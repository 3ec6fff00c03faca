//! The verifier: how a token becomes a typed session, Connectum's `verifySession(token, headers)`
//! followed by `mapSession`.
//!
//! [`Sessions`](crate::Sessions) is one implementation (stateless JWT checks). Implement
//! [`SessionVerifier`] yourself to check tokens against your own backend (a database row, a
//! revocation list, an opaque session id from another framework), or to wrap `Sessions` and add
//! such a check after the signature:
//!
//! ```
//! use auth_runtime::{Authenticated, SessionTypes, SessionVerifier, Sessions, VerifiedToken, VerifierError};
//! use std::collections::HashSet;
//!
//! #[derive(SessionTypes, Debug, Clone, PartialEq)]
//! enum AppSession {
//!     User { user_id: String },
//! }
//!
//! /// JWT first, then a revocation list.
//! struct CheckRevoked {
//!     jwt: Sessions<AppSession>,
//!     revoked: HashSet<String>,
//! }
//!
//! impl SessionVerifier for CheckRevoked {
//!     type Session = AppSession;
//!     type Output = VerifiedToken<AppSession>;
//!
//!     async fn verify_session(&self, token: &str, _headers: &http::HeaderMap) -> Result<Self::Output, VerifierError> {
//!         let verified = self.jwt.verify(token).map_err(VerifierError::failed)?;
//!         match &verified.claims.token_id {
//!             Some(id) if self.revoked.contains(id) => Err(VerifierError::failed("token revoked")),
//!             _ => Ok(verified),
//!         }
//!     }
//!
//!     fn map_session(&self, verified: Self::Output) -> Result<Authenticated<AppSession>, VerifierError> {
//!         Ok(verified.into())
//!     }
//! }
//! ```

use std::error::Error as StdError;
use std::future::Future;

use http::{HeaderMap, HeaderName};

use crate::cookie::CookieOptions;
use crate::session_types::SessionTypes;
use crate::token::claims::VerifiedToken;

/// A verified session and what the cache and handlers need to know about it.
///
/// Made with [`Authenticated::new`] and its fields set one by one (new fields may come, with
/// `None` for verifiers that do not know them), or from a [`VerifiedToken`] token with `.into()`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Authenticated<S> {
    /// The typed session.
    pub session: S,
    /// When the credential stops being valid, in seconds since the Unix epoch: a cached entry
    /// never outlives it. `None` when the backend gives no expiry (the cache TTL alone bounds it).
    pub expires_at: Option<u64>,
    /// Who the session is for (`sub`), for invalidating every cached session of one user.
    pub subject: Option<String>,
    /// The session's id, for revoking or invalidating one session: a token's `sid` when it has
    /// one (every access token of a refresh token family carries the family's), else its `jti`,
    /// or an opaque session id.
    pub session_id: Option<String>,
    /// When the credential was issued (`iat`), in seconds since the Unix epoch: revoking a
    /// subject ends the sessions issued up to then. `None` when the backend does not say.
    pub issued_at: Option<u64>,
    /// The landing binding the credential was issued with (`nonce`), checked when it arrives on
    /// the landing route (the session layer's `landing_route`). `None` for credentials that are
    /// not sent through a landing route.
    pub nonce: Option<String>,
}

impl<S> Authenticated<S> {
    /// `session`, with nothing else known about it: no expiry (the cache TTL alone bounds its
    /// entry), subject, session id, issue time or landing binding.
    ///
    /// ```
    /// # use auth_runtime::Authenticated;
    /// let mut authenticated = Authenticated::new("ada".to_owned());
    /// authenticated.expires_at = Some(1_900_000_000);
    /// authenticated.subject = Some("user-1".to_owned());
    /// ```
    pub fn new(session: S) -> Self {
        Authenticated {
            session,
            expires_at: None,
            subject: None,
            session_id: None,
            issued_at: None,
            nonce: None,
        }
    }
}

impl<S> From<VerifiedToken<S>> for Authenticated<S> {
    fn from(verified: VerifiedToken<S>) -> Self {
        Authenticated {
            session: verified.session,
            expires_at: Some(verified.claims.expires_at),
            subject: verified.claims.subject,
            // A token of a longer session (a refresh token family's) is that session's; a lone
            // token is its own session.
            session_id: verified.claims.session_id.or(verified.claims.token_id),
            issued_at: verified.claims.issued_at,
            nonce: verified.claims.nonce,
        }
    }
}

/// Why a verifier refused a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifierError {
    /// The request carries nothing to verify (the verifier expected, say, a header that is absent).
    #[error("missing credentials")]
    MissingCredentials,
    /// The credential is invalid: unknown, expired, revoked, badly signed. The cause is kept for logs.
    #[error("verification failed: {0}")]
    VerificationFailed(#[source] Box<dyn StdError + Send + Sync>),
    /// The backend could not answer (database down, timeout). Fails closed and is never cached.
    #[error("session backend unavailable: {0}")]
    BackendUnavailable(#[source] Box<dyn StdError + Send + Sync>),
}

impl VerifierError {
    /// The kind of refusal, as events and logs name it: `missing_credentials`,
    /// `backend_unavailable`, the [`TokenError::kind`](crate::TokenError::kind) of a token
    /// refusal, or `verification_failed` for another verifier's own reasons.
    pub fn kind(&self) -> &'static str {
        match self {
            VerifierError::MissingCredentials => "missing_credentials",
            VerifierError::BackendUnavailable(_) => "backend_unavailable",
            VerifierError::VerificationFailed(cause) => cause
                .downcast_ref::<crate::token::error::TokenError>()
                .map_or("verification_failed", crate::token::error::TokenError::kind),
        }
    }

    /// `VerificationFailed` from any error or message.
    pub fn failed(cause: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        VerifierError::VerificationFailed(cause.into())
    }

    /// `BackendUnavailable` from any error or message.
    pub fn unavailable(cause: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        VerifierError::BackendUnavailable(cause.into())
    }
}

/// What a verifier's answer depends on, which decides how the cache may keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheKey {
    /// The token alone: the answer is cached under the token's SHA-256. The default.
    Token,
    /// The token and these request headers (a device id, a client certificate header): the
    /// cache key is the SHA-256 of the token and those headers' values, so a different value is
    /// a different entry.
    TokenAndHeaders(Vec<HeaderName>),
    /// Something the cache cannot see (the time of day, a header it is not told about): never
    /// cached, every request asks the verifier.
    Uncached,
}

/// Checks a token (and, if it must, the request headers) and produces the typed session.
///
/// The rule for caching: a verifier whose answer depends on anything but the token says so in
/// [`cache_key`](Self::cache_key), and is then keyed by what it reads or not cached at all.
pub trait SessionVerifier: Send + Sync + 'static {
    /// The session enum this verifier produces.
    type Session: SessionTypes;
    /// What `verify_session` returns: the backend's own type (a database row, say), turned into
    /// the session by [`map_session`](Self::map_session).
    type Output: Send;

    /// Checks `token`, with the request's headers at hand (for cookie-based session frameworks).
    fn verify_session(
        &self,
        token: &str,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Self::Output, VerifierError>> + Send;

    /// Turns the backend's answer into the typed session.
    fn map_session(&self, output: Self::Output) -> Result<Authenticated<Self::Session>, VerifierError>;

    /// What the answer depends on; [`CacheKey::Token`] unless overridden.
    fn cache_key(&self) -> CacheKey {
        CacheKey::Token
    }

    /// The cookie this verifier's sessions are issued in, when it issues them (a `Sessions`
    /// does): the session layer reads that cookie unless told otherwise
    /// ([`SessionLayerBuilder::cookie`](crate::SessionLayerBuilder::cookie)). `None`, the
    /// default, for tokens issued elsewhere.
    fn issued_cookie(&self) -> Option<&CookieOptions> {
        None
    }
}

/// A shared verifier verifies like the one it shares, so an application can keep a handle (for
/// its own bookkeeping) to the verifier it gave the cache.
impl<V: SessionVerifier> SessionVerifier for std::sync::Arc<V> {
    type Session = V::Session;
    type Output = V::Output;

    fn verify_session(
        &self,
        token: &str,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Self::Output, VerifierError>> + Send {
        V::verify_session(self, token, headers)
    }

    fn map_session(&self, output: Self::Output) -> Result<Authenticated<Self::Session>, VerifierError> {
        V::map_session(self, output)
    }

    fn cache_key(&self) -> CacheKey {
        V::cache_key(self)
    }

    fn issued_cookie(&self) -> Option<&CookieOptions> {
        V::issued_cookie(self)
    }
}
