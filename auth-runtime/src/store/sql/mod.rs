//! What the SQL stores share: one table of records, the statements every [`Store`] step runs (the
//! same SQL on SQLite and PostgreSQL, each step one statement), quotas per class of record, the
//! schema version, and the bounded sweep of expired rows.
//!
//! A record is one row: `key` (the primary key), `value` (the bytes of a record) or `counter`
//! (a count), `expires_at` (Unix milliseconds) and `class` (flows, security or refresh, for the
//! quotas). A row whose `expires_at` has passed reads as absent everywhere; the sweep removes it.
//! `<prefix>counts` holds the rows of each class, kept by triggers on insert and delete, so a
//! quota check reads one row.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::contract::{StoreError, is_refresh_key, is_security_key};

#[cfg(feature = "password")]
mod credentials;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod records;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

/// The schema this crate writes and reads; recorded in `<prefix>schema` at connect.
pub const SQL_SCHEMA_VERSION: i64 = 1;
/// The default prefix of the tables (`auth_records`, `auth_schema`) and of the PostgreSQL
/// notification channel (`auth_invalidate`).
pub const DEFAULT_SQL_PREFIX: &str = "auth_";
/// How many expired rows one sweep removes at most; the periodic sweep repeats until fewer were
/// found, at most [`SWEEP_ROUNDS`] times per period.
pub(crate) const SWEEP_BATCH: i64 = 1_000;
/// The most batches one periodic sweep removes: a backlog is worked off over several periods
/// rather than holding the database for long.
pub(crate) const SWEEP_ROUNDS: usize = 10;
/// How often expired rows are swept; one minute by default.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// Longer times to live are cut to this (ten years).
const LONGEST_TTL_MS: i64 = 10 * 365 * 24 * 60 * 60 * 1000;

/// The three classes of record, each with a quota of its own (as [`MemoryStore`] has them): flows
/// filling theirs never make a revocation fail, and refresh rotations never starve sign-ins.
///
/// [`MemoryStore`]: super::MemoryStore
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Flow = 0,
    Security = 1,
    Refresh = 2,
}

impl Class {
    pub(crate) fn of(key: &str) -> Class {
        if is_security_key(key) {
            Class::Security
        } else if is_refresh_key(key) {
            Class::Refresh
        } else {
            Class::Flow
        }
    }

    pub(crate) fn code(self) -> i64 {
        self as i64
    }
}

/// The live rows each class may hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quotas {
    pub(crate) flows: usize,
    pub(crate) security: usize,
    pub(crate) refresh: usize,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            flows: super::DEFAULT_STORE_CAPACITY,
            security: super::DEFAULT_SECURITY_CAPACITY,
            refresh: super::DEFAULT_REFRESH_CAPACITY,
        }
    }
}

impl Quotas {
    pub(crate) fn of(&self, class: Class) -> usize {
        match class {
            Class::Flow => self.flows,
            Class::Security => self.security,
            Class::Refresh => self.refresh,
        }
    }
}

/// A table prefix is written into SQL, so it is checked, not quoted: ASCII letters, digits and
/// `_`, starting with a letter or `_`, at most 40 characters.
pub(crate) fn check_prefix(prefix: &str) -> Result<(), StoreError> {
    let mut chars = prefix.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && prefix.len() <= 40 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(StoreError::Unavailable(
            format!(
                "the table prefix `{prefix}` must be ASCII letters, digits and `_`, start with a \
                 letter or `_`, and be at most 40 characters"
            )
            .into(),
        ))
    }
}

/// Unix milliseconds of `now`, or an error for a clock before 1970.
pub(crate) fn unix_ms(now: SystemTime) -> Result<i64, StoreError> {
    let elapsed = now
        .duration_since(UNIX_EPOCH)
        .map_err(|_| StoreError::Unavailable("the system clock reads before 1970".into()))?;
    Ok(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
}

/// The expiry of a record written at `now_ms` for `ttl`: at least one millisecond later.
pub(crate) fn expiry(now_ms: i64, ttl: Duration) -> i64 {
    let ttl = i64::try_from(ttl.as_millis())
        .unwrap_or(LONGEST_TTL_MS)
        .clamp(1, LONGEST_TTL_MS);
    now_ms.saturating_add(ttl)
}

/// A schema newer than ours is refused: its rows may mean what this version cannot read.
pub(crate) fn check_version(version: i64) -> Result<(), StoreError> {
    if version > SQL_SCHEMA_VERSION {
        return Err(StoreError::Unavailable(
            format!(
                "the database holds schema version {version}, newer than this crate's \
                 {SQL_SCHEMA_VERSION}: upgrade auth-runtime"
            )
            .into(),
        ));
    }
    Ok(())
}

/// A row's record: its bytes, or its count as eight big-endian bytes (what
/// [`MemoryStore`](super::MemoryStore) keeps a counter as).
pub(crate) fn record(value: Option<Vec<u8>>, counter: Option<i64>) -> Option<Vec<u8>> {
    match (value, counter) {
        (Some(value), _) => Some(value),
        (None, Some(count)) => Some(u64::try_from(count).unwrap_or(0).to_be_bytes().to_vec()),
        (None, None) => None,
    }
}

/// The statements of one store, with its table names in them. Written once with `$n`
/// placeholders; SQLite reads the same numbers as `?n`.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    pub(crate) put: String,
    pub(crate) put_new: String,
    pub(crate) get: String,
    pub(crate) live: String,
    pub(crate) take: String,
    pub(crate) increment: String,
    pub(crate) remove: String,
    pub(crate) sweep_class: String,
    /// The password credentials' steps (the `password` feature's `PasswordStore`).
    #[cfg_attr(not(feature = "password"), allow(dead_code, reason = "read by the password store"))]
    pub(crate) find_credential: String,
    #[cfg_attr(not(feature = "password"), allow(dead_code, reason = "read by the password store"))]
    pub(crate) create_credential: String,
    #[cfg_attr(not(feature = "password"), allow(dead_code, reason = "read by the password store"))]
    pub(crate) set_credential_hash: String,
    records: String,
    placeholder: char,
}

impl Statements {
    pub(crate) fn new(prefix: &str, placeholder: char) -> Statements {
        let t = format!("{prefix}records");
        // A new key is refused when its class holds as many rows as its quota (expired ones
        // included, until swept: as MemoryStore counts them); replacing a key is always allowed.
        // The rows of each class are counted in `<prefix>counts` by triggers on insert and
        // delete, so the check is one row read, whatever the store holds.
        let room = format!(
            "((SELECT rows FROM {prefix}counts WHERE class = $4) < $5 OR EXISTS (SELECT 1 FROM {t} WHERE key = $1))"
        );
        let statements = Statements {
            // $1 key, $2 value, $3 expires_at, $4 class, $5 quota
            put: format!(
                "INSERT INTO {t} (key, value, counter, expires_at, class) \
                 SELECT $1, $2, CAST(NULL AS BIGINT), $3, $4 WHERE {room} \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, counter = NULL, expires_at = excluded.expires_at \
                 RETURNING 1"
            ),
            // ... and $6 now: an expired row under the key is replaced, a live one kept.
            put_new: format!(
                "INSERT INTO {t} (key, value, counter, expires_at, class) \
                 SELECT $1, $2, CAST(NULL AS BIGINT), $3, $4 WHERE {room} \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, counter = NULL, expires_at = excluded.expires_at \
                 WHERE {t}.expires_at <= $6 \
                 RETURNING 1"
            ),
            // $1 key, $2 now
            get: format!("SELECT value, counter FROM {t} WHERE key = $1 AND expires_at > $2"),
            live: format!("SELECT 1 FROM {t} WHERE key = $1 AND expires_at > $2"),
            // $1 key: the row goes whether it was live or not; the caller reads its expiry.
            take: format!("DELETE FROM {t} WHERE key = $1 RETURNING value, counter, expires_at"),
            // $1 key, $2 unused, $3 expires_at, $4 class, $5 quota, $6 now. A counter that
            // expired starts again at 1 with a new expiry; a live record that is not a counter
            // answers NULL.
            increment: format!(
                "INSERT INTO {t} (key, value, counter, expires_at, class) \
                 SELECT $1, CAST($2 AS {blob}), 1, $3, $4 WHERE {room} \
                 ON CONFLICT (key) DO UPDATE SET \
                   counter = CASE WHEN {t}.expires_at <= $6 THEN 1 ELSE {t}.counter + 1 END, \
                   value = CASE WHEN {t}.expires_at <= $6 THEN NULL ELSE {t}.value END, \
                   expires_at = CASE WHEN {t}.expires_at <= $6 THEN excluded.expires_at ELSE {t}.expires_at END \
                 RETURNING counter",
                blob = if placeholder == '?' { "BLOB" } else { "BYTEA" }
            ),
            remove: format!("DELETE FROM {t} WHERE key = $1 RETURNING 1"),
            // $1 now, $2 batch, $3 class
            sweep_class: format!(
                "DELETE FROM {t} WHERE key IN (SELECT key FROM {t} WHERE class = $3 AND expires_at <= $1 LIMIT $2) RETURNING 1"
            ),
            // $1 email (the subject as `key`, the hash as `value`, as the row reader names them)
            find_credential: format!("SELECT subject AS key, hash AS value FROM {prefix}credentials WHERE email = $1"),
            // $1 email, $2 subject, $3 hash, $4 now: an account is created once.
            create_credential: format!(
                "INSERT INTO {prefix}credentials (email, subject, hash, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (email) DO NOTHING RETURNING 1"
            ),
            // $1 email, $2 hash, $3 now
            set_credential_hash: format!(
                "UPDATE {prefix}credentials SET hash = $2, updated_at = $3 WHERE email = $1 RETURNING 1"
            ),
            records: t,
            placeholder,
        };
        statements.for_engine()
    }

    /// `SELECT key, value, counter` of the live rows among `count` keys: `$1` is now, the keys
    /// are `$2..`.
    pub(crate) fn get_many(&self, count: usize) -> String {
        let keys: Vec<String> = (0..count)
            .map(|index| format!("{}{}", self.placeholder, index + 2))
            .collect();
        format!(
            "SELECT key, value, counter FROM {} WHERE expires_at > {}1 AND key IN ({})",
            self.records,
            self.placeholder,
            keys.join(", ")
        )
    }

    fn for_engine(mut self) -> Statements {
        if self.placeholder != '$' {
            for statement in [
                &mut self.put,
                &mut self.put_new,
                &mut self.get,
                &mut self.live,
                &mut self.take,
                &mut self.increment,
                &mut self.remove,
                &mut self.sweep_class,
                &mut self.find_credential,
                &mut self.create_credential,
                &mut self.set_credential_hash,
            ] {
                *statement = statement.replace('$', &self.placeholder.to_string());
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_is_an_identifier_or_refused() {
        assert!(check_prefix("auth_").is_ok());
        assert!(check_prefix("_x1").is_ok());
        for bad in ["", "1abc", "a-b", "a;drop table x", "a b", &"a".repeat(41)] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sqlite_statements_use_numbered_question_marks() {
        let sqlite = Statements::new("auth_", '?');
        assert!(!sqlite.put_new.contains('$'), "{}", sqlite.put_new);
        assert!(sqlite.put_new.contains("?6"));
        assert!(sqlite.get_many(2).ends_with("key IN (?2, ?3)"));
        let postgres = Statements::new("auth_", '$');
        assert!(postgres.increment.contains("BYTEA"));
        assert!(postgres.get_many(1).ends_with("key IN ($2)"));
    }

    #[test]
    fn a_counter_reads_as_memory_store_keeps_it() {
        assert_eq!(record(None, Some(3)), Some(3u64.to_be_bytes().to_vec()));
        assert_eq!(record(Some(b"x".to_vec()), None), Some(b"x".to_vec()));
        assert_eq!(record(None, None), None);
        assert_eq!(expiry(1_000, Duration::ZERO), 1_001);
    }
}
