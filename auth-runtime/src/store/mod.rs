//! The [`Store`]: what the sign-in flows must remember between requests (a link already used, a
//! pending one-time code and its attempt count, an OAuth `state` with its PKCE verifier and
//! nonce), kept outside the process's caches so single use survives a cache reset.
//!
//! Every operation that decides "first one wins" is one atomic step of the store
//! ([`put_new`](Store::put_new), [`take`](Store::take), [`increment`](Store::increment)), never a
//! read followed by a write, so a store shared by several instances keeps the same guarantees.
//! [`MemoryStore`] is the default, for one process; `SqliteStore` (feature `sqlite`) keeps the
//! records in one file so they survive a restart; `RedisStore` (feature `redis`) and
//! `PostgresStore` (feature `postgres`) share them with every instance of a fleet.
//!
//! A store also carries **cache invalidation events**: [`publish`](Store::publish) an
//! [`Invalidation`] (a session revoked, say) and every [`subscribe`](Store::subscribe)d listener,
//! on every instance sharing the store, hears it. A `SessionCache` (feature `middleware`) built
//! with `invalidations_from` drops the matching entries, and stops serving cached sessions while
//! its subscription is interrupted.

pub(crate) mod contract;
pub(crate) mod events;
pub(crate) mod memory;
pub(crate) mod metered;
#[cfg(feature = "redis")]
pub(crate) mod redis;
pub(crate) mod refresh_rotation;
#[cfg(any(feature = "redis", feature = "postgres"))]
pub(crate) mod resubscribe;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod sql;

pub use self::contract::{
    REFRESH_KEY_PREFIXES, SECURITY_KEY_PREFIXES, Store, StoreError, StoreFuture, is_refresh_key, is_security_key,
};
pub use self::events::{Invalidation, Listener, ListenerFn, Listeners, StoreEvent, Subscription};
pub use self::memory::{DEFAULT_REFRESH_CAPACITY, DEFAULT_SECURITY_CAPACITY, DEFAULT_STORE_CAPACITY, MemoryStore};
pub use self::metered::{MeteredStore, OperationStats, StoreStats};
#[cfg(feature = "redis")]
pub use self::redis::{
    DEFAULT_REDIS_HEARTBEAT, DEFAULT_REDIS_PREFIX, DEFAULT_REDIS_TIMEOUT, RedisStore, RedisStoreBuilder,
};
pub use self::refresh_rotation::{RefreshRotation, RotationCounter, RotationOutcome, RotationRecord};
#[cfg(feature = "postgres")]
pub use self::sql::postgres::{
    DEFAULT_POSTGRES_CONNECTIONS, DEFAULT_POSTGRES_HEARTBEAT, DEFAULT_POSTGRES_TIMEOUT, PostgresStore,
    PostgresStoreBuilder,
};
#[cfg(feature = "sqlite")]
pub use self::sql::sqlite::{DEFAULT_SQLITE_POLL_INTERVAL, DEFAULT_SQLITE_TIMEOUT, SqliteStore, SqliteStoreBuilder};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use self::sql::{DEFAULT_SQL_PREFIX, DEFAULT_SWEEP_INTERVAL, SQL_SCHEMA_VERSION};
