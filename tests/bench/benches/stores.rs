//! Every `Store` step on the four stores, in one run: `MemoryStore`, `RedisStore` (a real
//! `redis-server` on 127.0.0.1), `SqliteStore` (a file in the temp folder, WAL, `synchronous =
//! FULL`) and `PostgresStore` (a throwaway cluster made with Debian's `initdb`, `fsync = off`).
//! `miss` is what `Revocable` reads on a cache miss: the session's and the subject's revocation
//! records in one `get_many`. A store whose server is missing is skipped with a message.
//!
//! Run with: cargo bench -p auth-benches --bench stores

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use auth_runtime::store::{Invalidation, MemoryStore, PostgresStore, RedisStore, SqliteStore, Store};
use criterion::{Criterion, criterion_group, criterion_main};

#[allow(unreachable_pub, dead_code, reason = "a module of the xtask crate, included here")]
#[path = "../../../xtask/src/redis_server.rs"]
mod redis_server;

#[allow(unreachable_pub, dead_code, reason = "a module of the xtask crate, included here")]
#[path = "../../../xtask/src/postgres_server.rs"]
mod postgres_server;

const TTL: Duration = Duration::from_secs(600);

fn steps(c: &mut Criterion, name: &str, runtime: &tokio::runtime::Runtime, store: Arc<dyn Store>) {
    let next = AtomicU64::new(0);
    let fresh = || format!("link-used:{}", next.fetch_add(1, Ordering::Relaxed));
    let miss = vec![
        "revoked:T5RH5JitDkUOWd8FU3tICg".to_owned(),
        "revoked-sub:user-123".to_owned(),
    ];
    let invalidation = Invalidation::Session("T5RH5JitDkUOWd8FU3tICg".to_owned());
    if runtime
        .block_on(store.put("code:bench", b"pending".to_vec(), TTL))
        .is_err()
    {
        eprintln!("{name}: the store does not answer; skipped");
        return;
    }
    let mut group = c.benchmark_group(format!("store/{name}"));
    group.bench_function("get", |b| {
        b.iter(|| runtime.block_on(store.get(black_box("code:bench"))).is_ok())
    });
    group.bench_function("miss", |b| {
        b.iter(|| runtime.block_on(store.get_many(black_box(&miss))).is_ok())
    });
    group.bench_function("put", |b| {
        b.iter(|| {
            runtime
                .block_on(store.put("code:bench", b"pending".to_vec(), TTL))
                .is_ok()
        })
    });
    group.bench_function("put_new+take", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let key = fresh();
                let put = store.put_new(&key, Vec::new(), TTL).await;
                let taken = store.take(&key).await;
                (put.is_ok(), taken.is_ok())
            })
        })
    });
    group.bench_function("increment", |b| {
        b.iter(|| runtime.block_on(store.increment("rate:bench", TTL)).is_ok())
    });
    group.bench_function("revoke", |b| {
        b.iter(|| {
            runtime
                .block_on(store.put_and_publish("revoked:bench", Vec::new(), TTL, &invalidation))
                .is_ok()
        })
    });
    // The same single use with the flows' class holding 20 000 live records: what the quota
    // check (a count of the class's rows, in the write's statement) costs as a store fills.
    let filled = runtime.block_on(async {
        for i in 0..FILL {
            store.put(&format!("code:fill-{i}"), Vec::new(), TTL).await?;
        }
        Ok::<(), auth_runtime::store::StoreError>(())
    });
    if let Err(error) = filled {
        eprintln!("{name}: filling failed: {error}");
    }
    group.bench_function("put_new+take/20k-flows", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let key = format!("code:{}", next.fetch_add(1, Ordering::Relaxed));
                let put = store.put_new(&key, Vec::new(), TTL).await;
                let taken = store.take(&key).await;
                (put.is_ok(), taken.is_ok())
            })
        })
    });
    group.finish();
}

/// Flow records written before the last measurement.
const FILL: usize = 20_000;

fn bench(c: &mut Criterion) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return;
    };
    steps(c, "memory", &runtime, Arc::new(MemoryStore::new()));

    match redis_server::RedisServer::start(&[]) {
        Ok(server) => match runtime.block_on(RedisStore::connect(server.url())) {
            Ok(store) => steps(c, "redis", &runtime, Arc::new(store)),
            Err(error) => eprintln!("redis: {error}; skipped"),
        },
        Err(error) => eprintln!("redis: {error} (apt install redis-server); skipped"),
    }

    let folder = std::env::temp_dir().join(format!("auth-bench-sqlite-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&folder);
    match runtime.block_on(SqliteStore::connect(folder.join("auth.sqlite"))) {
        Ok(store) => steps(c, "sqlite", &runtime, Arc::new(store)),
        Err(error) => eprintln!("sqlite: {error}; skipped"),
    }
    let _ = std::fs::remove_dir_all(&folder);

    match postgres_server::PostgresServer::start() {
        Ok(server) => match runtime.block_on(PostgresStore::connect(server.url())) {
            Ok(store) => steps(c, "postgres", &runtime, Arc::new(store)),
            Err(error) => eprintln!("postgres: {error}; skipped"),
        },
        Err(error) => eprintln!("postgres: {error} (apt install postgresql); skipped"),
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).sample_size(30);
    targets = bench
}
criterion_main!(benches);
