//! Invalidation events between the processes that share one SQLite file: a publish is a row in
//! `<prefix>events` (and is delivered in this process at once); each process polls the table and
//! delivers the rows other processes wrote. Rows are kept for [`RETENTION`], so a process that did
//! not poll for that long may have missed some, and says so (`Interrupted`, then `Subscribed`: the
//! caches start afresh).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::store::contract::StoreError;
use crate::store::events::{Invalidation, Listeners, StoreEvent};
use crate::store::sql::records::{PoolEngine, within};
use crate::store::sql::unix_ms;
use crate::telemetry::event;

/// How long a published event stays in the table for the other processes to read.
pub(super) const RETENTION: Duration = Duration::from_secs(60);
/// Events read in one poll at most; the rest come with the next.
const POLL_BATCH: i64 = 1_000;

/// The listeners of every store this process opened on one file (and table prefix), and the
/// task that reads the other processes' events for them.
pub(super) struct FileEvents {
    pub(super) listeners: Listeners,
    /// This process's mark on the rows it writes, so it does not deliver its own events twice.
    origin: String,
    table: String,
    poller: OnceLock<tokio::task::AbortHandle>,
}

impl Drop for FileEvents {
    fn drop(&mut self) {
        if let Some(poller) = self.poller.get() {
            poller.abort();
        }
    }
}

impl FileEvents {
    /// Writes `invalidation` for the other processes, then delivers it here.
    pub(super) async fn publish(
        &self,
        engine: &PoolEngine<sqlx::Sqlite>,
        clock: &Clock,
        invalidation: &Invalidation,
    ) -> Result<(), StoreError> {
        let insert = format!("INSERT INTO {} (origin, message, at) VALUES (?1, ?2, ?3)", self.table);
        let query = sqlx::query(&insert)
            .bind(&self.origin)
            .bind(invalidation.encode())
            .bind(unix_ms(clock.now())?);
        within(engine.timeout, query.execute(&engine.pool)).await?;
        self.listeners.emit(&StoreEvent::Invalidate(invalidation.clone()));
        Ok(())
    }
}

/// The events of the file at `path` in this process: the group already open, or a new one whose
/// poller (on `runtime`, every `interval`) starts now. Live from the start: events from before
/// this process opened the file concern caches it did not have.
pub(super) fn events_of(
    path: &Path,
    prefix: &str,
    engine: &PoolEngine<sqlx::Sqlite>,
    clock: &Clock,
    interval: Duration,
    runtime: &tokio::runtime::Handle,
) -> Arc<FileEvents> {
    static OPEN: Mutex<Vec<(PathBuf, String, Weak<FileEvents>)>> = Mutex::new(Vec::new());
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let mut open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
    open.retain(|(_, _, events)| events.strong_count() > 0);
    let found = open
        .iter()
        .find(|(file, table_prefix, _)| *file == path && table_prefix == prefix)
        .and_then(|(_, _, events)| events.upgrade());
    if let Some(events) = found {
        return events;
    }
    let mut mark = [0u8; 12];
    let origin = match getrandom::getrandom(&mut mark) {
        Ok(()) => mark.iter().map(|byte| format!("{byte:02x}")).collect(),
        // Without randomness, the process id and the time still tell processes apart.
        Err(_) => format!("{}-{:?}", std::process::id(), clock.now()),
    };
    let events = Arc::new(FileEvents {
        listeners: Listeners::new(),
        origin,
        table: format!("{prefix}events"),
        poller: OnceLock::new(),
    });
    events.listeners.emit(&StoreEvent::Subscribed);
    let poller = Poller {
        events: Arc::downgrade(&events),
        pool: engine.pool.clone(),
        timeout: engine.timeout,
        clock: clock.clone(),
        interval,
    };
    let _ = events.poller.set(runtime.spawn(poller.run()).abort_handle());
    open.push((path, prefix.to_owned(), Arc::downgrade(&events)));
    events
}

/// Reads the rows other processes wrote, in order, every `interval`, until the group is dropped.
struct Poller {
    events: Weak<FileEvents>,
    pool: sqlx::SqlitePool,
    timeout: Duration,
    clock: Clock,
    interval: Duration,
}

impl Poller {
    async fn run(self) {
        let mut last = self.newest().await.unwrap_or(0);
        let mut last_read = Instant::now();
        let mut polls: u64 = 0;
        loop {
            tokio::time::sleep(self.interval).await;
            let Some(events) = self.events.upgrade() else {
                return;
            };
            match self.read(&events.table, last).await {
                Ok(rows) => {
                    if last_read.elapsed() >= RETENTION && events.listeners.is_live() {
                        // Asleep for longer than rows are kept: some may be gone unread.
                        events.listeners.emit(&StoreEvent::Interrupted);
                    }
                    if !events.listeners.is_live() {
                        event!(info, STORE, "SQLite events read again; cached sessions start afresh");
                        events.listeners.emit(&StoreEvent::Subscribed);
                    }
                    last_read = Instant::now();
                    for (id, origin, message) in rows {
                        last = id;
                        if origin != events.origin {
                            let invalidation = Invalidation::decode(message.as_bytes());
                            events.listeners.emit(&StoreEvent::Invalidate(invalidation));
                        }
                    }
                }
                Err(_) => {
                    if events.listeners.is_live() {
                        event!(
                            warn,
                            STORE,
                            "SQLite events cannot be read; caches serve nothing from memory until they can"
                        );
                        events.listeners.emit(&StoreEvent::Interrupted);
                    }
                }
            }
            polls += 1;
            if polls.is_multiple_of(100) {
                let _ = self.prune(&events.table).await;
            }
        }
    }

    async fn newest(&self) -> Result<i64, StoreError> {
        let Some(events) = self.events.upgrade() else {
            return Ok(0);
        };
        let newest = format!("SELECT coalesce(max(id), 0) FROM {}", events.table);
        within(self.timeout, sqlx::query_scalar(&newest).fetch_one(&self.pool)).await
    }

    async fn read(&self, table: &str, after: i64) -> Result<Vec<(i64, String, String)>, StoreError> {
        let read = format!("SELECT id, origin, message FROM {table} WHERE id > ?1 ORDER BY id LIMIT ?2");
        let query = sqlx::query_as(&read).bind(after).bind(POLL_BATCH);
        within(self.timeout, query.fetch_all(&self.pool)).await
    }

    async fn prune(&self, table: &str) -> Result<(), StoreError> {
        let kept = i64::try_from(RETENTION.as_millis()).unwrap_or(i64::MAX);
        let prune = format!("DELETE FROM {table} WHERE at < ?1");
        let query = sqlx::query(&prune).bind(unix_ms(self.clock.now())?.saturating_sub(kept));
        within(self.timeout, query.execute(&self.pool)).await.map(drop)
    }
}
