//! Revocation: ending a session before its `exp`, at logout or when an account is locked.
//!
//! A signed token stays valid until it expires, wherever it is presented, so a copied cookie
//! would outlive the logout that deleted it from the browser. [`Revocations`] records the ids of
//! ended sessions in the [`Store`] (for as long as the token could still pass, no longer), and
//! [`Revocable`] wraps a verifier so every session it accepts is checked against that record.
//!
//! ```
//! use std::sync::Arc;
//! use auth_runtime::revocation::{Revocable, Revocations};
//! use auth_runtime::store::MemoryStore;
//! use auth_runtime::{SessionTypes, SessionVerifier, Sessions, SigningKey};
//!
//! #[derive(SessionTypes, Debug, Clone, PartialEq)]
//! enum AppSession {
//!     User { user_id: String },
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let sessions: Sessions<AppSession> = Sessions::builder()
//!     .signing_key(SigningKey::generate_ed25519()?)
//!     .issuer("https://auth.example.com")
//!     .audience("app")
//!     .build()?;
//! let revocations = Revocations::new(Arc::new(MemoryStore::new()));
//! let verifier = Revocable::new(sessions.clone(), revocations.clone());
//!
//! let token = sessions.create(&AppSession::User { user_id: "ada".into() })?;
//! let headers = http::HeaderMap::new();
//! let session = verifier.verify_session(&token, &headers).await?;
//! // Logout: the id and expiry come from the verified session (`use_authenticated()` in a handler).
//! revocations.revoke(session.session_id.as_deref().unwrap_or_default(), session.expires_at).await?;
//! assert!(verifier.verify_session(&token, &headers).await.is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Revoking also publishes an [`Invalidation`] through the store. A
//! [`SessionCache`](crate::SessionCache) in front of the verifier must take its invalidations
//! from the same store ([`invalidations_from`](crate::SessionCacheBuilder::invalidations_from)),
//! or a cached answer stands until the cache's TTL:
//!
//! ```
//! # use std::sync::Arc;
//! # use auth_runtime::revocation::{Revocable, Revocations};
//! # use auth_runtime::store::{MemoryStore, Store};
//! # use auth_runtime::{SessionCache, SessionTypes, Sessions, SigningKey};
//! # #[derive(SessionTypes, Debug, Clone, PartialEq)]
//! # enum AppSession { User { user_id: String } }
//! # fn demo(sessions: Sessions<AppSession>) {
//! let store: Arc<dyn Store> = Arc::new(MemoryStore::new()); // or a RedisStore, shared by a fleet
//! let revocations = Revocations::new(Arc::clone(&store));
//! let cache = SessionCache::builder(Revocable::new(sessions, revocations.clone()))
//!     .invalidations_from(store)
//!     .build();
//! # }
//! ```
//!
//! Sessions are revoked one by one ([`revoke`](Revocations::revoke), by `jti`) or all sessions
//! of a subject issued until now ([`revoke_subject`](Revocations::revoke_subject), by `sub` and
//! `iat`: "log me out everywhere", a locked account).

use crate::telemetry::event;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::HeaderMap;

use crate::clock::Clock;
use crate::cookie::CookieOptions;
use crate::store::contract::{Store, StoreError, shared};
use crate::store::events::Invalidation;
use crate::store::refresh_rotation::subject_record_revokes;
use crate::token::defaults::{DEFAULT_LIFETIME, MAX_LEEWAY};
use crate::verifier::{Authenticated, CacheKey, SessionVerifier, VerifierError};

/// The store key prefix of revoked session ids.
pub const REVOKED_PREFIX: &str = "revoked:";
/// The store key prefix of revoked subjects (the record holds the Unix second of the revocation).
pub const REVOKED_SUBJECT_PREFIX: &str = "revoked-sub:";

/// The list of ended sessions, by session id (`jti`, or a verifier's opaque id), kept in a
/// [`Store`]. Cheap to clone; clones share the store.
#[derive(Clone)]
pub struct Revocations {
    store: Arc<dyn Store>,
    clock: Clock,
    max_lifetime: Duration,
}

impl fmt::Debug for Revocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocations").finish_non_exhaustive()
    }
}

impl Revocations {
    /// Revocations kept in `store` (share it with the sign-in flows, or use its own).
    pub fn new(store: impl Store) -> Self {
        Revocations {
            store: shared(store),
            clock: Clock::system(),
            max_lifetime: DEFAULT_LIFETIME,
        }
    }

    /// The longest lifetime of the sessions checked ([`DEFAULT_LIFETIME`] by default): a
    /// subject's revocation is remembered that long (plus [`MAX_LEEWAY`]), by when every
    /// session issued before it has expired. Set it to the sessions' `lifetime` if longer.
    pub fn max_lifetime(mut self, max_lifetime: Duration) -> Self {
        self.max_lifetime = max_lifetime;
        self
    }

    /// Replaces the clock that turns an expiry into the record's time to live (for tests).
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Clock::custom(clock);
        self
    }

    /// Reads `clock` (the `Sessions`' own, for the revocations of refresh token families).
    pub(crate) fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Ends the session `session_id`. The record lives until `expires_at` (seconds since the Unix
    /// epoch) plus [`MAX_LEEWAY`] (the longest leeway any `Sessions` verifies with), after which
    /// the token fails on its own whatever the configuration; a session without an
    /// expiry is remembered for [`DEFAULT_LIFETIME`].
    ///
    /// Every instance sharing the store hears of it ([`Invalidation::Session`]) in the same step
    /// ([`Store::put_and_publish`]: one `MULTI`/`EXEC` on Redis, the record and the event or
    /// neither). `Ok` means both were done; on an error, report that the logout failed and let
    /// the person try again.
    pub async fn revoke(&self, session_id: &str, expires_at: Option<u64>) -> Result<(), RevocationError> {
        if session_id.is_empty() {
            return Err(RevocationError::NoSessionId);
        }
        let ttl = match expires_at {
            Some(expires_at) => {
                Duration::from_secs(expires_at.saturating_sub(self.now()?).saturating_add(1)) + MAX_LEEWAY
            }
            None => DEFAULT_LIFETIME,
        };
        // One step: the record and the event together, or neither (the logout then fails and
        // is tried again), never a record the other instances' caches did not hear of.
        let invalidation = Invalidation::Session(session_id.to_owned());
        self.store
            .put_and_publish(&key(REVOKED_PREFIX, session_id), Vec::new(), ttl, &invalidation)
            .await?;
        event!(info, REVOCATION, session_id, "session revoked");
        Ok(())
    }

    /// Ends every session of `subject` issued up to this second (by `iat`); sessions issued
    /// later pass. Sessions without `iat` are refused while the record lives. The record lives
    /// for [`max_lifetime`](Revocations::max_lifetime) plus [`MAX_LEEWAY`]; then every instance
    /// hears of it ([`Invalidation::Subject`]).
    pub async fn revoke_subject(&self, subject: &str) -> Result<(), RevocationError> {
        if subject.is_empty() {
            return Err(RevocationError::NoSubject);
        }
        let now = self.now()?;
        let ttl = self.max_lifetime + MAX_LEEWAY;
        let record = now.to_string().into_bytes();
        let invalidation = Invalidation::Subject(subject.to_owned());
        self.store
            .put_and_publish(&key(REVOKED_SUBJECT_PREFIX, subject), record, ttl, &invalidation)
            .await?;
        event!(info, REVOCATION, subject, "every session of the subject revoked");
        Ok(())
    }

    /// Whether `session_id` was revoked (and its record has not expired).
    pub async fn is_revoked(&self, session_id: &str) -> Result<bool, StoreError> {
        Ok(self.store.get(&key(REVOKED_PREFIX, session_id)).await?.is_some())
    }

    /// Whether a session of `subject` issued at `issued_at` (Unix seconds) was revoked with
    /// [`revoke_subject`](Revocations::revoke_subject). A session issued in the same second as
    /// the revocation counts as revoked (the clock cannot tell which came first).
    pub async fn is_subject_revoked(&self, subject: &str, issued_at: Option<u64>) -> Result<bool, StoreError> {
        let Some(record) = self.store.get(&key(REVOKED_SUBJECT_PREFIX, subject)).await? else {
            return Ok(false);
        };
        Ok(subject_record_revokes(&record, issued_at))
    }

    /// Whether the session `session_id` of `subject`, issued at `issued_at`, was revoked, by
    /// id or with its subject: both records read in one store call (one `MGET` on Redis, one
    /// round trip per cache miss).
    pub async fn is_session_revoked(
        &self,
        session_id: &str,
        subject: Option<&str>,
        issued_at: Option<u64>,
    ) -> Result<bool, StoreError> {
        let mut keys = vec![key(REVOKED_PREFIX, session_id)];
        if let Some(subject) = subject {
            keys.push(key(REVOKED_SUBJECT_PREFIX, subject));
        }
        let records = self.store.get_many(&keys).await?;
        if records.first().is_some_and(Option::is_some) {
            return Ok(true);
        }
        Ok(match records.get(1) {
            Some(Some(record)) => subject_record_revokes(record, issued_at),
            _ => false,
        })
    }

    fn now(&self) -> Result<u64, RevocationError> {
        self.clock.unix_seconds().map_err(|_| RevocationError::Clock)
    }
}

/// The store key for a session id or subject: ids made of URL-safe characters are used as they
/// are (our `jti`s are), others are hex-encoded so no id can reach into another record's key.
pub(crate) fn key(prefix: &str, id: &str) -> String {
    let plain = id.len() <= 128
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if plain {
        format!("{prefix}{id}")
    } else {
        let mut key = format!("{prefix}x:");
        for byte in id.bytes() {
            key.push_str(&format!("{byte:02x}"));
        }
        key
    }
}

/// Why a session could not be revoked. The session is then still valid: report the failure
/// rather than telling the person they are logged out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// The session has no id to revoke it by.
    #[error("the session has no id (`jti`), so it cannot be revoked")]
    NoSessionId,
    /// An empty subject.
    #[error("the subject is empty")]
    NoSubject,
    /// The system clock reads before 1970.
    #[error("the system clock is before 1970")]
    Clock,
    /// The store did not record it.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A verifier whose every accepted session is also checked against [`Revocations`].
///
/// A session is refused when its id was revoked, or its subject was revoked after it was issued.
/// Fails closed: a session without an id (which could never be revoked) is refused, and a store
/// that cannot answer makes the request fail with
/// [`BackendUnavailable`](VerifierError::BackendUnavailable) (503), never pass unchecked.
#[derive(Debug, Clone)]
pub struct Revocable<V> {
    inner: V,
    revocations: Revocations,
}

impl<V> Revocable<V> {
    /// `inner`'s answers, minus revoked sessions.
    pub fn new(inner: V, revocations: Revocations) -> Self {
        Revocable { inner, revocations }
    }

    /// The wrapped verifier.
    pub fn inner(&self) -> &V {
        &self.inner
    }

    /// The revocation list it checks.
    pub fn revocations(&self) -> &Revocations {
        &self.revocations
    }
}

impl<V: SessionVerifier> SessionVerifier for Revocable<V> {
    type Session = V::Session;
    type Output = Authenticated<V::Session>;

    async fn verify_session(&self, token: &str, headers: &HeaderMap) -> Result<Self::Output, VerifierError> {
        let output = self.inner.verify_session(token, headers).await?;
        let authenticated = self.inner.map_session(output)?;
        let Some(session_id) = authenticated.session_id.as_deref() else {
            return Err(VerifierError::failed(RevocationError::NoSessionId));
        };
        let revoked = self
            .revocations
            .is_session_revoked(session_id, authenticated.subject.as_deref(), authenticated.issued_at)
            .await;
        match revoked {
            Ok(false) => Ok(authenticated),
            Ok(true) => Err(VerifierError::failed(Revoked)),
            Err(error) => Err(VerifierError::unavailable(error)),
        }
    }

    fn map_session(
        &self,
        authenticated: Authenticated<V::Session>,
    ) -> Result<Authenticated<V::Session>, VerifierError> {
        Ok(authenticated)
    }

    fn cache_key(&self) -> CacheKey {
        self.inner.cache_key()
    }

    fn issued_cookie(&self) -> Option<&CookieOptions> {
        self.inner.issued_cookie()
    }
}

/// The verification failure of a revoked session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("session revoked")]
pub struct Revoked;

impl Revoked {
    /// Whether `error`, or any error in its source chain, is [`Revoked`].
    pub fn is(error: &(dyn StdError + 'static)) -> bool {
        let mut current = Some(error);
        while let Some(error) = current {
            if error.is::<Revoked>() {
                return true;
            }
            current = error.source();
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_reach_other_records() {
        let key = |id| key(REVOKED_PREFIX, id);
        assert_eq!(key("AbC-_9"), "revoked:AbC-_9");
        assert_eq!(key("a:b"), "revoked:x:613a62");
        assert_eq!(key("x:61"), "revoked:x:783a3631");
        assert_ne!(key("x:61"), key("a"));
        assert!(key(&"a".repeat(129)).starts_with("revoked:x:"));
    }
}
