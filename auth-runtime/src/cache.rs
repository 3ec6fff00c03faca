//! The verified-session cache, in front of any [`SessionVerifier`].
//!
//! - Keyed by the SHA-256 of the token (and of the headers the verifier declares it reads, see
//!   [`CacheKey`]); never by a truncation, so two tokens never share an entry.
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

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime};

use http::HeaderMap;
use moka::Expiry;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::store::contract::Store;
use crate::store::events::{Invalidation, StoreEvent, Subscription};
use crate::telemetry::event;
use crate::verifier::{Authenticated, CacheKey, SessionVerifier, VerifierError};

/// The default time a verified session is kept: one minute, so a revocation in the backend takes
/// effect within a minute even without an explicit invalidation.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);
/// The default number of cached sessions.
pub const DEFAULT_CACHE_CAPACITY: u64 = 10_000;

type Key = [u8; 32];

struct Entry<S> {
    authenticated: Arc<Authenticated<S>>,
    /// SHA-256 of the token alone, for invalidation by token whatever else the key holds.
    token_hash: Key,
    /// Unix seconds after which the entry must not be served.
    valid_until: u64,
    /// How long moka keeps it, computed from `valid_until` when it was inserted.
    time_to_live: Duration,
    /// The invalidation generation when the verifier was asked: an event after that may have
    /// been meant for this answer.
    generation: u64,
    /// Set once a request has seen that no invalidation came since the verifier was asked. Until
    /// then a hit does not serve the entry (moka makes it visible the moment it is inserted,
    /// before anyone could compare generations).
    confirmed: AtomicBool,
    /// Set by an invalidation that names this entry (through the [`Index`]): never served again;
    /// the next request for its key removes it and asks the verifier.
    invalidated: AtomicBool,
}

/// The live entries by session id, subject and token, so that an invalidation flags exactly the
/// entries it names (work proportional to them) instead of registering a predicate the cache
/// runs over every entry. Bounded with the cache: an entry leaves the index when it leaves the
/// cache (the eviction listener), and holds it only weakly.
struct Index<S> {
    by_session: HashMap<String, Vec<Weak<Entry<S>>>>,
    by_subject: HashMap<String, Vec<Weak<Entry<S>>>>,
    by_token: HashMap<Key, Vec<Weak<Entry<S>>>>,
}

type SharedIndex<S> = Arc<Mutex<Index<S>>>;

impl<S> Default for Index<S> {
    fn default() -> Self {
        Index {
            by_session: HashMap::new(),
            by_subject: HashMap::new(),
            by_token: HashMap::new(),
        }
    }
}

impl<S> Index<S> {
    fn add(&mut self, entry: &Arc<Entry<S>>) {
        let weak = Arc::downgrade(entry);
        if let Some(id) = &entry.authenticated.session_id {
            self.by_session.entry(id.clone()).or_default().push(weak.clone());
        }
        if let Some(subject) = &entry.authenticated.subject {
            self.by_subject.entry(subject.clone()).or_default().push(weak.clone());
        }
        self.by_token.entry(entry.token_hash).or_default().push(weak);
    }

    fn remove(&mut self, entry: &Arc<Entry<S>>) {
        fn forget<K: std::hash::Hash + Eq, S>(
            map: &mut HashMap<K, Vec<Weak<Entry<S>>>>,
            key: &K,
            entry: &Arc<Entry<S>>,
        ) {
            if let Some(list) = map.get_mut(key) {
                list.retain(|weak| !std::ptr::eq(weak.as_ptr(), Arc::as_ptr(entry)) && weak.strong_count() > 0);
                if list.is_empty() {
                    map.remove(key);
                }
            }
        }
        if let Some(id) = &entry.authenticated.session_id {
            forget(&mut self.by_session, id, entry);
        }
        if let Some(subject) = &entry.authenticated.subject {
            forget(&mut self.by_subject, subject, entry);
        }
        forget(&mut self.by_token, &entry.token_hash, entry);
    }
}

/// Flags every entry of `list` as invalidated.
fn flag<S>(list: Option<&Vec<Weak<Entry<S>>>>) {
    for entry in list.into_iter().flatten().filter_map(Weak::upgrade) {
        entry.invalidated.store(true, Ordering::Release);
    }
}

fn lock<S>(index: &Mutex<Index<S>>) -> std::sync::MutexGuard<'_, Index<S>> {
    // Every change to the index is one call that cannot leave it half-written.
    index.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a cache following a store's events knows of them.
#[derive(Default)]
struct Watch {
    /// Whether the subscription is live; while it is not, nothing is served from or kept in memory.
    live: AtomicBool,
    /// Counts invalidation events; a verification that overlapped one is not kept.
    generation: AtomicU64,
}

/// The store subscription of a following cache; unsubscribes when the last clone goes.
struct Follow {
    watch: Arc<Watch>,
    _subscription: Subscription,
}

struct EntryExpiry;

impl<S> Expiry<Key, Arc<Entry<S>>> for EntryExpiry {
    fn expire_after_create(&self, _key: &Key, entry: &Arc<Entry<S>>, _created_at: Instant) -> Option<Duration> {
        Some(entry.time_to_live)
    }
}

/// How a verification was answered, for the layer's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// From a cached entry.
    Hit,
    /// This request asked the verifier.
    Miss,
    /// Another request's verifier call answered this one too.
    Coalesced,
    /// No cache (disabled, or not following its store's events): the verifier was asked.
    Uncached,
}

impl Outcome {
    #[cfg_attr(not(feature = "tracing"), allow(dead_code, reason = "only events show it"))]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Coalesced => "coalesced",
            Outcome::Uncached => "uncached",
        }
    }
}

/// The counters of a cache, shared by its clones.
#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    coalesced: AtomicU64,
    uncached: AtomicU64,
    invalidations: AtomicU64,
    verifier_calls: AtomicU64,
    refused: AtomicU64,
    unavailable: AtomicU64,
}

/// A snapshot of a cache's counters since it was built: for a metrics exporter to read on its
/// own schedule (no metrics library needed). Counters only grow; `entries` is the current size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Requests answered from a cached entry.
    pub hits: u64,
    /// Requests that asked the verifier (and, on success, filled an entry).
    pub misses: u64,
    /// Requests that waited for another request's verifier call for the same token.
    pub coalesced: u64,
    /// Requests that asked the verifier with no cache in between (caching off, or a cache whose
    /// store subscription was not live).
    pub uncached: u64,
    /// Invalidations applied: explicit calls and the store's events.
    pub invalidations: u64,
    /// Calls to the verifier.
    pub verifier_calls: u64,
    /// Verifier calls that refused the credential (`MissingCredentials`, `VerificationFailed`).
    pub verifier_refused: u64,
    /// Verifier calls whose backend could not answer (`BackendUnavailable`).
    pub verifier_unavailable: u64,
    /// Entries cached now (moka's count, which may lag pending evictions).
    pub entries: u64,
}

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
        }
    }
}

/// Configures a [`SessionCache`].
pub struct SessionCacheBuilder<V> {
    verifier: V,
    ttl: Duration,
    capacity: u64,
    clock: Clock,
    store: Option<Arc<dyn Store>>,
}

impl<V: SessionVerifier> SessionCacheBuilder<V> {
    /// How long a verified session is kept at most; one minute by default. Zero disables caching.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How many sessions are kept at most; 10 000 by default.
    pub fn capacity(mut self, capacity: u64) -> Self {
        self.capacity = capacity;
        self
    }

    /// Replaces the system clock used to check expiry on each hit (for tests).
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Clock::custom(clock);
        self
    }

    /// Takes invalidations from `store`'s events ([`Store::subscribe`]): an entry is dropped when
    /// any instance sharing the store publishes its session id, its subject, or `All`.
    ///
    /// Until the store reports its subscription live, and whenever it reports it interrupted,
    /// the cache serves nothing from memory and keeps nothing (every request asks the verifier),
    /// so an invalidation it might have missed cannot leave a revoked session served. When the
    /// subscription comes back, everything cached before is dropped. A store without events
    /// (the trait's default) is never live.
    pub fn invalidations_from(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Builds the cache.
    pub fn build(self) -> SessionCache<V> {
        let rule = self.verifier.cache_key();
        let cacheable = rule != CacheKey::Uncached && !self.ttl.is_zero() && self.capacity > 0;
        let key_headers: Arc<[http::HeaderName]> = match rule {
            CacheKey::TokenAndHeaders(names) => names.into(),
            _ => Arc::new([]),
        };
        let index: SharedIndex<V::Session> = Arc::default();
        let entries = cacheable.then(|| {
            let leaving = Arc::clone(&index);
            moka::future::Cache::builder()
                .max_capacity(self.capacity)
                .expire_after(EntryExpiry)
                .eviction_listener(move |_key, entry: Arc<Entry<V::Session>>, _cause| {
                    lock(&leaving).remove(&entry);
                })
                .build()
        });
        let counters = Arc::new(Counters::default());
        let follow = match (&entries, &self.store) {
            (Some(entries), Some(store)) => Some(Arc::new(follow(
                store.as_ref(),
                entries.clone(),
                Arc::clone(&index),
                Arc::clone(&counters),
            ))),
            _ => None,
        };
        SessionCache {
            counters,
            verifier: Arc::new(self.verifier),
            entries,
            index,
            key_headers,
            ttl: self.ttl,
            clock: self.clock,
            follow,
        }
    }
}

type Entries<S> = moka::future::Cache<Key, Arc<Entry<S>>>;

/// Subscribes `entries` to `store`'s events.
fn follow<S: Send + Sync + 'static>(
    store: &dyn Store,
    entries: Entries<S>,
    index: SharedIndex<S>,
    counters: Arc<Counters>,
) -> Follow {
    let watch = Arc::new(Watch::default());
    let listener_watch = Arc::clone(&watch);
    let subscription = store.subscribe(Arc::new(move |event: &StoreEvent| {
        let watch = &listener_watch;
        watch.generation.fetch_add(1, Ordering::AcqRel);
        counters.invalidations.fetch_add(1, Ordering::Relaxed);
        event!(debug, CACHE, event = event.kind(), "store event applied to the cache");
        match event {
            StoreEvent::Invalidate(Invalidation::Session(id)) => flag(lock(&index).by_session.get(id)),
            StoreEvent::Invalidate(Invalidation::Subject(subject)) => flag(lock(&index).by_subject.get(subject)),
            StoreEvent::Subscribed => {
                // Whatever was published while nobody listened is unknown: start afresh.
                entries.invalidate_all();
                watch.live.store(true, Ordering::Release);
            }
            // `Interrupted`, `All`, and any event kind added later: forget everything.
            _ => {
                if *event == StoreEvent::Interrupted {
                    watch.live.store(false, Ordering::Release);
                }
                entries.invalidate_all();
            }
        }
    }));
    Follow {
        watch,
        _subscription: subscription,
    }
}

impl<V: SessionVerifier> SessionCache<V> {
    /// A cache in front of `verifier`, with the defaults (one minute, 10 000 entries).
    pub fn new(verifier: V) -> Self {
        Self::builder(verifier).build()
    }

    /// Configures a cache in front of `verifier`.
    pub fn builder(verifier: V) -> SessionCacheBuilder<V> {
        SessionCacheBuilder {
            verifier,
            ttl: DEFAULT_CACHE_TTL,
            capacity: DEFAULT_CACHE_CAPACITY,
            clock: Clock::system(),
            store: None,
        }
    }

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
    pub(crate) async fn verify_observed(
        &self,
        token: &str,
        headers: &HeaderMap,
    ) -> (Result<Arc<Authenticated<V::Session>>, Arc<VerifierError>>, Outcome) {
        let Some(entries) = self.entries.as_ref().filter(|_| self.is_live()) else {
            self.counters.uncached.fetch_add(1, Ordering::Relaxed);
            return (
                self.verify_uncached(token, headers).await.map_err(Arc::new),
                Outcome::Uncached,
            );
        };
        let key = self.key(token, headers);
        // The hit path is a plain lookup; the coalescing miss path (a much larger future) is boxed,
        // so a hit neither builds nor moves it.
        if let Some(entry) = entries.get(&key).await {
            if entry.confirmed.load(Ordering::Acquire)
                && !entry.invalidated.load(Ordering::Acquire)
                && self.now() < entry.valid_until
            {
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                return (Ok(Arc::clone(&entry.authenticated)), Outcome::Hit);
            }
            if entry.invalidated.load(Ordering::Acquire) {
                // Named by an invalidation: out of the cache, then asked afresh below.
                entries.invalidate(&key).await;
            }
        }
        Box::pin(self.verify_miss(entries, key, token, headers)).await
    }

    /// The cache's counters since it was built, and its current size.
    pub fn stats(&self) -> CacheStats {
        let counters = &*self.counters;
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CacheStats {
            hits: read(&counters.hits),
            misses: read(&counters.misses),
            coalesced: read(&counters.coalesced),
            uncached: read(&counters.uncached),
            invalidations: read(&counters.invalidations),
            verifier_calls: read(&counters.verifier_calls),
            verifier_refused: read(&counters.refused),
            verifier_unavailable: read(&counters.unavailable),
            entries: self.entries.as_ref().map_or(0, moka::future::Cache::entry_count),
        }
    }

    /// A miss, an entry past its expiry, or one not yet confirmed: concurrent misses for one key
    /// share one verifier call.
    async fn verify_miss(
        &self,
        entries: &Entries<V::Session>,
        key: Key,
        token: &str,
        headers: &HeaderMap,
    ) -> (Result<Arc<Authenticated<V::Session>>, Arc<VerifierError>>, Outcome) {
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
