//! The [`Store`]: what the sign-in flows must remember between requests (a link already used, a
//! pending one-time code and its attempt count, an OAuth `state` with its PKCE verifier and
//! nonce), kept outside the process's caches so single use survives a cache reset.
//!
//! Every operation that decides "first one wins" is one atomic step of the store
//! ([`put_new`](Store::put_new), [`take`](Store::take), [`increment`](Store::increment)), never a
//! read followed by a write, so a store shared by several instances keeps the same guarantees.
//! [`MemoryStore`] is the default, for one process; `RedisStore` (feature `redis`) shares the
//! records with every instance of a fleet.
//!
//! A store also carries **cache invalidation events**: [`publish`](Store::publish) an
//! [`Invalidation`] (a session revoked, say) and every [`subscribe`](Store::subscribe)d listener,
//! on every instance sharing the store, hears it. A `SessionCache` (feature `middleware`) built
//! with `invalidations_from` drops the matching entries, and stops serving cached sessions while
//! its subscription is interrupted.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::future::{Future, ready};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

#[cfg(feature = "redis")]
pub use crate::redis_store::{
    DEFAULT_REDIS_HEARTBEAT, DEFAULT_REDIS_PREFIX, DEFAULT_REDIS_TIMEOUT, RedisStore, RedisStoreBuilder,
};

/// The future every [`Store`] operation returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Short-lived records with expiry, and the atomic steps single use needs.
///
/// Keys are ASCII strings chosen by the flows (`link:<jti>`, `code:<id>`); values are opaque bytes.
/// A record whose time to live has passed must read as absent.
pub trait Store: Send + Sync + 'static {
    /// Saves `value` under `key` for `ttl`, replacing any record there.
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()>;

    /// Saves `value` under `key` for `ttl` only if no live record is there (`SET NX`): `true` when
    /// this call saved it, `false` when the key was taken.
    fn put_new<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, bool>;

    /// The live record under `key`.
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>>;

    /// Removes the record under `key` and returns it (`GETDEL`): of two concurrent calls, at most
    /// one gets the record.
    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>>;

    /// Adds one to the counter under `key` and returns the new count (`INCR`); a new counter
    /// starts at 1 and lives for `ttl`.
    fn increment<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, u64>;

    /// Removes the record under `key`, if any.
    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()>;

    /// Announces `invalidation` to every listener subscribed to this store, on every instance
    /// sharing it (this one included). `Ok` means the store accepted the message for delivery.
    ///
    /// The default does nothing: a store without events (see [`subscribe`](Store::subscribe)).
    fn publish<'a>(&'a self, invalidation: &'a Invalidation) -> StoreFuture<'a, ()> {
        let _ = invalidation;
        Box::pin(ready(Ok(())))
    }

    /// Calls `listener` with every [`StoreEvent`] until the returned [`Subscription`] is dropped.
    ///
    /// A store must send [`StoreEvent::Subscribed`] once every later [`publish`](Store::publish)
    /// is sure to reach the listener (at once if it already is), and
    /// [`StoreEvent::Interrupted`] as soon as it may miss one. The listener runs on the store's
    /// task with the store's listener list locked: keep it short, and never subscribe from it.
    ///
    /// The default never calls the listener: a store without events is never `Subscribed`, so a
    /// cache that takes its invalidations from it never serves a cached session (it could not
    /// hear of a revocation).
    fn subscribe(&self, listener: Listener) -> Subscription {
        drop(listener);
        Subscription::none()
    }
}

/// What every instance's cache must forget: published through [`Store::publish`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Invalidation {
    /// The session with this id (`jti`, or a verifier's opaque id).
    Session(String),
    /// Every session of this subject (`sub`).
    Subject(String),
    /// Every cached session (after a signing key is retired, say).
    All,
}

impl Invalidation {
    /// The invalidation as one message: `session:<id>`, `subject:<sub>` or `all`.
    pub fn encode(&self) -> String {
        match self {
            Invalidation::Session(id) => format!("session:{id}"),
            Invalidation::Subject(subject) => format!("subject:{subject}"),
            Invalidation::All => "all".to_owned(),
        }
    }

    /// Reads a message written by [`encode`](Invalidation::encode). Anything else (a newer
    /// instance's new kind of event, a damaged message) reads as [`All`](Invalidation::All):
    /// forgetting too much costs a verification, forgetting too little would serve a revoked session.
    pub fn decode(message: &[u8]) -> Invalidation {
        let text = std::str::from_utf8(message).unwrap_or_default();
        match text.split_once(':') {
            Some(("session", id)) => Invalidation::Session(id.to_owned()),
            Some(("subject", subject)) => Invalidation::Subject(subject.to_owned()),
            _ => Invalidation::All,
        }
    }
}

/// What a store tells its subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreEvent {
    /// An instance sharing the store (this one included) published this invalidation.
    Invalidate(Invalidation),
    /// The subscription is live: every invalidation published from now on will be delivered.
    /// Invalidations published before it may have been missed.
    Subscribed,
    /// The subscription was lost (the store is unreachable, or its connection dropped):
    /// invalidations published until the next [`Subscribed`](StoreEvent::Subscribed) may be missed.
    Interrupted,
}

/// A subscriber to a store's events.
pub type Listener = Arc<ListenerFn>;

/// The function behind a [`Listener`].
pub type ListenerFn = dyn Fn(&StoreEvent) + Send + Sync;

/// Keeps a listener subscribed; dropping it unsubscribes.
#[must_use = "dropping the subscription unsubscribes the listener"]
pub struct Subscription {
    _listener: Option<Listener>,
}

impl Subscription {
    /// A subscription that never hears anything (a store without events).
    pub fn none() -> Self {
        Subscription { _listener: None }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

/// The listeners of one store, for [`Store`] implementations: hand out subscriptions with
/// [`add`](Listeners::add) and deliver events with [`emit`](Listeners::emit). It remembers whether
/// the store's subscription is live, so a listener added while it is gets
/// [`StoreEvent::Subscribed`] at once.
#[derive(Default)]
pub struct Listeners {
    state: Mutex<ListenerState>,
}

#[derive(Default)]
struct ListenerState {
    listeners: Vec<Weak<ListenerFn>>,
    live: bool,
}

impl fmt::Debug for Listeners {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Listeners")
            .field("listeners", &state.listeners.len())
            .field("live", &state.live)
            .finish()
    }
}

impl Listeners {
    /// No listeners, and not live.
    pub fn new() -> Self {
        Listeners::default()
    }

    /// Subscribes `listener`; it hears [`StoreEvent::Subscribed`] now if the store is live.
    pub fn add(&self, listener: Listener) -> Subscription {
        let mut state = self.lock();
        state.listeners.retain(|listener| listener.strong_count() > 0);
        state.listeners.push(Arc::downgrade(&listener));
        if state.live {
            listener(&StoreEvent::Subscribed);
        }
        Subscription {
            _listener: Some(listener),
        }
    }

    /// Delivers `event` to every live listener, in the order they subscribed, and records
    /// whether the store is live after [`Subscribed`](StoreEvent::Subscribed) and
    /// [`Interrupted`](StoreEvent::Interrupted). Listeners run under the lock, so two events
    /// never reach one listener out of order.
    pub fn emit(&self, event: &StoreEvent) {
        let mut state = self.lock();
        match event {
            StoreEvent::Subscribed => state.live = true,
            StoreEvent::Interrupted => state.live = false,
            StoreEvent::Invalidate(_) => {}
        }
        state.listeners.retain(|listener| match listener.upgrade() {
            Some(listener) => {
                listener(event);
                true
            }
            None => false,
        });
    }

    /// Whether the store's subscription is live.
    pub fn is_live(&self) -> bool {
        self.lock().live
    }

    // A listener that panicked cannot have left the list half-updated (pushes and retains are
    // single calls), so a poisoned lock is still consistent.
    fn lock(&self) -> MutexGuard<'_, ListenerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A shared store is the store it shares: one `Arc<dyn Store>` can serve the sign-in flows and
/// the revocation list together.
impl<T: Store + ?Sized> Store for Arc<T> {
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
        T::put(self, key, value, ttl)
    }

    fn put_new<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, bool> {
        T::put_new(self, key, value, ttl)
    }

    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        T::get(self, key)
    }

    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        T::take(self, key)
    }

    fn increment<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, u64> {
        T::increment(self, key, ttl)
    }

    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        T::remove(self, key)
    }

    fn publish<'a>(&'a self, invalidation: &'a Invalidation) -> StoreFuture<'a, ()> {
        T::publish(self, invalidation)
    }

    fn subscribe(&self, listener: Listener) -> Subscription {
        T::subscribe(self, listener)
    }
}

/// Why a [`Store`] operation failed. Flows fail closed on it: no sign-in completes without the
/// store's answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store holds as many live records as it may; new flows are refused until some expire.
    #[error("the store is full ({capacity} live records)")]
    Full {
        /// The configured capacity.
        capacity: usize,
    },
    /// A stored value is not what this counter or flow expected.
    #[error("the record under `{key}` is not a counter")]
    NotACounter {
        /// The key.
        key: String,
    },
    /// The store could not be reached or answered with an error.
    #[error("the store is unavailable: {0}")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
}

/// The default capacity of a [`MemoryStore`]: live records beyond it are refused, so a flood of
/// sign-in requests cannot exhaust memory.
pub const DEFAULT_STORE_CAPACITY: usize = 100_000;

/// A [`Store`] in this process's memory: the default, for one instance. Cheap to clone (an `Arc`
/// inside); clones share records.
///
/// Records live until their time to live passes; expired records are dropped when the store is
/// full and whenever they are read. Invalidation events reach the listeners of this store and
/// its clones (one process); its subscription is always live.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<MemoryInner>,
}

struct MemoryInner {
    records: Mutex<HashMap<String, Record>>,
    capacity: usize,
    listeners: Listeners,
}

struct Record {
    value: Vec<u8>,
    expires: Instant,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("records", &self.lock().len())
            .field("capacity", &self.inner.capacity)
            .finish()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_capacity(DEFAULT_STORE_CAPACITY)
    }
}

impl MemoryStore {
    /// An empty store holding at most [`DEFAULT_STORE_CAPACITY`] live records.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// An empty store holding at most `capacity` live records.
    pub fn with_capacity(capacity: usize) -> Self {
        // One process: no event can be missed, so the subscription is live from the start and
        // every listener hears `Subscribed` as it is added.
        let listeners = Listeners::new();
        listeners.emit(&StoreEvent::Subscribed);
        MemoryStore {
            inner: Arc::new(MemoryInner {
                records: Mutex::new(HashMap::new()),
                capacity,
                listeners,
            }),
        }
    }

    /// The number of records held, live or not yet swept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A panic while holding the lock cannot leave a record half-written (every update is one
    // `HashMap` call), so a poisoned lock is still consistent.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Record>> {
        self.inner.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn live<'m>(records: &'m mut HashMap<String, Record>, key: &str, now: Instant) -> Option<&'m mut Record> {
        if records.get(key).is_some_and(|record| record.expires <= now) {
            records.remove(key);
        }
        records.get_mut(key)
    }

    fn insert(&self, records: &mut HashMap<String, Record>, key: &str, record: Record) -> Result<(), StoreError> {
        let capacity = self.inner.capacity;
        if records.len() >= capacity && !records.contains_key(key) {
            let now = Instant::now();
            records.retain(|_, record| record.expires > now);
            if records.len() >= capacity {
                return Err(StoreError::Full { capacity });
            }
        }
        records.insert(key.to_owned(), record);
        Ok(())
    }
}

fn expiry(ttl: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(ttl)
        .unwrap_or(now + Duration::from_secs(365 * 24 * 60 * 60))
}

impl Store for MemoryStore {
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
        let mut records = self.lock();
        let result = self.insert(
            &mut records,
            key,
            Record {
                value,
                expires: expiry(ttl),
            },
        );
        Box::pin(ready(result))
    }

    fn put_new<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, bool> {
        let mut records = self.lock();
        let result = if MemoryStore::live(&mut records, key, Instant::now()).is_some() {
            Ok(false)
        } else {
            self.insert(
                &mut records,
                key,
                Record {
                    value,
                    expires: expiry(ttl),
                },
            )
            .map(|()| true)
        };
        Box::pin(ready(result))
    }

    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        let mut records = self.lock();
        let value = MemoryStore::live(&mut records, key, Instant::now()).map(|record| record.value.clone());
        Box::pin(ready(Ok(value)))
    }

    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        let mut records = self.lock();
        let live = MemoryStore::live(&mut records, key, Instant::now()).is_some();
        let value = if live {
            records.remove(key).map(|record| record.value)
        } else {
            None
        };
        Box::pin(ready(Ok(value)))
    }

    fn increment<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, u64> {
        let mut records = self.lock();
        let result = match MemoryStore::live(&mut records, key, Instant::now()) {
            Some(record) => match <[u8; 8]>::try_from(record.value.as_slice()) {
                Ok(bytes) => {
                    let count = u64::from_be_bytes(bytes).saturating_add(1);
                    record.value = count.to_be_bytes().to_vec();
                    Ok(count)
                }
                Err(_) => Err(StoreError::NotACounter { key: key.to_owned() }),
            },
            None => {
                let record = Record {
                    value: 1u64.to_be_bytes().to_vec(),
                    expires: expiry(ttl),
                };
                self.insert(&mut records, key, record).map(|()| 1)
            }
        };
        Box::pin(ready(result))
    }

    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        self.lock().remove(key);
        Box::pin(ready(Ok(())))
    }

    fn publish<'a>(&'a self, invalidation: &'a Invalidation) -> StoreFuture<'a, ()> {
        self.inner.listeners.emit(&StoreEvent::Invalidate(invalidation.clone()));
        Box::pin(ready(Ok(())))
    }

    fn subscribe(&self, listener: Listener) -> Subscription {
        self.inner.listeners.add(listener)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now<T>(future: StoreFuture<'_, T>) -> Result<T, StoreError> {
        // Every MemoryStore future is already complete; poll it once without a runtime.
        let waker = std::task::Waker::noop();
        let mut context = std::task::Context::from_waker(waker);
        let mut future = future;
        match future.as_mut().poll(&mut context) {
            std::task::Poll::Ready(result) => result,
            std::task::Poll::Pending => unreachable!("MemoryStore futures are ready"),
        }
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn put_new_and_take_are_first_one_wins() {
        let store = MemoryStore::new();
        assert!(now(store.put_new("k", b"a".to_vec(), MINUTE)).unwrap());
        assert!(!now(store.put_new("k", b"b".to_vec(), MINUTE)).unwrap());
        assert_eq!(now(store.take("k")).unwrap(), Some(b"a".to_vec()));
        assert_eq!(now(store.take("k")).unwrap(), None);
    }

    #[test]
    fn expired_records_read_as_absent() {
        let store = MemoryStore::new();
        now(store.put("k", b"a".to_vec(), Duration::ZERO)).unwrap();
        assert_eq!(now(store.get("k")).unwrap(), None);
        assert!(now(store.put_new("k", b"b".to_vec(), MINUTE)).unwrap());
    }

    #[test]
    fn counters_count_and_refuse_other_records() {
        let store = MemoryStore::new();
        assert_eq!(now(store.increment("n", MINUTE)).unwrap(), 1);
        assert_eq!(now(store.increment("n", MINUTE)).unwrap(), 2);
        now(store.put("v", b"text".to_vec(), MINUTE)).unwrap();
        assert!(matches!(
            now(store.increment("v", MINUTE)),
            Err(StoreError::NotACounter { .. })
        ));
    }

    #[test]
    fn invalidations_round_trip_and_unknown_messages_forget_everything() {
        for invalidation in [
            Invalidation::Session("a:b".into()),
            Invalidation::Subject("ada@example.com".into()),
            Invalidation::Session(String::new()),
            Invalidation::All,
        ] {
            assert_eq!(Invalidation::decode(invalidation.encode().as_bytes()), invalidation);
        }
        for message in [&b"token:x"[..], b"", b"session", b"\xff:x", b"ALL"] {
            assert_eq!(Invalidation::decode(message), Invalidation::All, "{message:?}");
        }
    }

    #[test]
    fn memory_store_events_reach_every_live_listener_in_order() {
        let store = MemoryStore::new();
        let heard = Arc::new(Mutex::new(Vec::new()));
        let listener = |name: &'static str| -> Listener {
            let heard = Arc::clone(&heard);
            Arc::new(move |event: &StoreEvent| heard.lock().unwrap().push((name, event.clone())))
        };
        let first = store.clone().subscribe(listener("first"));
        let second = store.subscribe(listener("second"));
        now(store.publish(&Invalidation::All)).unwrap();
        drop(first);
        now(store.publish(&Invalidation::Subject("s".into()))).unwrap();
        drop(second);
        now(store.publish(&Invalidation::All)).unwrap();
        assert_eq!(
            *heard.lock().unwrap(),
            [
                ("first", StoreEvent::Subscribed),
                ("second", StoreEvent::Subscribed),
                ("first", StoreEvent::Invalidate(Invalidation::All)),
                ("second", StoreEvent::Invalidate(Invalidation::All)),
                ("second", StoreEvent::Invalidate(Invalidation::Subject("s".into()))),
            ]
        );
    }

    #[test]
    fn a_full_store_sweeps_expired_records_then_refuses() {
        let store = MemoryStore::with_capacity(2);
        now(store.put("old", Vec::new(), Duration::ZERO)).unwrap();
        now(store.put("a", Vec::new(), MINUTE)).unwrap();
        now(store.put("b", Vec::new(), MINUTE)).unwrap();
        assert_eq!(store.len(), 2, "the expired record was swept to make room");
        assert!(matches!(
            now(store.put("c", Vec::new(), MINUTE)),
            Err(StoreError::Full { capacity: 2 })
        ));
        now(store.put("a", b"again".to_vec(), MINUTE)).unwrap();
    }
}
