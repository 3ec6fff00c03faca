//! The cache's entries, and the index that finds the entries an invalidation names (by session
//! id, subject or token) without running a predicate over the whole cache.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use moka::Expiry;

use crate::verifier::Authenticated;

pub(super) type Key = [u8; 32];

pub(super) struct Entry<S> {
    pub(super) authenticated: Arc<Authenticated<S>>,
    /// SHA-256 of the token alone, for invalidation by token whatever else the key holds.
    pub(super) token_hash: Key,
    /// Unix seconds after which the entry must not be served.
    pub(super) valid_until: u64,
    /// How long moka keeps it, computed from `valid_until` when it was inserted.
    pub(super) time_to_live: Duration,
    /// The invalidation generation when the verifier was asked: an event after that may have
    /// been meant for this answer.
    pub(super) generation: u64,
    /// Set once a request has seen that no invalidation came since the verifier was asked. Until
    /// then a hit does not serve the entry (moka makes it visible the moment it is inserted,
    /// before anyone could compare generations).
    pub(super) confirmed: AtomicBool,
    /// Set by an invalidation that names this entry (through the [`Index`]): never served again;
    /// the next request for its key removes it and asks the verifier.
    pub(super) invalidated: AtomicBool,
}

/// The live entries by session id, subject and token, so that an invalidation flags exactly the
/// entries it names (work proportional to them) instead of registering a predicate the cache
/// runs over every entry. Bounded with the cache: an entry leaves the index when it leaves the
/// cache (the eviction listener), and holds it only weakly.
pub(super) struct Index<S> {
    pub(super) by_session: HashMap<String, Vec<Weak<Entry<S>>>>,
    pub(super) by_subject: HashMap<String, Vec<Weak<Entry<S>>>>,
    pub(super) by_token: HashMap<Key, Vec<Weak<Entry<S>>>>,
}

pub(super) type SharedIndex<S> = Arc<Mutex<Index<S>>>;

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
    pub(super) fn add(&mut self, entry: &Arc<Entry<S>>) {
        let weak = Arc::downgrade(entry);
        if let Some(id) = &entry.authenticated.session_id {
            self.by_session.entry(id.clone()).or_default().push(weak.clone());
        }
        if let Some(subject) = &entry.authenticated.subject {
            self.by_subject.entry(subject.clone()).or_default().push(weak.clone());
        }
        self.by_token.entry(entry.token_hash).or_default().push(weak);
    }

    pub(super) fn remove(&mut self, entry: &Arc<Entry<S>>) {
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
pub(super) fn flag<S>(list: Option<&Vec<Weak<Entry<S>>>>) {
    for entry in list.into_iter().flatten().filter_map(Weak::upgrade) {
        entry.invalidated.store(true, Ordering::Release);
    }
}

pub(super) fn lock<S>(index: &Mutex<Index<S>>) -> std::sync::MutexGuard<'_, Index<S>> {
    // Every change to the index is one call that cannot leave it half-written.
    index.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(super) struct EntryExpiry;

impl<S> Expiry<Key, Arc<Entry<S>>> for EntryExpiry {
    fn expire_after_create(&self, _key: &Key, entry: &Arc<Entry<S>>, _created_at: Instant) -> Option<Duration> {
        Some(entry.time_to_live)
    }
}

pub(super) type Entries<S> = moka::future::Cache<Key, Arc<Entry<S>>>;
