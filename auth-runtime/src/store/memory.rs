//! [`MemoryStore`]: the default [`Store`], in this process's memory.

use std::collections::HashMap;
use std::fmt;
use std::future::ready;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::contract::{Store, StoreError, StoreFuture, is_refresh_key, is_security_key};
use super::events::{Invalidation, Listener, Listeners, StoreEvent, Subscription};

/// The default capacity of a [`MemoryStore`] for flow records (pending codes and sign-ins): live
/// records beyond it are refused, so a flood of sign-in requests cannot exhaust memory.
pub const DEFAULT_STORE_CAPACITY: usize = 100_000;
/// The default capacity of a [`MemoryStore`] for security records ([`is_security_key`]:
/// revocations, used links, attempt and rate counters), apart from the flows' so that a flood of
/// flows can never crowd them out.
pub const DEFAULT_SECURITY_CAPACITY: usize = 200_000;
/// The default capacity of a [`MemoryStore`] for refresh-token records ([`is_refresh_key`]:
/// live tokens, retired markers, successors), apart from the others: 500 000, about 5 000
/// families used all day (96 rotations each).
pub const DEFAULT_REFRESH_CAPACITY: usize = 500_000;

/// A [`Store`] in this process's memory: the default, for one instance. Cheap to clone (an `Arc`
/// inside); clones share records.
///
/// Records live until their time to live passes; expired records are dropped when the store is
/// full and whenever they are read. Security records ([`is_security_key`]) and refresh-token
/// records ([`is_refresh_key`]) each have a capacity of their own: flows filling theirs never
/// make a revocation or a used-link marker fail, and refresh rotations never starve sign-in flows
/// or revocations. Invalidation events reach the listeners of this store and its clones (one
/// process); its subscription is always live.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<MemoryInner>,
}

struct MemoryInner {
    records: Mutex<Records>,
    capacity: usize,
    security_capacity: usize,
    refresh_capacity: usize,
    listeners: Listeners,
}

/// The records, in three classes with a capacity each.
#[derive(Default)]
struct Records {
    flows: HashMap<String, Record>,
    security: HashMap<String, Record>,
    refresh: HashMap<String, Record>,
}

impl Records {
    /// The class `key` belongs to.
    fn of(&mut self, key: &str) -> &mut HashMap<String, Record> {
        if is_security_key(key) {
            &mut self.security
        } else if is_refresh_key(key) {
            &mut self.refresh
        } else {
            &mut self.flows
        }
    }
}

struct Record {
    value: Vec<u8>,
    expires: Instant,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("records", &self.len())
            .field("capacity", &self.inner.capacity)
            .field("security_capacity", &self.inner.security_capacity)
            .field("refresh_capacity", &self.inner.refresh_capacity)
            .finish()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_capacities(DEFAULT_STORE_CAPACITY, DEFAULT_SECURITY_CAPACITY)
    }
}

impl MemoryStore {
    /// An empty store holding at most [`DEFAULT_STORE_CAPACITY`] live flow records and
    /// [`DEFAULT_SECURITY_CAPACITY`] live security records.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// An empty store holding at most `capacity` live flow records (and the default number of
    /// security records).
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryStore::with_capacities(capacity, DEFAULT_SECURITY_CAPACITY)
    }

    /// An empty store holding at most `flows` live flow records and `security` live security
    /// records ([`is_security_key`]), and the default number of refresh-token records.
    pub fn with_capacities(flows: usize, security: usize) -> Self {
        MemoryStore::with_all_capacities(flows, security, DEFAULT_REFRESH_CAPACITY)
    }

    /// An empty store holding at most `flows` live flow records, `security` live security
    /// records ([`is_security_key`]) and `refresh` live refresh-token records
    /// ([`is_refresh_key`]).
    pub fn with_all_capacities(flows: usize, security: usize, refresh: usize) -> Self {
        // One process: no event can be missed, so the subscription is live from the start and
        // every listener hears `Subscribed` as it is added.
        let listeners = Listeners::new();
        listeners.emit(&StoreEvent::Subscribed);
        MemoryStore {
            inner: Arc::new(MemoryInner {
                records: Mutex::new(Records::default()),
                capacity: flows,
                security_capacity: security,
                refresh_capacity: refresh,
                listeners,
            }),
        }
    }

    /// The number of records held, live or not yet swept.
    pub fn len(&self) -> usize {
        let records = self.lock();
        records.flows.len() + records.security.len() + records.refresh.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A panic while holding the lock cannot leave a record half-written (every update is one
    // `HashMap` call), so a poisoned lock is still consistent.
    fn lock(&self) -> MutexGuard<'_, Records> {
        self.inner.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn live<'m>(records: &'m mut HashMap<String, Record>, key: &str, now: Instant) -> Option<&'m mut Record> {
        if records.get(key).is_some_and(|record| record.expires <= now) {
            records.remove(key);
        }
        records.get_mut(key)
    }

    fn insert(&self, records: &mut HashMap<String, Record>, key: &str, record: Record) -> Result<(), StoreError> {
        let capacity = if is_security_key(key) {
            self.inner.security_capacity
        } else if is_refresh_key(key) {
            self.inner.refresh_capacity
        } else {
            self.inner.capacity
        };
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
        let mut guard = self.lock();
        let records = guard.of(key);
        let result = self.insert(
            records,
            key,
            Record {
                value,
                expires: expiry(ttl),
            },
        );
        Box::pin(ready(result))
    }

    fn put_new<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, bool> {
        let mut guard = self.lock();
        let records = guard.of(key);
        let result = if MemoryStore::live(records, key, Instant::now()).is_some() {
            Ok(false)
        } else {
            self.insert(
                records,
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
        let mut guard = self.lock();
        let records = guard.of(key);
        let value = MemoryStore::live(records, key, Instant::now()).map(|record| record.value.clone());
        Box::pin(ready(Ok(value)))
    }

    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        let mut guard = self.lock();
        let records = guard.of(key);
        let live = MemoryStore::live(records, key, Instant::now()).is_some();
        let value = if live {
            records.remove(key).map(|record| record.value)
        } else {
            None
        };
        Box::pin(ready(Ok(value)))
    }

    fn increment<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, u64> {
        let mut guard = self.lock();
        let records = guard.of(key);
        let result = match MemoryStore::live(records, key, Instant::now()) {
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
                self.insert(records, key, record).map(|()| 1)
            }
        };
        Box::pin(ready(result))
    }

    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        self.lock().of(key).remove(key);
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
    use std::sync::Arc;

    use super::*;
    use crate::store::contract::shared;

    /// Builders take `impl Store`; a shared `Arc<dyn Store>` is kept as it is, so every component
    /// handed one store holds the same one, not an `Arc` around it.
    #[test]
    fn a_shared_store_is_kept_not_wrapped_again() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        assert!(Arc::ptr_eq(&shared(Arc::clone(&store)), &store));
        let own = shared(MemoryStore::new());
        assert!(!Arc::ptr_eq(&own, &store));
    }

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

    #[test]
    fn flows_filling_their_share_never_crowd_out_security_records() {
        let store = MemoryStore::with_capacities(2, 3);
        now(store.put("code:code:1", Vec::new(), MINUTE)).expect("room");
        now(store.put("code:code:2", Vec::new(), MINUTE)).expect("room");
        assert!(matches!(
            now(store.put("code:code:3", Vec::new(), MINUTE)),
            Err(StoreError::Full { capacity: 2 })
        ));
        now(store.put("revoked:s1", Vec::new(), MINUTE)).expect("a revocation has its own room");
        assert!(now(store.put_new("link-used:link:j1", Vec::new(), MINUTE)).expect("its own room"));
        assert_eq!(
            now(store.increment("rate:code-try:0:x", MINUTE)).expect("its own room"),
            1
        );
        assert!(matches!(
            now(store.put("revoked:s2", Vec::new(), MINUTE)),
            Err(StoreError::Full { capacity: 3 })
        ));
        assert_eq!(store.len(), 5);
    }

    #[test]
    fn refresh_records_have_their_own_share() {
        let store = MemoryStore::with_all_capacities(1, 1, 2);
        now(store.put("refresh:a", Vec::new(), MINUTE)).expect("room");
        assert!(now(store.put_new("refresh-next:a", Vec::new(), MINUTE)).expect("room"));
        assert!(matches!(
            now(store.put("refresh-retired:a", Vec::new(), MINUTE)),
            Err(StoreError::Full { capacity: 2 })
        ));
        now(store.put("code:code:1", Vec::new(), MINUTE)).expect("a flow has its own room");
        now(store.put("revoked:s1", Vec::new(), MINUTE)).expect("a revocation has its own room");
    }
}
