//! What the session cache saves: verifying a token through `SessionCache` (a hit) against
//! verifying it afresh, for each algorithm, in the same run.
//!
//! Run with: cargo bench -p auth-runtime --features middleware --bench cache

use std::hint::black_box;
use std::time::Duration;

use auth_runtime::{SessionCache, SessionTypes, Sessions, SigningKey};
use criterion::{Criterion, criterion_group, criterion_main};

#[derive(SessionTypes, Debug, Clone, PartialEq)]
enum AppSession {
    User { user_id: String },
}

fn keys() -> Result<Vec<(&'static str, SigningKey)>, Box<dyn std::error::Error>> {
    Ok(vec![
        (
            "EdDSA",
            SigningKey::ed25519_pem(include_bytes!("../../tests/keys/ed25519.pem"))?,
        ),
        (
            "ES256",
            SigningKey::es256_pem(include_bytes!("../../tests/keys/es256.pem"))?,
        ),
        (
            "RS256",
            SigningKey::rs256_pem(include_bytes!("../../tests/keys/rs256.pem"))?,
        ),
        (
            "HS256",
            SigningKey::hs256(b"0123456789abcdef0123456789abcdef-bench-secret")?,
        ),
    ])
}

fn bench(c: &mut Criterion) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        eprintln!("no tokio runtime");
        return;
    };
    let Ok(keys) = keys() else {
        eprintln!("benchmark keys failed to load");
        return;
    };
    let headers = http::HeaderMap::new();
    for (name, key) in keys {
        let Ok(sessions) = Sessions::<AppSession>::builder()
            .signing_key(key)
            .issuer("https://auth.example.com")
            .audience("app")
            .build()
        else {
            continue;
        };
        let Ok(token) = sessions.create(&AppSession::User {
            user_id: "user-123".into(),
        }) else {
            continue;
        };
        let cache = SessionCache::new(sessions.clone());
        if runtime.block_on(cache.verify(&token, &headers)).is_err() {
            continue;
        }
        let mut group = c.benchmark_group(format!("{name}/{}", auth_runtime::BACKEND));
        group.bench_function("verify/uncached", |b| b.iter(|| sessions.verify(black_box(&token))));
        group.bench_function("verify/cache-hit", |b| {
            b.iter(|| runtime.block_on(cache.verify(black_box(&token), &headers)))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
