//! A store the tests can watch and break: a [`MemoryStore`] that records the key and time to
//! live of every record written, and fails every call while it is taken down.

#![allow(dead_code, reason = "each test module uses a different part of the helpers")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use auth_runtime::store::{Invalidation, Listener, MemoryStore, Store, StoreError, StoreFuture, Subscription};

/// Clones share the records, the log of writes and the switch.
#[derive(Default, Clone)]
pub struct TestStore {
    inner: MemoryStore,
    written: Arc<Mutex<Vec<(String, Duration)>>>,
    down: Arc<AtomicBool>,
}

impl TestStore {
    /// The time to live of the one record written under `prefix` (fails unless there is one).
    pub fn ttl_of(&self, prefix: &str) -> Duration {
        let written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        let found: Vec<_> = written.iter().filter(|(key, _)| key.starts_with(prefix)).collect();
        assert_eq!(found.len(), 1, "one record under {prefix}: {written:?}");
        found[0].1
    }

    /// How many records were written under `prefix` (`put` and `put_new` calls alike).
    pub fn writes_under(&self, prefix: &str) -> usize {
        let written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        written.iter().filter(|(key, _)| key.starts_with(prefix)).count()
    }

    /// Takes the store down (every call fails with `StoreError::Unavailable`) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("the test took the store down".into()));
        }
        Ok(())
    }

    fn wrote(&self, key: &str, ttl: Duration) {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        written.push((key.to_owned(), ttl));
    }
}

impl Store for TestStore {
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.check()?;
            self.wrote(key, ttl);
            self.inner.put(key, value, ttl).await
        })
    }

    fn put_new<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            self.check()?;
            self.wrote(key, ttl);
            self.inner.put_new(key, value, ttl).await
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            self.check()?;
            self.inner.get(key).await
        })
    }

    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            self.check()?;
            self.inner.take(key).await
        })
    }

    fn increment<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            self.check()?;
            self.inner.increment(key, ttl).await
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.check()?;
            self.inner.remove(key).await
        })
    }

    fn publish<'a>(&'a self, invalidation: &'a Invalidation) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.check()?;
            self.inner.publish(invalidation).await
        })
    }

    fn subscribe(&self, listener: Listener) -> Subscription {
        self.inner.subscribe(listener)
    }
}
