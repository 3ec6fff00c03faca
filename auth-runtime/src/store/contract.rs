//! The [`Store`] contract: short-lived records with expiry, the atomic steps single use needs,
//! and the invalidation events every instance sharing the store hears.

use std::any::Any;
use std::error::Error as StdError;
use std::future::{Future, ready};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::events::{Invalidation, Listener, Subscription};
use super::refresh_rotation::{RefreshRotation, RotationOutcome, subject_record_revokes};
use crate::join;

/// Key prefixes of the security records: what refuses something (a revocation, a used sign-in
/// link, an attempt counter, a rate-limit counter). A store must never drop one of them early to
/// make room for other records: [`MemoryStore`](super::MemoryStore) gives them a capacity of
/// their own, and `RedisStore` refuses a Redis that evicts.
pub const SECURITY_KEY_PREFIXES: &[&str] = &["revoked:", "revoked-sub:", "link-used:", "attempts:", "rate:"];

/// Whether `key` is a security record's (it starts with one of [`SECURITY_KEY_PREFIXES`]).
pub fn is_security_key(key: &str) -> bool {
    SECURITY_KEY_PREFIXES.iter().any(|prefix| key.starts_with(prefix))
}

/// Key prefixes of the refresh-token records (live tokens, retired markers, successors). One is
/// written per rotation: [`MemoryStore`](super::MemoryStore) gives them a capacity of their own,
/// so that signed-in families refreshing can never starve sign-in flows or revocations, nor be
/// starved by a flood of flows.
pub const REFRESH_KEY_PREFIXES: &[&str] = &["refresh:", "refresh-retired:", "refresh-next:"];

/// Whether `key` is a refresh-token record's (it starts with one of [`REFRESH_KEY_PREFIXES`]).
pub fn is_refresh_key(key: &str) -> bool {
    REFRESH_KEY_PREFIXES.iter().any(|prefix| key.starts_with(prefix))
}

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

    /// The live records under `keys`, in order, in one call where the store can (Redis: one
    /// `MGET`, one round trip). The default reads them one by one.
    fn get_many<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, Vec<Option<Vec<u8>>>> {
        Box::pin(async move {
            let mut records = Vec::with_capacity(keys.len());
            for key in keys {
                records.push(self.get(key).await?);
            }
            Ok(records)
        })
    }

    /// Saves `value` under `key` for `ttl` and announces `invalidation`, as one step where the
    /// store can (Redis: `MULTI`/`EXEC`, both or neither): a revocation is never written without
    /// the other instances hearing of it. The default does the two in turn.
    fn put_and_publish<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
        invalidation: &'a Invalidation,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.put(key, value, ttl).await?;
            self.publish(invalidation).await
        })
    }

    /// Carries out one refresh token's `rotation` (see [`RefreshRotation`] for the steps and
    /// their order), as one atomic step where the store can (Redis: one script, one round
    /// trip). The default does the steps in turn, the independent ones at once, with
    /// [`put_new`](Store::put_new) deciding a race.
    fn rotate_refresh<'a>(&'a self, rotation: RefreshRotation<'a>) -> StoreFuture<'a, RotationOutcome> {
        in_steps(self, rotation)
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
    ///
    /// [`StoreEvent`]: super::StoreEvent
    /// [`StoreEvent::Subscribed`]: super::StoreEvent::Subscribed
    /// [`StoreEvent::Interrupted`]: super::StoreEvent::Interrupted
    fn subscribe(&self, listener: Listener) -> Subscription {
        drop(listener);
        Subscription::none()
    }
}

/// `store` as the components hold it. Every builder takes a store the same way, `impl Store`:
/// a store of its own, or a shared `Arc<dyn Store>` (or `Arc<RedisStore>`), which is kept as it is
/// rather than wrapped in a second `Arc`.
#[cfg_attr(
    not(feature = "middleware"),
    allow(dead_code, reason = "the builders that keep a store")
)]
pub(crate) fn shared(store: impl Store) -> Arc<dyn Store> {
    match (&store as &dyn Any).downcast_ref::<Arc<dyn Store>>() {
        Some(shared) => Arc::clone(shared),
        None => Arc::new(store),
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

    fn get_many<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, Vec<Option<Vec<u8>>>> {
        T::get_many(self, keys)
    }

    fn put_and_publish<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
        invalidation: &'a Invalidation,
    ) -> StoreFuture<'a, ()> {
        T::put_and_publish(self, key, value, ttl, invalidation)
    }

    fn rotate_refresh<'a>(&'a self, rotation: RefreshRotation<'a>) -> StoreFuture<'a, RotationOutcome> {
        T::rotate_refresh(self, rotation)
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
    /// The store may drop records under memory pressure (Redis with a `maxmemory-policy` other
    /// than `noeviction`): revocations, used-link markers and attempt counters could vanish, and
    /// what they refuse would pass again.
    #[error(
        "the store evicts records under memory pressure (maxmemory-policy `{policy}`): set \
         `maxmemory-policy noeviction`, or accept the risk with `accept_eviction_risk()`"
    )]
    Evicts {
        /// The eviction policy the store reported, or why it could not be read.
        policy: String,
    },
}

/// [`Store::rotate_refresh`]'s default: the steps in turn, the independent ones asked at once.
fn in_steps<'a, S: Store + ?Sized>(store: &'a S, rotation: RefreshRotation<'a>) -> StoreFuture<'a, RotationOutcome> {
    Box::pin(async move {
        let RefreshRotation {
            counters,
            revoked,
            subject_revoked,
            fresh,
            claim,
            marker,
            retire,
        } = rotation;
        let mut keys = vec![revoked.to_owned()];
        if let Some((subject_key, _)) = subject_revoked {
            keys.push(subject_key.to_owned());
        }
        let counted = join::all(
            counters
                .iter()
                .map(|counter| store.increment(counter.key, counter.ttl))
                .collect(),
        );
        let (records, counts) = join::both(store.get_many(&keys), counted).await;
        let records = records?;
        let counts = counts.into_iter().collect::<Result<Vec<u64>, StoreError>>()?;
        let revoked_by_id = records.first().is_some_and(Option::is_some);
        let revoked_by_subject = match (records.get(1), subject_revoked) {
            (Some(Some(record)), Some((_, started_at))) => subject_record_revokes(record, Some(started_at)),
            _ => false,
        };
        if revoked_by_id || revoked_by_subject {
            return Ok(RotationOutcome::Revoked);
        }
        if let Some(index) = counters
            .iter()
            .zip(&counts)
            .position(|(counter, count)| *count > counter.max)
        {
            return Ok(RotationOutcome::Limited(index));
        }
        store.put(fresh.key, fresh.value, fresh.ttl).await?;
        if !store.put_new(claim.key, claim.value, claim.ttl).await? {
            store.remove(fresh.key).await?;
            return Ok(RotationOutcome::Taken);
        }
        let (marked, removed) = join::both(store.put(marker.key, marker.value, marker.ttl), store.remove(retire)).await;
        marked?;
        removed?;
        Ok(RotationOutcome::Rotated)
    })
}
