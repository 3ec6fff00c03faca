//! Invalidating sessions in a full cache: 1000 `invalidate_session_id` calls against a cache
//! holding 100 000 sessions while it goes on serving (1000 hits on other sessions, and the first
//! invalidated one verified afresh), and one cache hit on its own. The fill is set-up, not
//! measured.
//!
//! Run with: cargo bench -p auth-benches --bench invalidation

use std::hint::black_box;
use std::time::Duration;

use auth_runtime::{Authenticated, SessionCache, SessionTypes, SessionVerifier, VerifierError};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::HeaderMap;

#[derive(SessionTypes, Debug, Clone, PartialEq)]
enum AppSession {
    User { user_id: String },
}

/// Accepts `t<n>` as session `s<n>` of user `u<n>`, at no cost: the benchmark measures the cache.
struct Table;

impl SessionVerifier for Table {
    type Session = AppSession;
    type Output = String;

    async fn verify_session(&self, token: &str, _headers: &HeaderMap) -> Result<String, VerifierError> {
        token
            .strip_prefix('t')
            .map(str::to_owned)
            .ok_or_else(|| VerifierError::failed("unknown"))
    }

    fn map_session(&self, n: String) -> Result<Authenticated<AppSession>, VerifierError> {
        let mut authenticated = Authenticated::new(AppSession::User {
            user_id: format!("u{n}"),
        });
        authenticated.subject = Some(format!("u{n}"));
        authenticated.session_id = Some(format!("s{n}"));
        Ok(authenticated)
    }
}

const ENTRIES: usize = 100_000;
const INVALIDATIONS: usize = 1_000;

fn bench(c: &mut Criterion) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        return;
    };
    let headers = HeaderMap::new();
    let filled = || {
        let cache = SessionCache::builder(Table)
            .capacity(2 * ENTRIES as u64)
            .ttl(Duration::from_secs(600))
            .build();
        runtime.block_on(async {
            for n in 0..ENTRIES {
                let _ = cache.verify(&format!("t{n}"), &headers).await;
            }
            // The fill's own pending work, done before the measurement starts: the cache's
            // housekeeping, and one more write and its housekeeping (the first write after a
            // large fill pays for the fill's timers).
            cache.entry_count().await;
            let _ = cache.verify(&format!("t{ENTRIES}"), &headers).await;
            for _ in 0..4 {
                cache.entry_count().await;
            }
        });
        cache
    };
    let mut group = c.benchmark_group("invalidation");
    group.sample_size(10);
    group.bench_function("1000-of-100000", |b| {
        b.iter_batched_ref(
            filled,
            |cache: &mut SessionCache<Table>| {
                for n in 0..INVALIDATIONS {
                    cache.invalidate_session_id(black_box(&format!("s{n}")));
                }
                // The cache goes on serving meanwhile: 1000 hits on other sessions, and the
                // first invalidated one asks the verifier again.
                runtime.block_on(async {
                    for n in 0..INVALIDATIONS {
                        let _ = cache.verify(&format!("t{}", ENTRIES - 1 - n), &headers).await;
                    }
                    cache.verify("t0", &headers).await.is_ok()
                })
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("calls-only-1000-of-100000", |b| {
        b.iter_batched_ref(
            filled,
            |cache: &mut SessionCache<Table>| {
                for n in 0..INVALIDATIONS {
                    cache.invalidate_session_id(black_box(&format!("s{n}")));
                }
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("1-of-100000", |b| {
        b.iter_batched_ref(
            filled,
            |cache: &mut SessionCache<Table>| {
                cache.invalidate_session_id(black_box("s0"));
                runtime.block_on(async {
                    for n in 0..INVALIDATIONS {
                        let _ = cache.verify(&format!("t{}", ENTRIES - 1 - n), &headers).await;
                    }
                    cache.verify("t0", &headers).await.is_ok()
                })
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("serving-only-in-100000", |b| {
        b.iter_batched_ref(
            filled,
            |cache: &mut SessionCache<Table>| {
                runtime.block_on(async {
                    for n in 0..INVALIDATIONS {
                        let _ = cache.verify(&format!("t{}", ENTRIES - 1 - n), &headers).await;
                    }
                    cache.verify("t0", &headers).await.is_ok()
                })
            },
            BatchSize::PerIteration,
        )
    });
    let cache = filled();
    let token = format!("t{}", ENTRIES - 1);
    group.bench_function("hit-in-100000", |b| {
        b.iter(|| runtime.block_on(cache.verify(black_box(&token), &headers)).is_ok())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
