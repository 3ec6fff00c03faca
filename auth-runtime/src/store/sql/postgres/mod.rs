//! [`PostgresStore`]: the [`Store`] of a fleet in PostgreSQL (feature `postgres`), with cache
//! invalidations through `LISTEN`/`NOTIFY`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sqlx::postgres::PgPoolOptions;

mod listener;

use self::listener::Subscriber;
use super::records::{PoolEngine, Records, sweep_every, within};
use super::{DEFAULT_SQL_PREFIX, DEFAULT_SWEEP_INTERVAL, Quotas, SQL_SCHEMA_VERSION, Statements, check_prefix};
use crate::clock::Clock;
use crate::store::contract::{Store, StoreError, StoreFuture};
use crate::store::events::{Invalidation, Listener, Listeners, Subscription};

/// How long one statement (or taking a connection from the pool) may take before the store
/// answers [`StoreError::Unavailable`]: one second by default.
pub const DEFAULT_POSTGRES_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the notification listener may stay silent before it checks its connection (a
/// `NOTIFY` to itself that must come back within the timeout): one second by default.
pub const DEFAULT_POSTGRES_HEARTBEAT: Duration = Duration::from_secs(1);
/// Connections in the pool of one store; once something subscribes, the notification listener
/// holds one of them.
pub const DEFAULT_POSTGRES_CONNECTIONS: u32 = 8;

/// A [`Store`] in PostgreSQL, shared by every instance of an app (feature `postgres`): records
/// survive restarts of the app, sign-in links and codes are single use across the fleet,
/// revocations reach every instance, and each instance's cache hears the others' invalidations.
///
/// - **Atomic steps**: each step is one statement: `INSERT ... ON CONFLICT DO NOTHING`-style
///   writes (`ON CONFLICT ... DO UPDATE ... WHERE` the row has expired, so an expired record is
///   replaced and a live one kept), `DELETE ... RETURNING` for [`take`](Store::take), and a counter
///   updated and returned in the same `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`.
///   [`put_and_publish`](Store::put_and_publish) writes and calls `pg_notify` in one statement, so
///   the revocation and its event are both committed or neither.
/// - **Schema**: `<prefix>records` and `<prefix>schema`, created at
///   [`connect`](PostgresStoreBuilder::connect) under an advisory lock (instances starting together
///   create them once), with the schema version recorded; a newer version is refused.
/// - **Expiry** in the row (Unix milliseconds of the instance's clock: keep the fleet's clocks in
///   step, as token expiry already needs); expired rows are never returned, and each instance
///   sweeps at most 10 000 a minute.
/// - **Quotas** per class of record, as [`MemoryStore`](crate::store::MemoryStore) has them, read
///   from a count per class that triggers keep (one row read per write, whatever the store
///   holds). Concurrent writers can pass a full quota by at most the number of connections
///   writing at that moment.
/// - **Events**: one `LISTEN` connection per store, opened by the first
///   [`subscribe`](Store::subscribe), sends
///   [`StoreEvent::Subscribed`](crate::store::StoreEvent::Subscribed) once PostgreSQL confirms the
///   `LISTEN`, and [`StoreEvent::Interrupted`](crate::store::StoreEvent::Interrupted) when the
///   connection drops or a heartbeat (a `NOTIFY` to itself after a
///   [`heartbeat`](PostgresStoreBuilder::heartbeat) of silence) does not come back within the
///   timeout; it reconnects every 50 ms to 1 s and sends `Subscribed` again.
///
/// **How long a revocation takes to reach every instance**: one notification (PostgreSQL delivers
/// it at commit). An instance whose listener is down serves nothing from its cache until it is
/// back: it notices a closed connection at once and a silent one within heartbeat + timeout (2 s by
/// default).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use auth_runtime::store::PostgresStore;
///
/// let store = PostgresStore::builder("postgres://app@127.0.0.1/app").connect().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    records: Arc<Records<PoolEngine<sqlx::Postgres>>>,
    channel: String,
    /// The put statement with `pg_notify($6, $7)` of the written row: a record and its event in
    /// one statement.
    put_and_notify: String,
    heartbeat: Duration,
    listeners: Arc<Listeners>,
    subscriber: std::sync::OnceLock<tokio::task::AbortHandle>,
    sweeper: tokio::task::AbortHandle,
    runtime: tokio::runtime::Handle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.sweeper.abort();
        if let Some(task) = self.subscriber.get() {
            task.abort();
        }
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may hold a password.
        f.debug_struct("PostgresStore")
            .field("channel", &self.inner.channel)
            .field("subscribed", &self.inner.listeners.is_live())
            .finish_non_exhaustive()
    }
}

/// Configures a [`PostgresStore`]; [`connect`](PostgresStoreBuilder::connect) builds it.
pub struct PostgresStoreBuilder {
    url: String,
    prefix: String,
    timeout: Duration,
    heartbeat: Duration,
    connections: u32,
    sweep_interval: Duration,
    quotas: Quotas,
    clock: Clock,
}

impl fmt::Debug for PostgresStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStoreBuilder")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("heartbeat", &self.heartbeat)
            .finish_non_exhaustive()
    }
}

impl PostgresStoreBuilder {
    /// The prefix of the tables and of the notification channel (`<prefix>invalidate`);
    /// [`DEFAULT_SQL_PREFIX`] by default. Instances of one app must use the same.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a statement or a connection attempt may take; [`DEFAULT_POSTGRES_TIMEOUT`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long the listener may be silent before it checks its connection;
    /// [`DEFAULT_POSTGRES_HEARTBEAT`].
    pub fn heartbeat(mut self, heartbeat: Duration) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// The most connections of the pool, at least 2 (the notification listener holds one);
    /// [`DEFAULT_POSTGRES_CONNECTIONS`].
    pub fn connections(mut self, connections: u32) -> Self {
        self.connections = connections.max(2);
        self
    }

    /// How often expired rows are swept; [`DEFAULT_SWEEP_INTERVAL`].
    pub fn sweep_interval(mut self, interval: Duration) -> Self {
        self.sweep_interval = interval;
        self
    }

    /// The most rows each class may hold: flows, security records and refresh-token records. The
    /// defaults are [`MemoryStore`](crate::store::MemoryStore)'s.
    pub fn capacities(mut self, flows: usize, security: usize, refresh: usize) -> Self {
        self.quotas = Quotas {
            flows,
            security,
            refresh,
        };
        self
    }

    /// The clock expiries are read against; the system's by default.
    pub fn clock(mut self, now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Clock::custom(now);
        self
    }

    /// Connects (on the current tokio runtime), creates or checks the schema, and starts the
    /// sweep; a wrong URL or an unreachable server is reported here.
    pub async fn connect(self) -> Result<PostgresStore, StoreError> {
        check_prefix(&self.prefix)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(unavailable)?;
        let pool = within(
            self.timeout * 2,
            PgPoolOptions::new()
                .max_connections(self.connections)
                .acquire_timeout(self.timeout)
                .connect(&self.url),
        )
        .await?;
        let engine = PoolEngine {
            pool,
            timeout: self.timeout,
        };
        engine.create_schema(&self.prefix).await?;
        let statements = Statements::new(&self.prefix, '$');
        let put_and_notify = format!(
            "WITH written AS ({}) SELECT pg_notify($6, $7) FROM written",
            statements.put
        );
        let records = Arc::new(Records {
            engine,
            statements,
            quotas: self.quotas,
            clock: self.clock,
        });
        let sweeper = runtime
            .spawn(sweep_every(Arc::downgrade(&records), self.sweep_interval))
            .abort_handle();
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                records,
                channel: format!("{}invalidate", self.prefix),
                put_and_notify,
                heartbeat: self.heartbeat,
                listeners: Arc::new(Listeners::new()),
                subscriber: std::sync::OnceLock::new(),
                sweeper,
                runtime,
            }),
        })
    }
}

impl PostgresStore {
    /// Configures a store at `url` (`postgres://user[:password]@host[:port]/database`).
    pub fn builder(url: impl Into<String>) -> PostgresStoreBuilder {
        PostgresStoreBuilder {
            url: url.into(),
            prefix: DEFAULT_SQL_PREFIX.to_owned(),
            timeout: DEFAULT_POSTGRES_TIMEOUT,
            heartbeat: DEFAULT_POSTGRES_HEARTBEAT,
            connections: DEFAULT_POSTGRES_CONNECTIONS,
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
            quotas: Quotas::default(),
            clock: Clock::system(),
        }
    }

    /// Connects to `url` with the defaults; see [`builder`](PostgresStore::builder).
    pub async fn connect(url: impl Into<String>) -> Result<PostgresStore, StoreError> {
        PostgresStore::builder(url).connect().await
    }

    /// The channel invalidation events go to.
    pub fn channel(&self) -> &str {
        &self.inner.channel
    }

    /// Whether the notification listener is live.
    pub fn is_subscribed(&self) -> bool {
        self.inner.listeners.is_live()
    }

    /// Removes expired rows now (at most 10 000), as the periodic sweep does; how many went.
    pub async fn sweep(&self) -> Result<u64, StoreError> {
        self.inner.records.sweep().await
    }

    fn start_subscriber(&self) {
        self.inner.subscriber.get_or_init(|| {
            let subscriber = Subscriber {
                pool: self.inner.records.engine.pool.clone(),
                channel: self.inner.channel.clone(),
                timeout: self.inner.records.engine.timeout,
                heartbeat: self.inner.heartbeat,
                listeners: Arc::downgrade(&self.inner.listeners),
            };
            self.inner.runtime.spawn(subscriber.run()).abort_handle()
        });
    }
}

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

impl PoolEngine<sqlx::Postgres> {
    async fn create_schema(&self, prefix: &str) -> Result<(), StoreError> {
        let mut transaction = within(self.timeout, self.pool.begin()).await?;
        // Instances starting together wait for each other here, so the tables are created once.
        let script = format!(
            "SELECT pg_advisory_xact_lock(hashtext('{prefix}schema'));
             CREATE TABLE IF NOT EXISTS {prefix}records (
                 key TEXT PRIMARY KEY, value BYTEA, counter BIGINT,
                 expires_at BIGINT NOT NULL, class BIGINT NOT NULL);
             CREATE INDEX IF NOT EXISTS {prefix}records_expiry ON {prefix}records (class, expires_at);
             CREATE TABLE IF NOT EXISTS {prefix}counts (class BIGINT PRIMARY KEY, rows BIGINT NOT NULL);
             INSERT INTO {prefix}counts (class, rows) VALUES (0, 0), (1, 0), (2, 0) ON CONFLICT DO NOTHING;
             CREATE OR REPLACE FUNCTION {prefix}count_rows() RETURNS trigger LANGUAGE plpgsql AS $body$
             BEGIN
                 IF TG_OP = 'INSERT' THEN
                     UPDATE {prefix}counts SET rows = rows + 1 WHERE class = NEW.class;
                 ELSE
                     UPDATE {prefix}counts SET rows = rows - 1 WHERE class = OLD.class;
                 END IF;
                 RETURN NULL;
             END $body$;
             DROP TRIGGER IF EXISTS {prefix}records_counted ON {prefix}records;
             CREATE TRIGGER {prefix}records_counted AFTER INSERT OR DELETE ON {prefix}records
                 FOR EACH ROW EXECUTE FUNCTION {prefix}count_rows();
             CREATE TABLE IF NOT EXISTS {prefix}credentials (
                 email TEXT PRIMARY KEY, subject TEXT NOT NULL, hash BYTEA NOT NULL,
                 updated_at BIGINT NOT NULL);
             CREATE TABLE IF NOT EXISTS {prefix}schema (version BIGINT NOT NULL);
             INSERT INTO {prefix}schema (version) SELECT {SQL_SCHEMA_VERSION}
                 WHERE NOT EXISTS (SELECT 1 FROM {prefix}schema);"
        );
        within(self.timeout, sqlx::raw_sql(&script).execute(&mut *transaction)).await?;
        let version: i64 = within(
            self.timeout,
            sqlx::query_scalar(&format!("SELECT max(version) FROM {prefix}schema")).fetch_one(&mut *transaction),
        )
        .await?;
        super::check_version(version)?;
        within(self.timeout, transaction.commit()).await
    }
}

impl PostgresStore {
    /// The records and their steps (the `Store` steps, and the password credentials').
    pub(crate) fn records(&self) -> &Records<PoolEngine<sqlx::Postgres>> {
        &self.inner.records
    }
}

impl Store for PostgresStore {
    super::records::record_steps!();

    fn publish<'a>(&'a self, invalidation: &'a Invalidation) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let engine = &self.inner.records.engine;
            let notify = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(&self.inner.channel)
                .bind(invalidation.encode());
            within(engine.timeout, notify.execute(&engine.pool)).await.map(drop)
        })
    }

    /// One statement: the record is written and `pg_notify` called in the same transaction, so
    /// PostgreSQL commits both or neither (the notification is delivered at commit).
    fn put_and_publish<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
        invalidation: &'a Invalidation,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let message = invalidation.encode();
            let texts = [self.inner.channel.as_str(), message.as_str()];
            let put_and_notify = &self.inner.put_and_notify;
            self.inner
                .records
                .put_with(put_and_notify, key, value, ttl, &texts)
                .await
        })
    }

    fn subscribe(&self, listener: Listener) -> Subscription {
        let subscription = self.inner.listeners.add(listener);
        self.start_subscriber();
        subscription
    }
}
