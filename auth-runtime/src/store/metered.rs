//! [`MeteredStore`]: any [`Store`] with every call counted and timed, for a metrics exporter to
//! read ([`MeteredStore::stats`]), and a warning event for every call that fails (a timeout
//! included). Keys and values never appear in an event: a key can hold a flow's id.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::contract::{Store, StoreFuture};
use super::events::{Invalidation, Listener, Subscription};
use super::refresh_rotation::{RefreshRotation, RotationOutcome};
use crate::telemetry::event;

/// The operations of a [`Store`], as [`StoreStats`] and events name them.
#[cfg_attr(not(feature = "tracing"), allow(dead_code, reason = "only events name operations"))]
const OPERATIONS: [&str; 10] = [
    "put",
    "put_new",
    "get",
    "take",
    "increment",
    "remove",
    "publish",
    "get_many",
    "put_and_publish",
    "rotate_refresh",
];

#[derive(Default)]
struct Counter {
    calls: AtomicU64,
    errors: AtomicU64,
    total_micros: AtomicU64,
    max_micros: AtomicU64,
}

/// What one kind of store call did since the store was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationStats {
    /// Calls made.
    pub calls: u64,
    /// Calls that returned an error (a timeout, a store that is down, a full store).
    pub errors: u64,
    /// Time spent in all calls together.
    pub total: Duration,
    /// The longest call.
    pub max: Duration,
}

impl OperationStats {
    /// The mean time of a call; zero before the first.
    pub fn mean(&self) -> Duration {
        match u32::try_from(self.calls) {
            Ok(calls) if calls > 0 => self.total / calls,
            _ => Duration::ZERO,
        }
    }
}

/// A snapshot of a [`MeteredStore`]'s counters, by operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// [`Store::put`].
    pub put: OperationStats,
    /// [`Store::put_new`].
    pub put_new: OperationStats,
    /// [`Store::get`].
    pub get: OperationStats,
    /// [`Store::take`].
    pub take: OperationStats,
    /// [`Store::increment`].
    pub increment: OperationStats,
    /// [`Store::remove`].
    pub remove: OperationStats,
    /// [`Store::publish`].
    pub publish: OperationStats,
    /// [`Store::get_many`].
    pub get_many: OperationStats,
    /// [`Store::put_and_publish`].
    pub put_and_publish: OperationStats,
    /// [`Store::rotate_refresh`].
    pub rotate_refresh: OperationStats,
}

/// `store` with every call counted and timed; clones share the counters, so keep one to read
/// [`stats`](Self::stats) and hand another to the app:
///
/// ```
/// use std::sync::Arc;
/// use auth_runtime::store::{MemoryStore, MeteredStore, Store};
///
/// let metered = MeteredStore::new(MemoryStore::new());
/// let store: Arc<dyn Store> = Arc::new(metered.clone());
/// // ... later, from a metrics exporter:
/// let gets = metered.stats().get;
/// println!("{} gets, {:?} on average", gets.calls, gets.mean());
/// # let _ = store;
/// ```
pub struct MeteredStore<S> {
    inner: Arc<S>,
    counters: Arc<[Counter; 10]>,
}

impl<S> Clone for MeteredStore<S> {
    fn clone(&self) -> Self {
        MeteredStore {
            inner: Arc::clone(&self.inner),
            counters: Arc::clone(&self.counters),
        }
    }
}

impl<S> std::fmt::Debug for MeteredStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeteredStore").field("stats", &self.stats()).finish()
    }
}

impl<S> MeteredStore<S> {
    /// Counts and times every call to `store`.
    pub fn new(store: S) -> Self {
        MeteredStore {
            inner: Arc::new(store),
            counters: Arc::new(Default::default()),
        }
    }

    /// The store inside.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The counters since the store was built.
    pub fn stats(&self) -> StoreStats {
        let read = |index: usize| {
            let counter = &self.counters[index];
            OperationStats {
                calls: counter.calls.load(Ordering::Relaxed),
                errors: counter.errors.load(Ordering::Relaxed),
                total: Duration::from_micros(counter.total_micros.load(Ordering::Relaxed)),
                max: Duration::from_micros(counter.max_micros.load(Ordering::Relaxed)),
            }
        };
        StoreStats {
            put: read(0),
            put_new: read(1),
            get: read(2),
            take: read(3),
            increment: read(4),
            remove: read(5),
            publish: read(6),
            get_many: read(7),
            put_and_publish: read(8),
            rotate_refresh: read(9),
        }
    }
}

impl<S: Store> MeteredStore<S> {
    /// Runs one call of operation `index`, counting it.
    fn timed<'a, T: Send + 'a>(&'a self, index: usize, call: StoreFuture<'a, T>) -> StoreFuture<'a, T> {
        Box::pin(async move {
            let started = Instant::now();
            let result = call.await;
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let counter = &self.counters[index];
            counter.calls.fetch_add(1, Ordering::Relaxed);
            counter.total_micros.fetch_add(micros, Ordering::Relaxed);
            counter.max_micros.fetch_max(micros, Ordering::Relaxed);
            if let Err(error) = &result {
                counter.errors.fetch_add(1, Ordering::Relaxed);
                event!(warn, STORE,
                    operation = OPERATIONS[index],
                    micros,
                    error = %error,
                    "store call failed"
                );
                let _ = error;
            }
            result
        })
    }
}

impl<S: Store> Store for MeteredStore<S> {
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
        self.timed(0, self.inner.put(key, value, ttl))
    }

    fn put_new<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, bool> {
        self.timed(1, self.inner.put_new(key, value, ttl))
    }

    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        self.timed(2, self.inner.get(key))
    }

    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        self.timed(3, self.inner.take(key))
    }

    fn increment<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, u64> {
        self.timed(4, self.inner.increment(key, ttl))
    }

    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        self.timed(5, self.inner.remove(key))
    }

    fn publish<'a>(&'a self, invalidation: &'a Invalidation) -> StoreFuture<'a, ()> {
        self.timed(6, self.inner.publish(invalidation))
    }

    fn get_many<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, Vec<Option<Vec<u8>>>> {
        self.timed(7, self.inner.get_many(keys))
    }

    fn put_and_publish<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
        invalidation: &'a Invalidation,
    ) -> StoreFuture<'a, ()> {
        self.timed(8, self.inner.put_and_publish(key, value, ttl, invalidation))
    }

    fn rotate_refresh<'a>(&'a self, rotation: RefreshRotation<'a>) -> StoreFuture<'a, RotationOutcome> {
        self.timed(9, self.inner.rotate_refresh(rotation))
    }

    fn subscribe(&self, listener: Listener) -> Subscription {
        self.inner.subscribe(listener)
    }
}
