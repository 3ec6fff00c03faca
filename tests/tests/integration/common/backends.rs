//! The four stores the contract suite runs against, behind one face: instances that share one
//! state (clones of one `MemoryStore`; connections to one `redis-server`, one SQLite file or one
//! throwaway PostgreSQL cluster), a server that can be stopped and started again, and a restart
//! of the app (its stores dropped and opened again).

#![allow(dead_code, reason = "each test module uses a different part of the helpers")]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use auth_runtime::store::{MemoryStore, PostgresStore, RedisStore, SqliteStore, Store};

use super::redis_server::RedisServer;

/// Which store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Memory,
    Redis,
    Sqlite,
    Postgres,
}

/// One state, and a way to open instances of it.
pub struct Backend {
    pub engine: Engine,
    memory: MemoryStore,
    redis: Option<RedisServer>,
    postgres: Option<xtask::postgres_server::PostgresServer>,
    sqlite: PathBuf,
    capacities: Option<(usize, usize, usize)>,
    passwords: Arc<auth_runtime::password::MemoryPasswordStore>,
}

/// Short timeouts, so a stopped server is an error within the test's patience.
const TIMEOUT: Duration = Duration::from_millis(500);

impl Backend {
    /// A fresh, empty state on `engine` (a server started for it where it needs one).
    pub fn start(engine: Engine) -> Backend {
        Backend::with(engine, None)
    }

    /// [`start`](Self::start) with quotas: `flows`, `security`, `refresh` live records.
    pub fn with_capacities(engine: Engine, flows: usize, security: usize, refresh: usize) -> Backend {
        Backend::with(engine, Some((flows, security, refresh)))
    }

    fn with(engine: Engine, capacities: Option<(usize, usize, usize)>) -> Backend {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let sqlite = std::env::temp_dir().join(format!(
            "auth-sqlite-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let memory = match capacities {
            Some((flows, security, refresh)) => MemoryStore::with_all_capacities(flows, security, refresh),
            None => MemoryStore::new(),
        };
        let redis = (engine == Engine::Redis).then(RedisServer::start);
        let postgres = (engine == Engine::Postgres).then(postgres_server);
        if engine == Engine::Sqlite {
            std::fs::create_dir_all(&sqlite).expect("a folder for the SQLite file");
        }
        Backend {
            engine,
            memory,
            redis,
            postgres,
            sqlite,
            capacities,
            passwords: Arc::default(),
        }
    }

    /// The SQLite file of an [`Engine::Sqlite`] backend.
    pub fn sqlite_file(&self) -> PathBuf {
        self.sqlite.join("auth.sqlite")
    }

    /// Whether the state outlives the app (a restart of the process finds it).
    pub fn durable(&self) -> bool {
        matches!(self.engine, Engine::Sqlite | Engine::Postgres)
    }

    /// A new instance on the state: another connection, as another instance of the app would open.
    pub async fn instance(&self) -> Arc<dyn Store> {
        match self.engine {
            Engine::Memory => Arc::new(self.memory.clone()),
            Engine::Redis => {
                let url = self.redis.as_ref().map(RedisServer::url).unwrap_or_default();
                Arc::new(
                    RedisStore::builder(url)
                        .timeout(TIMEOUT)
                        .heartbeat(TIMEOUT)
                        .connect()
                        .await
                        .expect("connect to redis-server"),
                )
            }
            Engine::Sqlite => Arc::new(self.open_sqlite().await),
            Engine::Postgres => Arc::new(self.open_postgres().await),
        }
    }

    /// A password store on this backend: a new instance over the same state (SQLite's file,
    /// PostgreSQL's database), or the one shared memory store. Redis keeps no credentials.
    pub async fn password_store(&self) -> Arc<dyn auth_runtime::password::PasswordStore> {
        match self.engine {
            Engine::Memory => Arc::clone(&self.passwords) as Arc<dyn auth_runtime::password::PasswordStore>,
            Engine::Redis => panic!("Redis keeps no password credentials"),
            Engine::Sqlite => Arc::new(self.open_sqlite().await),
            Engine::Postgres => Arc::new(self.open_postgres().await),
        }
    }

    /// The quotas instances are opened with.
    fn quotas(&self) -> (usize, usize, usize) {
        self.capacities.unwrap_or((100_000, 200_000, 500_000))
    }

    /// A new instance on the SQLite file.
    async fn open_sqlite(&self) -> SqliteStore {
        let (flows, security, refresh) = self.quotas();
        SqliteStore::builder(self.sqlite_file())
            .capacities(flows, security, refresh)
            .connect()
            .await
            .expect("open the SQLite file")
    }

    /// A new instance on the PostgreSQL database.
    async fn open_postgres(&self) -> PostgresStore {
        let (flows, security, refresh) = self.quotas();
        let url = self.postgres.as_ref().map(|server| server.url()).unwrap_or_default();
        PostgresStore::builder(url)
            .timeout(TIMEOUT)
            .heartbeat(TIMEOUT)
            .capacities(flows, security, refresh)
            .connect()
            .await
            .expect("connect to PostgreSQL")
    }

    /// Stops the server, as a crash would (Redis and PostgreSQL only).
    pub fn stop(&mut self) {
        if let Some(server) = &mut self.redis {
            server.stop();
        }
        if let Some(server) = &mut self.postgres {
            server.stop();
        }
    }

    /// Starts the server again on the same port (Redis empty, PostgreSQL with its data).
    pub fn restart(&mut self) {
        if let Some(server) = &mut self.redis {
            server.restart();
        }
        if let Some(server) = &mut self.postgres {
            server.restart().unwrap_or_else(|error| panic!("{error}"));
        }
    }
}

impl Backend {
    /// Freezes the PostgreSQL server (every process `SIGSTOP`ped): connections open, answering
    /// nothing.
    pub fn pause(&self) {
        if let Some(server) = &self.postgres {
            server.pause().unwrap_or_else(|error| panic!("{error}"));
        }
    }

    /// Thaws what [`pause`](Self::pause) froze.
    pub fn resume(&self) {
        if let Some(server) = &self.postgres {
            server.resume().unwrap_or_else(|error| panic!("{error}"));
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.sqlite);
    }
}

/// A throwaway PostgreSQL cluster; fails the test when PostgreSQL's server is not installed (the
/// PostgreSQL tests are ignored otherwise).
pub fn postgres_server() -> xtask::postgres_server::PostgresServer {
    assert!(
        xtask::postgres_server::installed(),
        "this test needs PostgreSQL's server (`initdb`, `pg_ctl`): install Debian's `postgresql` as .ci/run does, or leave the test ignored"
    );
    xtask::postgres_server::PostgresServer::start().unwrap_or_else(|error| panic!("{error}"))
}
