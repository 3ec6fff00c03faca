//! What a refresh costs: one rotation (read the token's records, then one store step,
//! `Store::rotate_refresh`: count it against the limits, check the family's revocation, claim the
//! sealed successor, save the new token's record, mark the old one retired and delete its record;
//! then sign the access token) on the in-memory store and on a
//! real `redis-server` on 127.0.0.1 (started here; skipped with a message when there is none),
//! beside the baseline of the same run: signing the access token alone (`Sessions::issue`).
//!
//! Run with: cargo bench -p auth-benches --bench refresh

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use auth_runtime::refresh::RefreshTokens;
use auth_runtime::store::{MemoryStore, RedisStore, Store};
use auth_runtime::{IssueOptions, RateLimit, SessionTypes, Sessions, SigningKey};
use criterion::{Criterion, criterion_group, criterion_main};

// The one redis-server launcher, shared with the tests and `cargo xtask load`.
#[allow(unreachable_pub, dead_code, reason = "a module of the xtask crate, included here")]
#[path = "../../../xtask/src/redis_server.rs"]
mod redis_server;

#[derive(SessionTypes, Debug, Clone, PartialEq)]
enum AppSession {
    User { user_id: String },
}

fn sessions() -> Option<Sessions<AppSession>> {
    let key = SigningKey::ed25519_pem(include_bytes!("../../keys/ed25519.pem")).ok()?;
    Sessions::builder()
        .signing_key(key)
        .issuer("https://auth.example.com")
        .audience("app")
        .subject_from(|AppSession::User { user_id }| Some(user_id.clone()))
        .build()
        .ok()
}

/// Refreshes one family over and over, each time with the refresh token the last one returned.
fn bench_rotation(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    tokens: &RefreshTokens<AppSession>,
) {
    let user = AppSession::User {
        user_id: "user-123".to_owned(),
    };
    let Ok(pair) = runtime.block_on(tokens.issue(&user)) else {
        eprintln!("{name}: the first pair could not be issued");
        return;
    };
    let mut refresh_token = pair.refresh_token;
    let mut failed = 0_u64;
    group.bench_function(name, |b| {
        b.iter(|| match runtime.block_on(tokens.refresh(black_box(&refresh_token))) {
            Ok(next) => refresh_token = next.refresh_token,
            Err(_) => failed += 1,
        })
    });
    if failed > 0 {
        eprintln!("{name}: {failed} refreshes failed; the figure above is not a refresh's cost");
    }
}

fn bench(c: &mut Criterion) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return;
    };
    let Some(sessions) = sessions() else {
        eprintln!("benchmark sessions failed to build");
        return;
    };
    let mut group = c.benchmark_group("refresh");
    let user = AppSession::User {
        user_id: "user-123".to_owned(),
    };
    let access = IssueOptions {
        lifetime: Some(Duration::from_secs(900)),
        session_id: Some("T5RH5JitDkUOWd8FU3tICg".to_owned()),
        ..IssueOptions::default()
    };
    group.bench_function("sign-access-token-alone", |b| {
        b.iter(|| sessions.issue(black_box(&user), &access))
    });
    // Every rotation leaves the retired token's marker until the family's end: room for every
    // rotation criterion runs, so none is measured failing on a full store. One family rotates
    // here as fast as it can, which its limit exists to stop: lifted, so every rotation is a
    // rotation (the counting itself, one `increment`, is still measured).
    let memory: Arc<dyn Store> = Arc::new(MemoryStore::with_all_capacities(10_000_000, 10_000_000, 10_000_000));
    let unlimited = RateLimit::new(u32::MAX, Duration::from_secs(3600));
    let tokens = |store: Arc<dyn Store>| {
        RefreshTokens::builder(sessions.clone(), store)
            .limit_rotations_per_family(unlimited)
            .build()
    };
    if let Ok(tokens) = tokens(memory) {
        bench_rotation(&mut group, &runtime, "rotate/memory-store", &tokens);
    }
    match redis_server::RedisServer::start(&[]) {
        Ok(server) => match runtime.block_on(RedisStore::connect(server.url())) {
            Ok(store) => {
                let store: Arc<dyn Store> = Arc::new(store);
                if let Ok(tokens) = tokens(store) {
                    bench_rotation(&mut group, &runtime, "rotate/redis", &tokens);
                }
            }
            Err(error) => eprintln!("refresh on Redis skipped: {error}"),
        },
        Err(error) => eprintln!("refresh on Redis skipped: {error} (apt install redis-server)"),
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).sample_size(50);
    targets = bench
}
criterion_main!(benches);
