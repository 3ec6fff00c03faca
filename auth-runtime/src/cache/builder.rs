//! Configuring a [`SessionCache`]: its TTL, capacity, clock and the store whose events it follows.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::follow::follow;
use super::hot::Hot;
use super::index::{Entry, EntryExpiry, SharedIndex, lock};
use super::stats::Counters;
use super::{DEFAULT_CACHE_CAPACITY, DEFAULT_CACHE_TTL, SessionCache};
use crate::clock::Clock;
use crate::store::contract::{Store, shared};
use crate::verifier::{CacheKey, SessionVerifier};

/// Configures a [`SessionCache`].
pub struct SessionCacheBuilder<V> {
    pub(super) verifier: V,
    pub(super) ttl: Duration,
    pub(super) capacity: u64,
    pub(super) clock: Clock,
    pub(super) store: Option<Arc<dyn Store>>,
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
    pub fn invalidations_from(mut self, store: impl Store) -> Self {
        self.store = Some(shared(store));
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
        // The hot slots compare tokens alone: not for a key that joins headers.
        let hot = (entries.is_some() && key_headers.is_empty()).then(|| Arc::new(Hot::new()));
        SessionCache {
            hot,
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
}
