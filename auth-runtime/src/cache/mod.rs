//! The verified-session cache, in front of any [`SessionVerifier`].
//!
//! - Keyed by the SHA-256 of the token (and of the headers the verifier declares it reads, see
//!   [`CacheKey`]); never by a truncation, so two tokens never share an entry. In front of it, a
//!   few slots remember the last tokens seen by their exact bytes (not for keys with headers), so
//!   the hottest sessions are served without hashing; any invalidation retires every slot.
//! - Only successes are stored. Failures, backend errors included, go back to the caller and the
//!   next request asks the verifier again (fail closed, no negative caching an attacker could fill).
//! - An entry lives for the configured TTL or until the session's own expiry, whichever is first,
//!   and the expiry is checked again on every hit against the cache's clock.
//! - Bounded: at most `capacity` entries, least recently used evicted first (moka's TinyLFU).
//! - Concurrent misses for one key are coalesced: one verifier call, every waiter gets its answer.
//! - Invalidation by token, by subject (`sub`), by session id (`jti`), or all at once after a
//!   key rotation; and, with [`invalidations_from`](SessionCacheBuilder::invalidations_from), by
//!   the events every instance publishes through a shared [`Store`]. While that subscription is
//!   interrupted the cache serves nothing from memory: every request asks the verifier.

mod builder;
mod follow;
mod hot;
mod index;
mod stats;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::HeaderMap;
use sha2::{Digest, Sha256};

use self::follow::Follow;
use self::hot::Hot;
pub(crate) use self::hot::{SessionHandle, Verified};
use self::index::{Entries, Entry, Key, SharedIndex, flag, lock};
use self::stats::Counters;
use crate::clock::Clock;
use crate::telemetry::event;
use crate::verifier::{Authenticated, SessionVerifier, VerifierError};

pub use self::builder::SessionCacheBuilder;
pub use self::stats::CacheStats;
pub(crate) use self::stats::Outcome;

/// A verification's answer, and how it was answered.
pub(crate) type Observed<S> = (Result<Arc<Authenticated<S>>, Arc<VerifierError>>, Outcome);

/// The default time a verified session is kept: one minute, so a revocation in the backend takes
/// effect within a minute even without an explicit invalidation.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);
/// The default number of cached sessions.
pub const DEFAULT_CACHE_CAPACITY: u64 = 10_000;

/// A [`SessionVerifier`] with a cache in front; cheap to clone.
pub struct SessionCache<V: SessionVerifier> {
    counters: Arc<Counters>,
    verifier: Arc<V>,
    entries: Option<Entries<V::Session>>,
    index: SharedIndex<V::Session>,
    /// Headers that join the key: the verifier's `CacheKey::TokenAndHeaders`, read once at build.
    key_headers: Arc<[http::HeaderName]>,
    ttl: Duration,
    clock: Clock,
    follow: Option<Arc<Follow>>,
    /// The last tokens seen, by their exact bytes (see `hot.rs`); `None` when the key has headers.
    hot: Option<Arc<Hot<V::Session>>>,
}

impl<V: SessionVerifier> Clone for SessionCache<V> {
    fn clone(&self) -> Self {
        SessionCache {
            counters: Arc::clone(&self.counters),
            verifier: Arc::clone(&self.verifier),
            entries: self.entries.clone(),
            index: Arc::clone(&self.index),
            key_headers: Arc::clone(&self.key_headers),
            ttl: self.ttl,
            clock: self.clock.clone(),
            follow: self.follow.clone(),
            hot: self.hot.clone(),
        }
    }
}

impl<V: SessionVerifier> SessionCache<V> {
    /// The verifier behind the cache.
    pub fn verifier(&self) -> &V {
        &self.verifier
    }

    /// Verifies `token`, from the cache when a live entry exists.
    pub async fn verify(
        &self,
        token: &str,
        headers: &HeaderMap,
    ) -> Result<Arc<Authenticated<V::Session>>, Arc<VerifierError>> {
        self.verify_observed(token, headers).await.0
    }

    /// [`verify`](Self::verify), and how it was answered.
    pub(crate) async fn verify_observed(&self, token: &str, headers: &HeaderMap) -> Observed<V::Session> {
        self.verify_through(token, headers, true).await
    }

    /// [`verify_observed`](Self::verify_observed) for a token [`verify_hot`](Self::verify_hot)
    /// has just missed: the cache proper, without looking in the hot slots a second time.
    pub(crate) async fn verify_past_hot(&self, token: &str, headers: &HeaderMap) -> Observed<V::Session> {
        self.verify_through(token, headers, false).await
    }

    async fn verify_through(&self, token: &str, headers: &HeaderMap, try_hot: bool) -> Observed<V::Session> {
        let Some(entries) = self.entries.as_ref().filter(|_| self.is_live()) else {
            self.counters.uncached.fetch_add(1, Ordering::Relaxed);
            return (
                self.verify_uncached(token, headers).await.map_err(Arc::new),
                Outcome::Uncached,
            );
        };
        let (epoch, generation) = (self.hot.as_ref().map_or(0, |hot| hot.epoch()), self.generation());
        if try_hot && let Some(verified) = self.hot_hit(token, generation) {
            return (Ok(Arc::clone(&verified.authenticated)), Outcome::Hit);
        }
        let key = self.key(token, headers);
        // The hit path is a plain lookup; the coalescing miss path (a much larger future) is boxed,
        // so a hit neither builds nor moves it.
        if let Some(entry) = entries.get(&key).await {
            if entry.confirmed.load(Ordering::Acquire)
                && !entry.invalidated.load(Ordering::Acquire)
                && self.now() < entry.valid_until
            {
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                if let Some(hot) = &self.hot {
                    hot.put(token, &entry, epoch, generation);
                }
                return (Ok(Arc::clone(&entry.authenticated)), Outcome::Hit);
            }
            if entry.invalidated.load(Ordering::Acquire) {
                // Named by an invalidation: out of the cache, then asked afresh below.
                entries.invalidate(&key).await;
            }
        }
        Box::pin(self.verify_miss(entries, key, token, headers)).await
    }

    /// The session for `token` when the hot slots answer it (a hit, counted as one), without
    /// waiting on anything: the layer's synchronous path. With it, the slot's shared copy of the
    /// token, which the request can carry on without copying it. `None` sends the caller to
    /// [`verify_observed`](Self::verify_observed), which asks the cache proper.
    pub(crate) fn verify_hot(&self, token: &str) -> Option<SessionHandle<V::Session>> {
        self.entries.as_ref().filter(|_| self.is_live())?;
        self.hot_hit(token, self.generation())
    }

    fn hot_hit(&self, token: &str, generation: u64) -> Option<SessionHandle<V::Session>> {
        self.hot.as_ref()?.get(token, generation, || self.now())
    }

    /// A miss, an entry past its expiry, or one not yet confirmed: concurrent misses for one key
    /// share one verifier call.
    async fn verify_miss(
        &self,
        entries: &Entries<V::Session>,
        key: Key,
        token: &str,
        headers: &HeaderMap,
    ) -> Observed<V::Session> {
        // The invalidation generation as this request comes to the verifier. Read here rather than
        // on the hit path: reading later can only count more invalidations as before the request,
        // which sends it to the verifier afresh, never serves it an older answer.
        let started = self.generation();
        let asked = AtomicBool::new(false);
        let entry = entries
            .try_get_with(key, async {
                asked.store(true, Ordering::Relaxed);
                let generation = self.generation();
                let authenticated = self.verify_uncached(token, headers).await?;
                let entry = self.entry(token, authenticated, generation);
                // Indexed before the cache shows it: an invalidation from here on finds it.
                lock(&self.index).add(&entry);
                Ok::<_, VerifierError>(entry)
            })
            .await;
        let outcome = if asked.load(Ordering::Relaxed) {
            self.counters.misses.fetch_add(1, Ordering::Relaxed);
            Outcome::Miss
        } else {
            self.counters.coalesced.fetch_add(1, Ordering::Relaxed);
            Outcome::Coalesced
        };
        (self.settle(entries, key, started, token, headers, entry).await, outcome)
    }

    /// A verification's entry, served only if no invalidation overlapped it and it is not past
    /// its expiry; otherwise the verifier is asked afresh.
    async fn settle(
        &self,
        entries: &Entries<V::Session>,
        key: Key,
        started: u64,
        token: &str,
        headers: &HeaderMap,
        entry: Result<Arc<Entry<V::Session>>, Arc<VerifierError>>,
    ) -> Result<Arc<Authenticated<V::Session>>, Arc<VerifierError>> {
        let entry = entry?;
        if entry.invalidated.load(Ordering::Acquire) {
            // An invalidation named this session while it was being verified (or before this
            // request joined): never served; the verifier decides afresh, uncached.
            entries.invalidate(&key).await;
            return self.verify_uncached(token, headers).await.map_err(Arc::new);
        }
        if !entry.confirmed.load(Ordering::Acquire) {
            if entry.generation == self.generation() && self.is_live() {
                // No invalidation since the verifier was asked: from now on hits may serve it. An
                // event landing after this check still finds the entry in the cache and drops it.
                entry.confirmed.store(true, Ordering::Release);
            } else {
                // An invalidation arrived while the verifier was asked (it may have been this
                // very session's revocation, written after the verifier looked), or the
                // subscription dropped: the answer is never served from the cache.
                entries.invalidate(&key).await;
                if entry.generation < started {
                    // And this request began after that invalidation (it joined a verification
                    // already under way, or found the entry before its confirmation): the answer
                    // predates it, so the verifier is asked afresh.
                    return self.verify_uncached(token, headers).await.map_err(Arc::new);
                }
                // Otherwise the verification began with this request, which overlapped the
                // event: the answer stands for it, but not for any other.
            }
        }
        if self.now() < entry.valid_until {
            return Ok(Arc::clone(&entry.authenticated));
        }
        // Past its expiry by our clock (moka's timer may lag it, or it was accepted inside the
        // verifier's leeway): never served from the cache; the verifier decides afresh, uncached.
        entries.invalidate(&key).await;
        self.verify_uncached(token, headers).await.map_err(Arc::new)
    }

    /// Forgets the cached session of `token`, however the verifier keyed it.
    pub fn invalidate_token(&self, token: &str) {
        self.count_invalidation("token");
        let token_hash: Key = Sha256::digest(token.as_bytes()).into();
        flag(lock(&self.index).by_token.get(&token_hash));
    }

    /// Forgets every cached session of one subject (`sub`): after a password change, say.
    pub fn invalidate_subject(&self, subject: &str) {
        self.count_invalidation("subject");
        flag(lock(&self.index).by_subject.get(subject));
    }

    /// Forgets the cached session with this id (`jti`, or the verifier's opaque id): after logout.
    pub fn invalidate_session_id(&self, session_id: &str) {
        self.count_invalidation("session_id");
        flag(lock(&self.index).by_session.get(session_id));
    }

    /// Forgets everything: after a signing key is retired, say.
    pub fn invalidate_all(&self) {
        self.count_invalidation("all");
        if let Some(entries) = &self.entries {
            entries.invalidate_all();
        }
    }

    /// How many sessions are cached, after pending evictions are applied.
    pub async fn entry_count(&self) -> u64 {
        match &self.entries {
            Some(entries) => {
                entries.run_pending_tasks().await;
                entries.entry_count()
            }
            None => 0,
        }
    }

    fn count_invalidation(&self, by: &'static str) {
        if let Some(hot) = &self.hot {
            hot.invalidate();
        }
        self.counters.invalidations.fetch_add(1, Ordering::Relaxed);
        event!(debug, CACHE, by, "cache invalidated");
        let _ = by;
    }

    async fn verify_uncached(
        &self,
        token: &str,
        headers: &HeaderMap,
    ) -> Result<Arc<Authenticated<V::Session>>, VerifierError> {
        self.counters.verifier_calls.fetch_add(1, Ordering::Relaxed);
        let result = match self.verifier.verify_session(token, headers).await {
            Ok(output) => self.verifier.map_session(output).map(Arc::new),
            Err(error) => Err(error),
        };
        match &result {
            Ok(_) => {}
            Err(VerifierError::BackendUnavailable(_)) => {
                self.counters.unavailable.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }

    /// Whether the cache may serve from memory: always, unless it follows a store whose
    /// subscription is not live.
    fn is_live(&self) -> bool {
        self.follow
            .as_ref()
            .is_none_or(|follow| follow.watch.live.load(Ordering::Acquire))
    }

    fn generation(&self) -> u64 {
        self.follow
            .as_ref()
            .map_or(0, |follow| follow.watch.generation.load(Ordering::Acquire))
    }

    fn entry(
        &self,
        token: &str,
        authenticated: Arc<Authenticated<V::Session>>,
        generation: u64,
    ) -> Arc<Entry<V::Session>> {
        let now = self.now();
        let by_ttl = now.saturating_add(self.ttl.as_secs().max(1));
        let valid_until = authenticated
            .expires_at
            .map_or(by_ttl, |expires_at| expires_at.min(by_ttl));
        Arc::new(Entry {
            authenticated,
            token_hash: Sha256::digest(token.as_bytes()).into(),
            valid_until,
            time_to_live: Duration::from_secs(valid_until.saturating_sub(now)),
            generation,
            confirmed: AtomicBool::new(false),
            invalidated: AtomicBool::new(false),
        })
    }

    fn key(&self, token: &str, headers: &HeaderMap) -> Key {
        let mut hasher = Sha256::new();
        hasher.update(token.as_bytes());
        for name in self.key_headers.iter() {
            // Separators and lengths keep ("ab","c") and ("a","bc") apart.
            for value in headers.get_all(name) {
                hasher.update([0u8]);
                hasher.update((value.len() as u64).to_be_bytes());
                hasher.update(value.as_bytes());
            }
            hasher.update([1u8]);
        }
        hasher.finalize().into()
    }

    /// Now, by the cache's clock, in Unix seconds.
    pub(crate) fn now(&self) -> u64 {
        // A clock before 1970 reads as the end of time: every entry counts as expired (fail closed).
        self.clock.unix_seconds().unwrap_or(u64::MAX)
    }
}
