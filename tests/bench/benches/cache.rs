//! What the session cache and the middleware cost, each beside its baseline in the same run:
//!
//! - `verify/cache-hit` against `verify/uncached` (`Sessions::verify` afresh), per algorithm;
//! - `request/layer-cache-hit` against `request/bare`: one whole request through `SessionLayer`
//!   (cookie found, cache hit, session handed to the handler) against the same inner service
//!   called without the layer; in process, no sockets;
//! - `burst/1000-cached` against `burst/1000-uncached`: 1000 concurrent requests carrying one fresh
//!   token on a two-thread runtime, through a new cache each time or straight to the verifier.
//!   The backend calls of every cached burst are counted and printed;
//! - `request/layer-cache-hit-refresh-configured`: the same request through a layer that also
//!   refreshes (`refresh_tokens`), carrying the refresh cookie beside a valid access token;
//! - `authorize/100-rules`: one verdict from a table of 100 authorization rules, the deciding rule
//!   last, against the layer's cache-hit overhead above.
//!
//! Run with: cargo bench -p auth-benches --bench cache

use std::convert::Infallible;
use std::future::{Ready, poll_fn, ready};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use auth_runtime::middleware::{Condition, Decision, Rules};
use auth_runtime::refresh::RefreshTokens;
use auth_runtime::store::{MemoryStore, Store};
use auth_runtime::{
    Authenticated, SessionCache, SessionLayer, SessionTypes, SessionVerifier, Sessions, SigningKey, VerifiedToken,
    VerifierError,
};
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

#[derive(SessionTypes, Debug, Clone, PartialEq)]
enum AppSession {
    User { user_id: String },
}

fn keys() -> Result<Vec<(&'static str, SigningKey)>, Box<dyn std::error::Error>> {
    Ok(vec![
        (
            "EdDSA",
            SigningKey::ed25519_pem(include_bytes!("../../keys/ed25519.pem"))?,
        ),
        ("ES256", SigningKey::es256_pem(include_bytes!("../../keys/es256.pem"))?),
        ("RS256", SigningKey::rs256_pem(include_bytes!("../../keys/rs256.pem"))?),
        (
            "HS256",
            SigningKey::hs256(b"0123456789abcdef0123456789abcdef-bench-secret")?,
        ),
    ])
}

fn sessions(key: SigningKey) -> Option<Sessions<AppSession>> {
    Sessions::builder()
        .signing_key(key)
        .issuer("https://auth.example.com")
        .audience("app")
        .build()
        .ok()
}

fn user() -> AppSession {
    AppSession::User {
        user_id: "user-123".into(),
    }
}

/// The handler behind the layer: reads the session like an app would, answers at once.
#[derive(Clone)]
struct Handler;

impl Service<Request<()>> for Handler {
    type Response = Response<&'static str>;
    type Error = Infallible;
    type Future = Ready<Result<Response<&'static str>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: Request<()>) -> Self::Future {
        // 200 for a signed-in user, 204 for the public: the check after the warm-up request.
        let status = match auth_runtime::use_session::<AppSession>() {
            Some(AppSession::User { .. }) => http::StatusCode::OK,
            None => http::StatusCode::NO_CONTENT,
        };
        let mut response = Response::new("");
        *response.status_mut() = status;
        ready(Ok(response))
    }
}

/// One request the way a browser sends it: the session cookie among others.
fn request(cookie: &http::HeaderValue) -> Request<()> {
    let mut request = Request::new(());
    *request.uri_mut() = http::Uri::from_static("/me");
    request.headers_mut().insert(http::header::COOKIE, cookie.clone());
    request
}

/// Readies and calls `service` once, as a server would.
async fn serve<S: Service<Request<()>>>(service: &mut S, request: Request<()>) -> Result<S::Response, S::Error> {
    poll_fn(|cx| service.poll_ready(cx)).await?;
    service.call(request).await
}

/// The JWT verifier behind a backend that takes a turn of the scheduler (as a database call
/// would) and counts its calls.
struct Counting {
    sessions: Sessions<AppSession>,
    calls: Arc<AtomicUsize>,
}

impl SessionVerifier for Counting {
    type Session = AppSession;
    type Output = VerifiedToken<AppSession>;

    async fn verify_session(
        &self,
        token: &str,
        _headers: &HeaderMap,
    ) -> Result<VerifiedToken<AppSession>, VerifierError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::task::yield_now().await;
        self.sessions.verify(token).map_err(VerifierError::failed)
    }

    fn map_session(&self, output: VerifiedToken<AppSession>) -> Result<Authenticated<AppSession>, VerifierError> {
        Ok(output.into())
    }
}

const BURST: usize = 1000;

fn bench(c: &mut Criterion) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        eprintln!("no tokio runtime");
        return;
    };
    let Ok(keys) = keys() else {
        eprintln!("benchmark keys failed to load");
        return;
    };
    let headers = HeaderMap::new();
    for (name, key) in keys {
        let Some(sessions) = sessions(key) else { continue };
        let Ok(token) = sessions.create(&user()) else { continue };
        let cache = SessionCache::new(sessions.clone());
        if runtime.block_on(cache.verify(&token, &headers)).is_err() {
            continue;
        }
        let mut group = c.benchmark_group(format!("{name}/{}", auth_runtime::CRYPTO_BACKEND));
        group.bench_function("verify/uncached", |b| b.iter(|| sessions.verify(black_box(&token))));
        group.bench_function("verify/cache-hit", |b| {
            b.iter(|| runtime.block_on(cache.verify(black_box(&token), &headers)))
        });
        if name == "EdDSA" {
            bench_request(&mut group, &runtime, &sessions, &token);
            bench_rules(&mut group);
            bench_burst(&mut group, &sessions);
        }
        group.finish();
    }
}

fn bench_request(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &tokio::runtime::Runtime,
    sessions: &Sessions<AppSession>,
    token: &str,
) {
    let Ok(cookie) = http::HeaderValue::from_str(&format!("theme=dark; auth-token={token}; lang=en")) else {
        return;
    };
    let Ok(layer) = SessionLayer::builder(SessionCache::new(sessions.clone())).build() else {
        eprintln!("layer configuration failed");
        return;
    };
    let mut layered = layer.layer(Handler);
    let mut bare = Handler;
    // The first request fills the cache; every measured one is a hit.
    match runtime.block_on(serve(&mut layered, request(&cookie))) {
        Ok(response) if response.status() == http::StatusCode::OK => {}
        _ => {
            eprintln!("the layered request was not signed in");
            return;
        }
    }
    group.bench_function("request/bare", |b| {
        b.iter(|| runtime.block_on(serve(&mut bare, request(black_box(&cookie)))))
    });
    group.bench_function("request/layer-cache-hit", |b| {
        b.iter(|| runtime.block_on(serve(&mut layered, request(black_box(&cookie)))))
    });
    bench_request_with_refresh(group, runtime, sessions, token);
}

/// `request/layer-cache-hit` on a layer that refreshes (`refresh_tokens`), the request carrying
/// a valid access token and the refresh cookie beside it: what pair mode adds to a request that
/// needs no refresh.
fn bench_request_with_refresh(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &tokio::runtime::Runtime,
    sessions: &Sessions<AppSession>,
    token: &str,
) {
    let refresh_token = "EdLFeYoSY-Znp5o3FITgMzXI4mMsCroUOpUSbBoUtsg";
    let Ok(cookie) = http::HeaderValue::from_str(&format!(
        "theme=dark; auth-token={token}; auth-token-refresh={refresh_token}; lang=en"
    )) else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let Ok(tokens) = RefreshTokens::builder(sessions.clone(), store).build() else {
        eprintln!("refresh tokens configuration failed");
        return;
    };
    let Ok(layer) = SessionLayer::builder(SessionCache::new(sessions.clone()))
        .refresh_tokens(tokens)
        .build()
    else {
        eprintln!("layer configuration failed");
        return;
    };
    let mut layered = layer.layer(Handler);
    match runtime.block_on(serve(&mut layered, request(&cookie))) {
        Ok(response) if response.status() == http::StatusCode::OK => {}
        _ => {
            eprintln!("the layered request with a refresh cookie was not signed in");
            return;
        }
    }
    group.bench_function("request/layer-cache-hit-refresh-configured", |b| {
        b.iter(|| runtime.block_on(serve(&mut layered, request(black_box(&cookie)))))
    });
}

/// One request's verdict from a table of 100 rules, the deciding one last (99 patterns tried
/// and missed first): the cost the `authorize` rules add to a request.
fn bench_rules(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let mut rules = Rules::<AppSession>::deny_by_default();
    for index in 0..99 {
        rules = rules.allow(&format!("/service-{index}/*"), Condition::any_session());
    }
    rules = rules.allow(
        "/me",
        Condition::when("a person", |session| matches!(session, AppSession::User { .. })),
    );
    let session = user();
    if rules.evaluate("/me", Some(&session), None) != Decision::Allow {
        eprintln!("the rule table does not allow /me");
        return;
    }
    group.bench_function("authorize/100-rules", |b| {
        b.iter(|| rules.evaluate(black_box("/me"), Some(black_box(&session)), None))
    });
}

fn bench_burst(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    sessions: &Sessions<AppSession>,
) {
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build() else {
        eprintln!("no multi-thread runtime");
        return;
    };
    let Ok(token) = sessions.create(&user()) else { return };
    let token: Arc<str> = Arc::from(token);
    let calls = Arc::new(AtomicUsize::new(0));
    let counting = || Counting {
        sessions: sessions.clone(),
        calls: Arc::clone(&calls),
    };
    let mut per_burst: Vec<usize> = Vec::new();
    group.bench_function("burst/1000-cached", |b| {
        b.iter(|| {
            let before = calls.load(Ordering::SeqCst);
            let cache = SessionCache::new(counting());
            let signed_in = runtime.block_on(burst(|| {
                let cache = cache.clone();
                let token = Arc::clone(&token);
                async move { cache.verify(&token, &HeaderMap::new()).await.is_ok() }
            }));
            per_burst.push(calls.load(Ordering::SeqCst) - before);
            if signed_in != BURST {
                eprintln!("burst: only {signed_in} of {BURST} requests were signed in");
            }
        })
    });
    group.bench_function("burst/1000-uncached", |b| {
        b.iter(|| {
            let verifier = Arc::new(counting());
            runtime.block_on(burst(|| {
                let verifier = Arc::clone(&verifier);
                let token = Arc::clone(&token);
                async move { verifier.verify_session(&token, &HeaderMap::new()).await.is_ok() }
            }))
        })
    });
    let min = per_burst.iter().min().copied().unwrap_or_default();
    let max = per_burst.iter().max().copied().unwrap_or_default();
    let report = format!(
        "backend calls per burst: min {min}, max {max}, over {} bursts",
        per_burst.len()
    );
    println!("burst/1000-cached: {report}");
    // `cargo xtask bench` asks for the figure in a file, for its summary.
    if let Some(path) = std::env::var_os("BURST_REPORT")
        && let Err(error) = std::fs::write(&path, &report)
    {
        eprintln!("cannot write {}: {error}", path.to_string_lossy());
    }
}

/// Spawns `BURST` requests at once and counts those that were signed in.
async fn burst<F, Fut>(request: F) -> usize
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let tasks: Vec<_> = (0..BURST).map(|_| tokio::spawn(request())).collect();
    let mut signed_in = 0;
    for task in tasks {
        if matches!(task.await, Ok(true)) {
            signed_in += 1;
        }
    }
    signed_in
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
