//! [`RedisStore`]: the [`Store`] of a fleet, in Redis (feature `redis`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

mod refresh_script;
mod subscriber;

use self::subscriber::Subscriber;
use crate::store::contract::{Store, StoreError, StoreFuture};
use crate::store::events::{Invalidation, Listener, Listeners, Subscription};
use crate::store::refresh_rotation::{RefreshRotation, RotationOutcome};
use crate::store::resubscribe::{FIRST_RETRY, LONGEST_RETRY};

/// The default key prefix: every record lives under `auth:`, the events on `auth:invalidate`.
pub const DEFAULT_REDIS_PREFIX: &str = "auth:";
/// How long one Redis command (or connection attempt) may take before the store answers
/// [`StoreError::Unavailable`]: one second by default.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the event subscription may stay silent before it is checked with a `PING`: one
/// second by default. A subscription that died without a word is noticed within this plus the
/// timeout.
pub const DEFAULT_REDIS_HEARTBEAT: Duration = Duration::from_secs(1);

/// Longer times to live are cut to this (ten years): Redis keeps expiries in signed milliseconds.
const LONGEST_TTL_MS: u128 = 10 * 365 * 24 * 60 * 60 * 1000;

/// `INCR` that gives a new counter its time to live, in one step; -1 for a record that is not a
/// counter (instead of Redis's error text, which is not a contract).
const INCREMENT: &str = r"
local value = redis.call('GET', KEYS[1])
if value and not string.match(value, '^%d+$') then return -1 end
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
";

/// A [`Store`] in Redis (6.2 or later), shared by every instance of an app: sign-in links and
/// codes are single use across the fleet, revocations reach every instance, and each instance's
/// [`SessionCache`](crate::SessionCache) hears the others' invalidations over pub/sub.
///
/// - **Atomic steps**: [`put_new`](Store::put_new) is one `SET NX PX`, [`take`](Store::take)
///   one `GETDEL`, [`increment`](Store::increment) one Lua script (`INCR` and, for a new counter,
///   `PEXPIRE`), [`rotate_refresh`](Store::rotate_refresh) one Lua script (a refresh is two
///   round trips: its read, then this); never a read followed by a write. Times to live are set
///   in Redis (`PX`), at least one millisecond.
/// - **Keys** live under a prefix ([`DEFAULT_REDIS_PREFIX`] unless
///   [`prefix`](RedisStoreBuilder::prefix) says otherwise), so apps can share a Redis; events go
///   to the channel `<prefix>invalidate`.
/// - **Fail closed**: a command that cannot be answered within the
///   [`timeout`](RedisStoreBuilder::timeout) is [`StoreError::Unavailable`]; sign-in flows and
///   revocation checks then refuse, with no panic. Commands reconnect on their own (redis's
///   connection manager); a command that failed on a dropped connection is tried once more on the
///   new one. A retried step only ever errs towards refusal (a `take` whose answer was lost reads
///   as used; a rotation whose answer was lost finds its own claim, and the refresh answers with
///   the successor it saved).
/// - **Events**: one pub/sub connection per store, opened by the first
///   [`subscribe`](Store::subscribe), sends [`StoreEvent::Subscribed`](crate::store::StoreEvent::Subscribed) once Redis confirms the
///   subscription and [`StoreEvent::Interrupted`](crate::store::StoreEvent::Interrupted) when the connection drops or a `PING` goes
///   unanswered (checked after a [`heartbeat`](RedisStoreBuilder::heartbeat) of silence); it then
///   reconnects every 50 ms to 1 s until Redis answers, and sends `Subscribed` again.
///
/// **How long a revocation takes to reach every instance**: while subscriptions are live, one
/// pub/sub delivery (about a millisecond on a LAN). An instance whose subscription drops stops
/// serving cached sessions as soon as it notices, so it reads the revocation list on every request
/// until it has re-subscribed; it notices a closed connection at once and a silent one within
/// heartbeat + timeout (2 s by default). Past that, the cache's TTL (one minute by default) bounds
/// every cached answer whatever happens to the events.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use auth_runtime::store::{RedisStore, Store};
///
/// let store: Arc<dyn Store> = Arc::new(RedisStore::builder("redis://127.0.0.1:6379/").prefix("myapp:").connect().await?);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    commands: ConnectionManager,
    prefix: String,
    channel: String,
    timeout: Duration,
    heartbeat: Duration,
    listeners: Arc<Listeners>,
    /// The event subscription's task, started by the first `subscribe`; stopped on drop.
    subscriber: std::sync::OnceLock<tokio::task::AbortHandle>,
    runtime: tokio::runtime::Handle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self.subscriber.get() {
            task.abort();
        }
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may hold a password.
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.prefix)
            .field("timeout", &self.inner.timeout)
            .field("heartbeat", &self.inner.heartbeat)
            .field("subscribed", &self.inner.listeners.is_live())
            .finish_non_exhaustive()
    }
}

/// Configures a [`RedisStore`]; [`connect`](RedisStoreBuilder::connect) builds it.
#[derive(Clone)]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    timeout: Duration,
    heartbeat: Duration,
    accept_eviction: bool,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("heartbeat", &self.heartbeat)
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    /// The prefix of every key and of the event channel; [`DEFAULT_REDIS_PREFIX`] by default.
    /// Instances of one app must use the same; different apps sharing a Redis, different ones.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a command or a connection attempt may take; [`DEFAULT_REDIS_TIMEOUT`] by default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long the event subscription may be silent before a `PING` checks it;
    /// [`DEFAULT_REDIS_HEARTBEAT`] by default.
    pub fn heartbeat(mut self, heartbeat: Duration) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Lets [`connect`](Self::connect) succeed on a Redis that may evict keys
    /// (`maxmemory-policy` other than `noeviction`, or one that cannot be read because `CONFIG`
    /// is disabled, as on some managed services). Under memory pressure such a Redis can drop a
    /// revocation, a used-link marker or an attempt counter, and what it refused passes again:
    /// accept that only for a Redis you know is `noeviction` or never fills up.
    pub fn accept_eviction_risk(mut self) -> Self {
        self.accept_eviction = true;
        self
    }

    /// Connects (on the current tokio runtime) and checks that Redis answers, so a wrong URL or
    /// an unreachable server is reported at start-up, and that it never evicts keys
    /// (`maxmemory-policy noeviction`, Redis's default) unless
    /// [`accept_eviction_risk`](Self::accept_eviction_risk) says otherwise: the security records
    /// kept here must not disappear because memory ran short.
    pub async fn connect(self) -> Result<RedisStore, StoreError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(unavailable)?;
        let client = redis::Client::open(self.url.as_str()).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_min_delay(FIRST_RETRY)
            .set_max_delay(LONGEST_RETRY);
        let commands = within(
            self.timeout * 2,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await?;
        let store = RedisStore {
            inner: Arc::new(Inner {
                client,
                commands,
                channel: format!("{}invalidate", self.prefix),
                prefix: self.prefix,
                timeout: self.timeout,
                heartbeat: self.heartbeat,
                listeners: Arc::new(Listeners::new()),
                subscriber: std::sync::OnceLock::new(),
                runtime,
            }),
        };
        store.query::<redis::Value>(&redis::cmd("PING")).await?;
        if !self.accept_eviction {
            let policy = store.eviction_policy().await?;
            if policy != "noeviction" {
                return Err(StoreError::Evicts { policy });
            }
        }
        Ok(store)
    }
}

impl RedisStore {
    /// Configures a store at `url` (`redis://[:password@]host[:port][/db]`).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            timeout: DEFAULT_REDIS_TIMEOUT,
            heartbeat: DEFAULT_REDIS_HEARTBEAT,
            accept_eviction: false,
        }
    }

    /// Connects to `url` with the defaults; see [`builder`](RedisStore::builder).
    pub async fn connect(url: impl Into<String>) -> Result<RedisStore, StoreError> {
        RedisStore::builder(url).connect().await
    }

    /// The Redis key of a store key.
    pub fn redis_key(&self, key: &str) -> String {
        format!("{}{key}", self.inner.prefix)
    }

    /// The channel invalidation events go to.
    pub fn channel(&self) -> &str {
        &self.inner.channel
    }

    /// Whether the event subscription is live.
    pub fn is_subscribed(&self) -> bool {
        self.inner.listeners.is_live()
    }

    /// Redis's `maxmemory-policy`, or, when `CONFIG GET` is refused (disabled on some managed
    /// services), why it is unknown: either way not `noeviction`, so the caller fails closed.
    async fn eviction_policy(&self) -> Result<String, StoreError> {
        let mut command = redis::cmd("CONFIG");
        command.arg("GET").arg("maxmemory-policy");
        match self.query::<Vec<String>>(&command).await {
            Ok(reply) => Ok(reply.get(1).cloned().unwrap_or_else(|| "unknown".to_owned())),
            // Redis answered, with an error: the command is not allowed here.
            Err(StoreError::Unavailable(error)) if is_refusal(error.as_ref()) => {
                Ok(format!("unknown: CONFIG GET was refused ({error})"))
            }
            Err(error) => Err(error),
        }
    }

    /// Runs `command`, once more if the connection had dropped, each try within the timeout.
    async fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Result<T, StoreError> {
        let mut connection = self.inner.commands.clone();
        match within(self.inner.timeout, command.query_async::<T>(&mut connection)).await {
            Err(StoreError::Unavailable(error)) if is_connection_error(error.as_ref()) => {
                within(self.inner.timeout, command.query_async::<T>(&mut connection)).await
            }
            other => other,
        }
    }

    /// Runs `pipeline` (a `MULTI`/`EXEC` transaction), once more if the connection had dropped,
    /// each try within the timeout.
    async fn query_pipeline(&self, pipeline: &redis::Pipeline) -> Result<(), StoreError> {
        let mut connection = self.inner.commands.clone();
        match within(self.inner.timeout, pipeline.query_async::<()>(&mut connection)).await {
            Err(StoreError::Unavailable(error)) if is_connection_error(error.as_ref()) => {
                within(self.inner.timeout, pipeline.query_async::<()>(&mut connection)).await
            }
            other => other,
        }
    }

    /// Starts the event subscription's task, once.
    fn start_subscriber(&self) {
        self.inner.subscriber.get_or_init(|| {
            let subscriber = Subscriber {
                client: self.inner.client.clone(),
                channel: self.inner.channel.clone(),
                timeout: self.inner.timeout,
                heartbeat: self.inner.heartbeat,
                listeners: Arc::downgrade(&self.inner.listeners),
            };
            self.inner.runtime.spawn(subscriber.run()).abort_handle()
        });
    }
}

/// `future`, or [`StoreError::Unavailable`] after `timeout`.
async fn within<T>(timeout: Duration, future: impl Future<Output = redis::RedisResult<T>>) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, future).await {
        Ok(result) => result.map_err(unavailable),
        Err(elapsed) => Err(unavailable(elapsed)),
    }
}

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

fn is_connection_error(error: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    error
        .downcast_ref::<redis::RedisError>()
        .is_some_and(|error| error.is_io_error() || error.is_connection_dropped() || error.is_unrecoverable_error())
}

/// An error reply from a Redis that is up (an unknown or forbidden command), as opposed to one
/// that could not be reached or timed out.
fn is_refusal(error: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    error
        .downcast_ref::<redis::RedisError>()
        .is_some_and(|error| !(error.is_io_error() || error.is_connection_dropped() || error.is_timeout()))
}

/// A time to live in Redis's milliseconds: at least one, at most ten years.
fn milliseconds(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis().clamp(1, LONGEST_TTL_MS)).unwrap_or(1)
}

impl Store for RedisStore {
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut command = redis::cmd("SET");
            command
                .arg(self.redis_key(key))
                .arg(value)
                .arg("PX")
                .arg(milliseconds(ttl));
            self.query::<redis::Value>(&command).await.map(drop)
        })
    }

    fn put_new<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut command = redis::cmd("SET");
            command
                .arg(self.redis_key(key))
                .arg(value)
                .arg("NX")
                .arg("PX")
                .arg(milliseconds(ttl));
            // `OK` when this call set it, nil when the key was taken.
            Ok(self.query::<redis::Value>(&command).await? != redis::Value::Nil)
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let mut command = redis::cmd("GET");
            command.arg(self.redis_key(key));
            self.query(&command).await
        })
    }

    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let mut command = redis::cmd("GETDEL");
            command.arg(self.redis_key(key));
            self.query(&command).await
        })
    }

    fn increment<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let mut command = redis::cmd("EVAL");
            command
                .arg(INCREMENT)
                .arg(1)
                .arg(self.redis_key(key))
                .arg(milliseconds(ttl));
            let count: i64 = self.query(&command).await?;
            u64::try_from(count).map_err(|_| StoreError::NotACounter { key: key.to_owned() })
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut command = redis::cmd("DEL");
            command.arg(self.redis_key(key));
            self.query::<redis::Value>(&command).await.map(drop)
        })
    }

    fn publish<'a>(&'a self, invalidation: &'a Invalidation) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut command = redis::cmd("PUBLISH");
            command.arg(&self.inner.channel).arg(invalidation.encode());
            self.query::<redis::Value>(&command).await.map(drop)
        })
    }

    fn get_many<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, Vec<Option<Vec<u8>>>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let mut command = redis::cmd("MGET");
            for key in keys {
                command.arg(self.redis_key(key));
            }
            self.query(&command).await
        })
    }

    fn put_and_publish<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
        invalidation: &'a Invalidation,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut pipeline = redis::pipe();
            pipeline
                .atomic()
                .cmd("SET")
                .arg(self.redis_key(key))
                .arg(value)
                .arg("PX")
                .arg(milliseconds(ttl))
                .ignore()
                .cmd("PUBLISH")
                .arg(&self.inner.channel)
                .arg(invalidation.encode())
                .ignore();
            self.query_pipeline(&pipeline).await
        })
    }

    fn rotate_refresh<'a>(&'a self, rotation: RefreshRotation<'a>) -> StoreFuture<'a, RotationOutcome> {
        Box::pin(self.rotate_in_script(rotation))
    }

    fn subscribe(&self, listener: Listener) -> Subscription {
        let subscription = self.inner.listeners.add(listener);
        self.start_subscriber();
        subscription
    }
}
