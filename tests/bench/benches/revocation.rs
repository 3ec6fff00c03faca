//! What a cache miss and a revocation cost against a real `redis-server` on 127.0.0.1 (started
//! here; the benchmark says so and stops when there is none): the two revocation records read
//! with two sequential `GET`s (how `Revocable` read them before) against one `MGET`
//! (`Store::get_many`, how it reads them now), and a revocation written then published in two
//! calls against one `MULTI`/`EXEC` (`Store::put_and_publish`).
//!
//! Run with: cargo bench -p auth-benches --bench revocation

use std::hint::black_box;
use std::time::Duration;

use auth_runtime::store::{Invalidation, RedisStore, Store};
use criterion::{Criterion, criterion_group, criterion_main};

// The one redis-server launcher, shared with the tests and `cargo xtask load`.
#[allow(unreachable_pub, dead_code, reason = "a module of the xtask crate, included here")]
#[path = "../../../xtask/src/redis_server.rs"]
mod redis_server;

fn bench(c: &mut Criterion) {
    let server = match redis_server::RedisServer::start(&[]) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("revocation benchmark skipped: {error} (apt install redis-server)");
            return;
        }
    };
    let url = server.url();
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return;
    };
    let store = match runtime.block_on(RedisStore::connect(url)) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("revocation benchmark skipped: {error}");
            return;
        }
    };
    let keys = vec![
        "revoked:T5RH5JitDkUOWd8FU3tICg".to_owned(),
        "revoked-sub:user-123".to_owned(),
    ];
    let invalidation = Invalidation::Session("T5RH5JitDkUOWd8FU3tICg-bench".to_owned());
    let ttl = Duration::from_secs(60);
    let mut group = c.benchmark_group("redis");
    group.bench_function("miss/two-gets", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let first = store.get(black_box(&keys[0])).await;
                let second = store.get(black_box(&keys[1])).await;
                (first.is_ok(), second.is_ok())
            })
        })
    });
    group.bench_function("miss/get-many", |b| {
        b.iter(|| runtime.block_on(store.get_many(black_box(&keys))).is_ok())
    });
    group.bench_function("revoke/put-then-publish", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let put = store.put("revoked:bench", Vec::new(), ttl).await;
                let published = store.publish(&invalidation).await;
                (put.is_ok(), published.is_ok())
            })
        })
    });
    group.bench_function("revoke/put-and-publish", |b| {
        b.iter(|| {
            runtime
                .block_on(store.put_and_publish("revoked:bench", Vec::new(), ttl, &invalidation))
                .is_ok()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).sample_size(50);
    targets = bench
}
criterion_main!(benches);
