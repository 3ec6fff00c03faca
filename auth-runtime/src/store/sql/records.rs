//! The [`Store`](crate::store::Store) steps over one table of records, written once for both SQL
//! engines: each engine runs statements ([`Engine`]), this runs the steps, the quotas and the sweep.

use std::time::Duration;

use super::{Class, Quotas, SWEEP_BATCH, SWEEP_ROUNDS, Statements, expiry, record, unix_ms};
use crate::clock::Clock;
use crate::store::contract::{StoreError, StoreFuture};

/// A value bound to a statement's placeholder.
#[derive(Debug)]
pub(crate) enum Bind<'a> {
    Text(&'a str),
    Bytes(Option<Vec<u8>>),
    Int(i64),
}

/// The columns a statement returned, by name; those it did not return are `None`.
#[derive(Debug, Default)]
pub(crate) struct Row {
    pub(crate) key: Option<String>,
    pub(crate) value: Option<Vec<u8>>,
    pub(crate) counter: Option<i64>,
    pub(crate) expires_at: Option<i64>,
}

/// Runs one statement on an engine's pool, within the store's timeout.
pub(crate) trait Engine: Send + Sync + 'static {
    /// The rows the statement returned.
    fn rows<'a>(&'a self, sql: &'a str, binds: Vec<Bind<'a>>) -> StoreFuture<'a, Vec<Row>>;
    /// How many rows the statement changed.
    fn execute<'a>(&'a self, sql: &'a str, binds: Vec<Bind<'a>>) -> StoreFuture<'a, u64>;
}

/// The engine of either database: statements on its sqlx pool, each within `timeout`.
pub(crate) struct PoolEngine<DB: sqlx::Database> {
    pub(crate) pool: sqlx::Pool<DB>,
    pub(crate) timeout: Duration,
}

impl<DB> Engine for PoolEngine<DB>
where
    DB: sqlx::Database,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as sqlx::Database>::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<Vec<u8>>: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
    for<'r> String: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    for<'s> &'s str: sqlx::ColumnIndex<<DB as sqlx::Database>::Row>,
{
    fn rows<'a>(&'a self, sql: &'a str, binds: Vec<Bind<'a>>) -> StoreFuture<'a, Vec<Row>> {
        Box::pin(async move {
            let mut query = sqlx::query::<DB>(sql);
            for bind in binds {
                query = match bind {
                    Bind::Text(text) => query.bind(text),
                    Bind::Bytes(bytes) => query.bind(bytes),
                    Bind::Int(int) => query.bind(int),
                };
            }
            let rows = within(self.timeout, query.fetch_all(&self.pool)).await?;
            Ok(rows.iter().map(read).collect())
        })
    }

    /// Runs a statement ending in `RETURNING 1` and counts its rows (sqlx has no
    /// engine-independent `rows_affected`).
    fn execute<'a>(&'a self, sql: &'a str, binds: Vec<Bind<'a>>) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let rows = self.rows(sql, binds).await?;
            Ok(u64::try_from(rows.len()).unwrap_or(u64::MAX))
        })
    }
}

/// The columns of `row` this module reads, those missing as `None`.
fn read<R>(row: &R) -> Row
where
    R: sqlx::Row,
    for<'s> &'s str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Row {
        key: row.try_get("key").ok(),
        value: row.try_get("value").ok().flatten(),
        counter: row.try_get("counter").ok().flatten(),
        expires_at: row.try_get("expires_at").ok(),
    }
}

/// The `Store` steps a SQL store answers from its [`Records`] (reached by its `records()`):
/// written once for both engines, inside each `impl Store`.
macro_rules! record_steps {
    () => {
        fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
            Box::pin(self.records().put(key, value, ttl))
        }

        fn put_new<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, bool> {
            Box::pin(self.records().put_new(key, value, ttl))
        }

        fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
            Box::pin(self.records().get(key))
        }

        fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
            Box::pin(self.records().take(key))
        }

        fn increment<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, u64> {
            Box::pin(self.records().increment(key, ttl))
        }

        fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
            Box::pin(self.records().remove(key))
        }

        fn get_many<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, Vec<Option<Vec<u8>>>> {
            Box::pin(self.records().get_many(keys))
        }
    };
}
pub(crate) use record_steps;

/// The steps of a SQL store over its engine.
pub(crate) struct Records<E> {
    pub(crate) engine: E,
    pub(crate) statements: Statements,
    pub(crate) quotas: Quotas,
    pub(crate) clock: Clock,
}

impl<E: Engine> Records<E> {
    fn now(&self) -> Result<i64, StoreError> {
        unix_ms(self.clock.now())
    }

    /// After a first try at a write that found no room: sweeps the class's expired rows.
    async fn make_room(&self, key: &str, attempt: usize) -> Result<(), StoreError> {
        if attempt == 0 {
            self.sweep_class(Class::of(key)).await?;
        }
        Ok(())
    }

    /// Two tries found no room.
    fn full(&self, key: &str) -> StoreError {
        StoreError::Full {
            capacity: self.quotas.of(Class::of(key)),
        }
    }

    fn row_binds<'a>(&self, key: &'a str, value: Option<Vec<u8>>, expires_at: i64, now: i64) -> Vec<Bind<'a>> {
        let class = Class::of(key);
        vec![
            Bind::Text(key),
            Bind::Bytes(value),
            Bind::Int(expires_at),
            Bind::Int(class.code()),
            Bind::Int(i64::try_from(self.quotas.of(class)).unwrap_or(i64::MAX)),
            Bind::Int(now),
        ]
    }

    pub(crate) async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        self.put_with(&self.statements.put, key, value, ttl, &[]).await
    }

    /// [`put`](Self::put) by `sql`: the put statement itself, or one that wraps it and returns a
    /// row when the record was written (its placeholders after the put's five bound to `texts`).
    pub(crate) async fn put_with(
        &self,
        sql: &str,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
        texts: &[&str],
    ) -> Result<(), StoreError> {
        let now = self.now()?;
        for attempt in 0..2 {
            let mut binds = self.row_binds(key, Some(value.clone()), expiry(now, ttl), now);
            binds.truncate(5);
            binds.extend(texts.iter().map(|text| Bind::Text(text)));
            if !self.engine.rows(sql, binds).await?.is_empty() {
                return Ok(());
            }
            self.make_room(key, attempt).await?;
        }
        Err(self.full(key))
    }

    pub(crate) async fn put_new(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<bool, StoreError> {
        let now = self.now()?;
        for attempt in 0..2 {
            let binds = self.row_binds(key, Some(value.clone()), expiry(now, ttl), now);
            if !self.engine.rows(&self.statements.put_new, binds).await?.is_empty() {
                return Ok(true);
            }
            // Nothing written: the key is taken by a live record, or its class has no room.
            let live = self
                .engine
                .rows(&self.statements.live, vec![Bind::Text(key), Bind::Int(now)])
                .await?;
            if !live.is_empty() {
                return Ok(false);
            }
            self.make_room(key, attempt).await?;
        }
        Err(self.full(key))
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.now()?;
        let rows = self
            .engine
            .rows(&self.statements.get, vec![Bind::Text(key), Bind::Int(now)])
            .await?;
        Ok(rows.into_iter().next().and_then(|row| record(row.value, row.counter)))
    }

    pub(crate) async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.now()?;
        let rows = self.engine.rows(&self.statements.take, vec![Bind::Text(key)]).await?;
        Ok(rows
            .into_iter()
            .next()
            .filter(|row| row.expires_at.is_some_and(|expires_at| expires_at > now))
            .and_then(|row| record(row.value, row.counter)))
    }

    pub(crate) async fn increment(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        let now = self.now()?;
        for attempt in 0..2 {
            let binds = self.row_binds(key, None, expiry(now, ttl), now);
            match self
                .engine
                .rows(&self.statements.increment, binds)
                .await?
                .into_iter()
                .next()
            {
                None => self.make_room(key, attempt).await?,
                Some(Row {
                    counter: Some(count), ..
                }) => return Ok(u64::try_from(count).unwrap_or(0)),
                Some(_) => return Err(StoreError::NotACounter { key: key.to_owned() }),
            }
        }
        Err(self.full(key))
    }

    pub(crate) async fn remove(&self, key: &str) -> Result<(), StoreError> {
        self.engine
            .execute(&self.statements.remove, vec![Bind::Text(key)])
            .await
            .map(drop)
    }

    pub(crate) async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.now()?;
        let sql = self.statements.get_many(keys.len());
        let mut binds = vec![Bind::Int(now)];
        binds.extend(keys.iter().map(|key| Bind::Text(key)));
        let rows = self.engine.rows(&sql, binds).await?;
        Ok(keys
            .iter()
            .map(|key| {
                rows.iter()
                    .find(|row| row.key.as_deref() == Some(key.as_str()))
                    .and_then(|row| record(row.value.clone(), row.counter))
            })
            .collect())
    }

    /// Removes at most one batch of the class's expired rows.
    async fn sweep_class(&self, class: Class) -> Result<u64, StoreError> {
        let binds = vec![Bind::Int(self.now()?), Bind::Int(SWEEP_BATCH), Bind::Int(class.code())];
        self.engine.execute(&self.statements.sweep_class, binds).await
    }

    /// Removes expired rows, a class at a time (so two instances sweeping at once never wait on
    /// each other's class counts in opposite orders) and a batch at a time, at most
    /// [`SWEEP_ROUNDS`] batches; how many went.
    pub(crate) async fn sweep(&self) -> Result<u64, StoreError> {
        let mut removed = 0;
        let mut rounds = 0;
        for class in [Class::Flow, Class::Security, Class::Refresh] {
            while rounds < SWEEP_ROUNDS {
                rounds += 1;
                let batch = self.sweep_class(class).await?;
                removed += batch;
                if batch < u64::try_from(SWEEP_BATCH).unwrap_or(u64::MAX) {
                    break;
                }
            }
        }
        Ok(removed)
    }
}

/// Sweeps `records` every `interval` until the store is dropped (the `Weak` no longer upgrades).
pub(crate) async fn sweep_every<E: Engine>(records: std::sync::Weak<Records<E>>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(records) = records.upgrade() else {
            return;
        };
        let swept = records.sweep().await;
        #[cfg(feature = "tracing")]
        if let Err(error) = &swept {
            crate::telemetry::event!(warn, STORE, error = %error, "sweeping expired records failed; tried again later");
        }
        drop(swept);
    }
}

/// `future`, or [`StoreError::Unavailable`] after `timeout`.
pub(crate) async fn within<T, Error>(
    timeout: Duration,
    future: impl Future<Output = Result<T, Error>>,
) -> Result<T, StoreError>
where
    Error: std::error::Error + Send + Sync + 'static,
{
    match tokio::time::timeout(timeout, future).await {
        Ok(result) => result.map_err(|error| StoreError::Unavailable(Box::new(error))),
        Err(elapsed) => Err(StoreError::Unavailable(Box::new(elapsed))),
    }
}
