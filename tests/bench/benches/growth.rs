//! How the cost of a verified request grows with what the service holds, each size in the same
//! run, beside the raw verification (`Sessions::verify`, HS256) as the baseline:
//!
//! - `cached-sessions/<n>`: a cache hit through `SessionCache` holding n sessions (10^3 .. 10^6),
//!   each request for another of them (so moka's lookup, not the hot slots, answers);
//! - `cached-sessions-hot/<n>`: the same cache, one token asked again and again (the hot slots);
//! - `rules/<n>`: one verdict from a table of n authorization rules (1 .. 1000), the deciding
//!   rule last;
//! - `revocations/<n>`: `Revocable::verify_session` (no cache: every request reads the store) for a
//!   session that is not revoked, with n other sessions revoked in a `MemoryStore` (10^3 .. 10^6).
//!
//! Run with: cargo bench -p auth-benches --bench growth

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use auth_runtime::middleware::{Condition, Decision, Rules};
use auth_runtime::revocation::{Revocable, Revocations};
use auth_runtime::store::MemoryStore;
use auth_runtime::{SessionCache, SessionTypes, SessionVerifier, Sessions, SigningKey};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http::HeaderMap;

#[derive(SessionTypes, Debug, Clone, PartialEq)]
enum AppSession {
    User { user_id: String },
}

const SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];

fn sessions() -> Option<Sessions<AppSession>> {
    Sessions::builder()
        .signing_key(SigningKey::hs256(b"0123456789abcdef0123456789abcdef-bench-secret").ok()?)
        .issuer("https://auth.example.com")
        .audience("app")
        .lifetime(Duration::from_secs(3600))
        .subject_from(|AppSession::User { user_id }| Some(user_id.clone()))
        .build()
        .ok()
}

fn user(n: usize) -> AppSession {
    AppSession::User {
        user_id: format!("user-{n}"),
    }
}

fn bench_growth(c: &mut Criterion) {
    let Some(sessions) = sessions() else {
        eprintln!("the bench sessions did not build");
        return;
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        eprintln!("no runtime");
        return;
    };
    let headers = HeaderMap::new();
    let mut group = c.benchmark_group("growth");
    group.measurement_time(Duration::from_secs(3)).sample_size(30);
    let Ok(baseline) = sessions.create(&user(0)) else {
        return;
    };
    group.bench_function("raw-verify (baseline)", |b| {
        b.iter(|| sessions.verify(black_box(&baseline)).is_ok())
    });

    for size in SIZES {
        let tokens: Vec<String> = (0..size).filter_map(|n| sessions.create(&user(n)).ok()).collect();
        let cache = SessionCache::builder(sessions.clone())
            .capacity(size as u64 * 2)
            .ttl(Duration::from_secs(3600))
            .build();
        runtime.block_on(async {
            for token in &tokens {
                let _ = cache.verify(token, &headers).await;
            }
        });
        // A stride through the tokens: each request asks for another session.
        let mut next = 0usize;
        group.bench_with_input(BenchmarkId::new("cached-sessions", size), &size, |b, _| {
            b.iter(|| {
                next = (next + 7919) % tokens.len();
                runtime
                    .block_on(cache.verify(black_box(&tokens[next]), &headers))
                    .is_ok()
            })
        });
        group.bench_with_input(BenchmarkId::new("cached-sessions-hot", size), &size, |b, _| {
            b.iter(|| runtime.block_on(cache.verify(black_box(&tokens[0]), &headers)).is_ok())
        });
    }

    for size in [1usize, 10, 100, 1000] {
        let mut rules = Rules::<AppSession>::deny_by_default();
        for index in 0..size.saturating_sub(1) {
            rules = rules.allow(&format!("/service-{index}/*"), Condition::any_session());
        }
        rules = rules.allow("/me", Condition::any_session());
        let session = user(0);
        if rules.evaluate("/me", Some(&session), None) != Decision::Allow {
            eprintln!("the rule table of {size} does not allow /me");
            continue;
        }
        group.bench_with_input(BenchmarkId::new("rules", size), &size, |b, _| {
            b.iter(|| rules.evaluate(black_box("/me"), Some(black_box(&session)), None))
        });
    }

    for size in SIZES {
        let store = Arc::new(MemoryStore::with_all_capacities(10_000, size + 10_000, 10_000));
        let revocations = Revocations::new(store);
        let filled = runtime.block_on(async {
            for n in 0..size {
                if revocations.revoke(&format!("revoked-{n}"), None).await.is_err() {
                    return false;
                }
            }
            true
        });
        if !filled {
            eprintln!("could not revoke {size} sessions");
            continue;
        }
        let verifier = Revocable::new(sessions.clone(), revocations);
        group.bench_with_input(BenchmarkId::new("revocations", size), &size, |b, _| {
            b.iter(|| {
                runtime
                    .block_on(verifier.verify_session(black_box(&baseline), &headers))
                    .is_ok()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_growth);
criterion_main!(benches);
