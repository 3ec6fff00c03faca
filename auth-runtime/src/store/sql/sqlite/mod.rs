//! [`SqliteStore`]: the [`Store`] in one SQLite file, for one instance that must remember across a
//! restart (feature `sqlite`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

mod events;

use self::events::{FileEvents, events_of};
use super::records::{PoolEngine, Records, sweep_every, within};
use super::{DEFAULT_SQL_PREFIX, DEFAULT_SWEEP_INTERVAL, Quotas, SQL_SCHEMA_VERSION, Statements, check_prefix};
use crate::clock::Clock;
use crate::store::contract::{Store, StoreError, StoreFuture};
use crate::store::events::{Invalidation, Listener, Subscription};

/// How long one statement may wait (for the file's write lock included) before the store answers
/// [`StoreError::Unavailable`]: five seconds by default.
pub const DEFAULT_SQLITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a process reads the events the other processes sharing its file published: every
/// 100 ms by default.
pub const DEFAULT_SQLITE_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// A [`Store`] in one SQLite file (feature `sqlite`): what the sign-in flows, revocations and
/// refresh families must remember survives a restart of the process, with nothing to run beside
/// it. The default of the quickstart.
///
/// - **One file**, in WAL mode with `synchronous = FULL`: a step that answered is on disk, so a
///   crash or a `kill -9` right after loses nothing that was answered (a power cut neither).
/// - **Atomic steps**: every [`Store`] step is one SQL statement (`INSERT ... ON CONFLICT`,
///   `DELETE ... RETURNING`, an `UPDATE` of a counter in the same statement), never a read
///   followed by a write; of two concurrent [`take`](Store::take)s, one gets the record.
/// - **Expiry** is kept in the row (Unix milliseconds of the store's clock): an expired row is
///   never returned, and a sweep every minute removes at most 10 000 of them (in batches of 1 000).
/// - **Quotas** per class of record, as [`MemoryStore`](crate::store::MemoryStore) has them: flows,
///   security records and refresh records each have their own, so flows filling theirs never make a
///   revocation fail. A write into a full class first sweeps that class's expired rows.
/// - **Events** reach every store of this process opened on the file at once, and the
///   processes sharing the file within a [`poll_interval`](SqliteStoreBuilder::poll_interval)
///   (100 ms by default): a publish is also a row of `<prefix>events`, which each process reads
///   in order and keeps for a minute. A process that cannot read them tells its caches
///   (`Interrupted`: they serve nothing from memory until it can read them again), and so does one
///   that did not read them for longer than a minute (some may be gone).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use auth_runtime::store::SqliteStore;
///
/// let store = SqliteStore::builder("data/auth.sqlite").connect().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    records: Arc<Records<PoolEngine<sqlx::Sqlite>>>,
    events: Arc<FileEvents>,
    path: PathBuf,
    sweeper: tokio::task::AbortHandle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.sweeper.abort();
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// Configures a [`SqliteStore`]; [`connect`](SqliteStoreBuilder::connect) opens it.
pub struct SqliteStoreBuilder {
    path: PathBuf,
    prefix: String,
    timeout: Duration,
    sweep_interval: Duration,
    poll_interval: Duration,
    quotas: Quotas,
    clock: Clock,
}

impl fmt::Debug for SqliteStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStoreBuilder")
            .field("path", &self.path)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SqliteStoreBuilder {
    /// The prefix of the tables (`<prefix>records`, `<prefix>schema`); [`DEFAULT_SQL_PREFIX`] by
    /// default. ASCII letters, digits and `_`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a statement may take, waiting for the write lock included;
    /// [`DEFAULT_SQLITE_TIMEOUT`] by default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How often this process reads the events other processes sharing the file published;
    /// [`DEFAULT_SQLITE_POLL_INTERVAL`] by default. The longest a revocation made in another
    /// process takes to reach this one's cache.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How often expired rows are swept; [`DEFAULT_SWEEP_INTERVAL`] by default.
    pub fn sweep_interval(mut self, interval: Duration) -> Self {
        self.sweep_interval = interval;
        self
    }

    /// The most rows each class may hold: flows (pending codes and sign-ins), security records
    /// (revocations, used links, attempt and rate counters) and refresh-token records. The
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

    /// Opens the file, creating it if missing (its folder must exist), creates or checks the
    /// schema, and starts the sweep on the current tokio runtime. A file written by a newer
    /// version of the schema is refused.
    pub async fn connect(self) -> Result<SqliteStore, StoreError> {
        check_prefix(&self.prefix)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(unavailable)?;
        let options = SqliteConnectOptions::new()
            .filename(&self.path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(self.timeout);
        let pool = within(
            self.timeout,
            SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(self.timeout)
                .connect_with(options),
        )
        .await
        .map_err(|error| opening(&self.path, error))?;
        let engine = PoolEngine {
            pool,
            timeout: self.timeout,
        };
        engine
            .create_schema(&self.prefix)
            .await
            .map_err(|error| opening(&self.path, error))?;
        let records = Arc::new(Records {
            engine,
            statements: Statements::new(&self.prefix, '?'),
            quotas: self.quotas,
            clock: self.clock,
        });
        let sweeper = runtime
            .spawn(sweep_every(Arc::downgrade(&records), self.sweep_interval))
            .abort_handle();
        let events = events_of(
            &self.path,
            &self.prefix,
            &records.engine,
            &records.clock,
            self.poll_interval,
            &runtime,
        );
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                records,
                events,
                path: self.path,
                sweeper,
            }),
        })
    }
}

impl SqliteStore {
    /// Configures a store in the file at `path`.
    pub fn builder(path: impl AsRef<Path>) -> SqliteStoreBuilder {
        SqliteStoreBuilder {
            path: path.as_ref().to_owned(),
            prefix: DEFAULT_SQL_PREFIX.to_owned(),
            timeout: DEFAULT_SQLITE_TIMEOUT,
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
            poll_interval: DEFAULT_SQLITE_POLL_INTERVAL,
            quotas: Quotas::default(),
            clock: Clock::system(),
        }
    }

    /// Opens the file at `path` with the defaults; see [`builder`](SqliteStore::builder).
    pub async fn connect(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        SqliteStore::builder(path).connect().await
    }

    /// Removes expired rows now (at most 10 000), as the periodic sweep does; how many went.
    pub async fn sweep(&self) -> Result<u64, StoreError> {
        self.inner.records.sweep().await
    }

    /// The file the store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }
}

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

/// An error opening the file, with the file's name in it.
fn opening(path: &Path, error: StoreError) -> StoreError {
    StoreError::Unavailable(format!("cannot open the SQLite store {}: {error}", path.display()).into())
}

impl PoolEngine<sqlx::Sqlite> {
    async fn create_schema(&self, prefix: &str) -> Result<(), StoreError> {
        let mut connection = within(self.timeout, self.pool.acquire()).await?;
        // One transaction that takes the write lock at once: two processes opening a new file
        // together create it once.
        let script = format!(
            "BEGIN IMMEDIATE;
             CREATE TABLE IF NOT EXISTS {prefix}records (
                 key TEXT PRIMARY KEY NOT NULL, value BLOB, counter INTEGER,
                 expires_at INTEGER NOT NULL, class INTEGER NOT NULL) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS {prefix}records_expiry ON {prefix}records (class, expires_at);
             CREATE TABLE IF NOT EXISTS {prefix}counts (class INTEGER PRIMARY KEY, rows INTEGER NOT NULL);
             INSERT OR IGNORE INTO {prefix}counts (class, rows) VALUES (0, 0), (1, 0), (2, 0);
             CREATE TRIGGER IF NOT EXISTS {prefix}records_added AFTER INSERT ON {prefix}records
                 BEGIN UPDATE {prefix}counts SET rows = rows + 1 WHERE class = NEW.class; END;
             CREATE TRIGGER IF NOT EXISTS {prefix}records_removed AFTER DELETE ON {prefix}records
                 BEGIN UPDATE {prefix}counts SET rows = rows - 1 WHERE class = OLD.class; END;
             CREATE TABLE IF NOT EXISTS {prefix}events (
                 id INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL,
                 message TEXT NOT NULL, at INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS {prefix}credentials (
                 email TEXT PRIMARY KEY NOT NULL, subject TEXT NOT NULL, hash BLOB NOT NULL,
                 updated_at INTEGER NOT NULL) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS {prefix}schema (version INTEGER NOT NULL);
             INSERT INTO {prefix}schema (version) SELECT {SQL_SCHEMA_VERSION}
                 WHERE NOT EXISTS (SELECT 1 FROM {prefix}schema);
             COMMIT;"
        );
        let created = within(self.timeout, sqlx::raw_sql(&script).execute(&mut *connection)).await;
        if let Err(error) = created {
            // Leave no transaction open on a connection that goes back to the pool.
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *connection).await;
            return Err(error);
        }
        let version: i64 = within(
            self.timeout,
            sqlx::query_scalar(&format!("SELECT max(version) FROM {prefix}schema")).fetch_one(&mut *connection),
        )
        .await?;
        super::check_version(version)
    }
}

impl SqliteStore {
    /// The records and their steps (the `Store` steps, and the password credentials').
    pub(crate) fn records(&self) -> &Records<PoolEngine<sqlx::Sqlite>> {
        &self.inner.records
    }
}

impl Store for SqliteStore {
    super::records::record_steps!();

    fn publish<'a>(&'a self, invalidation: &'a Invalidation) -> StoreFuture<'a, ()> {
        let records = &self.inner.records;
        Box::pin(self.inner.events.publish(&records.engine, &records.clock, invalidation))
    }

    fn subscribe(&self, listener: Listener) -> Subscription {
        self.inner.events.listeners.add(listener)
    }
}
