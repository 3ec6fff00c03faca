//! The verified-session cache: coalescing, expiry against an injected clock, successes only,
//! invalidation (by hand, and from a store's events), and the header rule for verifiers that
//! read more than the token.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use auth_runtime::store::{
    Invalidation, Listener, Listeners, MemoryStore, Store, StoreEvent, StoreFuture, Subscription,
};
use auth_runtime::{Authenticated, CacheKey, SessionCache, SessionVerifier, VerifierError};
use common::clock::MovableClock;
use common::*;
use http::HeaderMap;
use tokio::sync::Semaphore;

/// An opaque-token backend: `id.<user>.<exp>` tokens, with a call counter, a clock, an optional
/// gate that holds every call until released, and scripted outages.
struct Backend {
    calls: AtomicUsize,
    now: MovableClock,
    gate: Option<Arc<Semaphore>>,
    outages: AtomicUsize,
    key: CacheKey,
    /// Every session revoked: read when a call begins, before the gate (the check happened, the
    /// answer is still on its way).
    revoked: AtomicBool,
}

impl Backend {
    fn new(now: MovableClock) -> Self {
        Backend {
            calls: AtomicUsize::new(0),
            now,
            gate: None,
            outages: AtomicUsize::new(0),
            key: CacheKey::Token,
            revoked: AtomicBool::new(false),
        }
    }
}

impl SessionVerifier for Backend {
    type Session = AppSession;
    type Output = (String, u64);

    async fn verify_session(&self, token: &str, _headers: &HeaderMap) -> Result<(String, u64), VerifierError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let revoked = self.revoked.load(Ordering::SeqCst);
        if let Some(gate) = &self.gate {
            let _permit = gate.acquire().await.map_err(VerifierError::unavailable)?;
        }
        if revoked {
            return Err(VerifierError::failed("session revoked"));
        }
        if self.outages.load(Ordering::SeqCst) > 0 {
            self.outages.fetch_sub(1, Ordering::SeqCst);
            return Err(VerifierError::unavailable("database down"));
        }
        let mut parts = token.split('.');
        let (Some("id"), Some(user), Some(exp), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(VerifierError::failed("unknown session id"));
        };
        let exp: u64 = exp.parse().map_err(VerifierError::failed)?;
        if self.now.unix_seconds() >= exp {
            return Err(VerifierError::failed("session expired"));
        }
        Ok((user.to_owned(), exp))
    }

    fn map_session(&self, (user, exp): (String, u64)) -> Result<Authenticated<AppSession>, VerifierError> {
        let mut authenticated = Authenticated::new(user_of(&user));
        authenticated.expires_at = Some(exp);
        authenticated.subject = Some(user.clone());
        authenticated.session_id = Some(format!("sid-{user}"));
        Ok(authenticated)
    }

    fn cache_key(&self) -> CacheKey {
        self.key.clone()
    }
}

fn user_of(id: &str) -> AppSession {
    user(id)
}

fn cache_over(backend: &Arc<Backend>) -> SessionCache<Arc<Backend>> {
    SessionCache::builder(Arc::clone(backend))
        .clock(backend.now.source())
        .build()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn calls(backend: &Backend) -> usize {
    backend.calls.load(Ordering::SeqCst)
}

/// Yields until the backend has been called once; bounded, so a broken test fails instead of
/// spinning.
async fn until_called(backend: &Backend) {
    let mut yields = 0;
    while calls(backend) == 0 {
        assert!(yields < 100_000, "the backend was never called");
        yields += 1;
        tokio::task::yield_now().await;
    }
}

/// Holds the first backend call at the gate until every other spawned task has had its turns
/// to reach the cache, then lets it through. The wait is bounded, so a broken test fails
/// instead of spinning.
async fn open_gate_once_all_are_waiting(backend: &Backend, gate: &Semaphore) {
    let mut yields = 0;
    while calls(backend) == 0 {
        assert!(yields < 100_000, "the backend was never called");
        yields += 1;
        tokio::task::yield_now().await;
    }
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    gate.add_permits(1_000);
}

#[test]
fn concurrent_misses_for_one_token_make_one_backend_call() {
    runtime().block_on(async {
        let gate = Arc::new(Semaphore::new(0));
        let backend = Arc::new(Backend {
            gate: Some(Arc::clone(&gate)),
            ..Backend::new(MovableClock::at(NOW))
        });
        let cache = cache_over(&backend);
        let token = format!("id.ada.{}", NOW + 3600);
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let cache = cache.clone();
                let token = token.clone();
                tokio::spawn(async move { cache.verify(&token, &HeaderMap::new()).await.map(|a| a.session.clone()) })
            })
            .collect();
        open_gate_once_all_are_waiting(&backend, &gate).await;
        for task in tasks {
            assert_eq!(task.await.expect("task").expect("verified"), user("ada"));
        }
        assert_eq!(calls(&backend), 1, "1000 concurrent requests, one backend call");

        // The counters an exporter reads say the same.
        cache.verify(&token, &HeaderMap::new()).await.expect("a hit");
        assert!(cache.verify("id.nobody", &HeaderMap::new()).await.is_err());
        backend.outages.store(1, Ordering::SeqCst);
        assert!(
            cache
                .verify(&format!("id.bob.{}", NOW + 60), &HeaderMap::new())
                .await
                .is_err()
        );
        cache.invalidate_subject("ada");
        let stats = cache.stats();
        assert_eq!(
            (stats.misses, stats.coalesced, stats.hits),
            (3, 999, 1),
            "one miss and 999 waits for ada, a hit, two more misses: {stats:?}"
        );
        assert_eq!(stats.verifier_calls, 3, "{stats:?}");
        assert_eq!(
            (stats.verifier_refused, stats.verifier_unavailable),
            (1, 1),
            "{stats:?}"
        );
        assert_eq!(stats.invalidations, 1, "{stats:?}");
    });
}

/// A metered store counts and times each operation, errors apart.
#[test]
fn a_metered_store_counts_and_times_every_call() {
    use auth_runtime::store::{MemoryStore, MeteredStore, Store};
    runtime().block_on(async {
        let metered = MeteredStore::new(MemoryStore::with_capacities(1, 1));
        let store: Arc<dyn Store> = Arc::new(metered.clone());
        let ttl = std::time::Duration::from_secs(60);
        store.put("a", b"1".to_vec(), ttl).await.expect("fits");
        assert!(store.put("b", b"2".to_vec(), ttl).await.is_err(), "full");
        assert_eq!(store.get("a").await.expect("reads"), Some(b"1".to_vec()));
        assert_eq!(store.increment("rate:x", ttl).await.expect("counts"), 1);
        let stats = metered.stats();
        assert_eq!((stats.put.calls, stats.put.errors), (2, 1), "{stats:?}");
        assert_eq!(
            (stats.get.calls, stats.increment.calls, stats.take.calls),
            (1, 1, 0),
            "{stats:?}"
        );
        assert!(
            stats.put.max >= stats.put.mean() && stats.put.total >= stats.put.max,
            "{stats:?}"
        );
    });
}

#[test]
fn a_thousand_concurrent_requests_through_the_layer_make_one_backend_call() {
    use tower_layer::Layer;
    use tower_service::Service;
    runtime().block_on(async {
        let gate = Arc::new(Semaphore::new(0));
        let backend = Arc::new(Backend {
            gate: Some(Arc::clone(&gate)),
            ..Backend::new(MovableClock::at(NOW))
        });
        let layer = auth_runtime::SessionLayer::builder(cache_over(&backend))
            .build()
            .expect("valid layer");
        let service = layer.layer(Echo::default());
        let bearer = format!("Bearer id.ada.{}", NOW + 3600);
        let requests: Vec<_> = (0..1000)
            .map(|_| {
                let mut service = service.clone();
                let request = http::Request::builder()
                    .header(http::header::AUTHORIZATION, bearer.as_str())
                    .body(())
                    .expect("request");
                tokio::spawn(async move { service.call(request).await })
            })
            .collect();
        open_gate_once_all_are_waiting(&backend, &gate).await;
        for request in requests {
            let response = request.await.expect("task").expect("infallible");
            let user = response.headers().get("x-user").and_then(|value| value.to_str().ok());
            assert_eq!(user, Some("ada"), "every request reaches the handler with the session");
        }
        assert_eq!(calls(&backend), 1, "1000 concurrent requests, one backend call");
    });
}

/// An inner service that answers with whoever `use_session` says is calling (`x-user`) and the
/// credential `use_credential` gives (`x-credential`), read when it is called; and counts its
/// clones: the layer clones it for a request it must wait on, never for one it decides at once.
#[derive(Default)]
struct Echo {
    clones: Arc<AtomicUsize>,
}

impl Clone for Echo {
    fn clone(&self) -> Self {
        self.clones.fetch_add(1, Ordering::SeqCst);
        Echo {
            clones: Arc::clone(&self.clones),
        }
    }
}

impl tower_service::Service<http::Request<()>> for Echo {
    type Response = http::Response<String>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<http::Response<String>, std::convert::Infallible>>;

    fn poll_ready(&mut self, _cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: http::Request<()>) -> Self::Future {
        let who = match auth_runtime::use_session::<AppSession>() {
            Some(AppSession::User { user_id }) => user_id,
            _ => "public".to_owned(),
        };
        let credential = auth_runtime::use_credential().map(|token| token.to_string());
        let mut response = http::Response::new(String::new());
        for (name, value) in [("x-user", who), ("x-credential", credential.unwrap_or_default())] {
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        std::future::ready(Ok(response))
    }
}

#[test]
fn a_hot_hit_through_the_layer_is_decided_at_once_carries_its_token_and_is_counted() {
    use tower_layer::Layer;
    use tower_service::Service;
    runtime().block_on(async {
        let backend = Arc::new(Backend::new(MovableClock::at(NOW)));
        let layer = auth_runtime::SessionLayer::builder(cache_over(&backend))
            .build()
            .expect("valid layer");
        let clones = Arc::new(AtomicUsize::new(0));
        let mut service = layer.layer(Echo {
            clones: Arc::clone(&clones),
        });
        let token = format!("id.ada.{}", NOW + 3600);
        let request = || {
            http::Request::builder()
                .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
                .body(())
                .expect("request")
        };
        let expected = format!("ada {token}");
        let caller = |response: &http::Response<_>| {
            let header = |name| {
                response
                    .headers()
                    .get(name)
                    .and_then(|value: &http::HeaderValue| value.to_str().ok())
            };
            Some(format!("{} {}", header("x-user")?, header("x-credential")?))
        };
        // A miss, then a hit in the cache proper (which fills the hot slot): both wait.
        for _ in 0..2 {
            let response = service.call(request()).await.expect("infallible");
            assert_eq!(caller(&response).as_deref(), Some(expected.as_str()));
        }
        assert_eq!(
            clones.load(Ordering::SeqCst),
            2,
            "a request that waits clones the service"
        );
        // Hot hits: decided in `call`, the service called there, in the session's scope, with
        // the token the slot keeps; no clone.
        for _ in 0..5 {
            let response = service.call(request()).await.expect("infallible");
            assert_eq!(caller(&response).as_deref(), Some(expected.as_str()));
        }
        assert_eq!(clones.load(Ordering::SeqCst), 2, "a hot hit does not clone the service");
        let stats = layer.cache().stats();
        assert_eq!((stats.misses, stats.hits), (1, 6), "every hit counted once: {stats:?}");
        assert_eq!(calls(&backend), 1);
        // Invalidated: the slot is not served; the backend is asked again.
        layer.cache().invalidate_token(&token);
        let response = service.call(request()).await.expect("infallible");
        assert_eq!(caller(&response).as_deref(), Some(expected.as_str()));
        assert_eq!(calls(&backend), 2, "an invalidated token is verified afresh");
    });
}

#[test]
fn a_token_verified_afresh_after_the_ttl_is_served_from_the_hot_slots_again() {
    use tower_layer::Layer;
    use tower_service::Service;
    runtime().block_on(async {
        let now = MovableClock::at(NOW);
        let backend = Arc::new(Backend::new(now.clone()));
        let cache = SessionCache::builder(Arc::clone(&backend))
            .ttl(Duration::from_secs(30))
            .clock(now.source())
            .build();
        let layer = auth_runtime::SessionLayer::builder(cache).build().expect("valid layer");
        let clones = Arc::new(AtomicUsize::new(0));
        let mut service = layer.layer(Echo {
            clones: Arc::clone(&clones),
        });
        let token = format!("id.ada.{}", NOW + 3600);
        let mut call = async || {
            let request = http::Request::builder()
                .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
                .body(())
                .expect("request");
            let response = service.call(request).await.expect("infallible");
            assert_eq!(
                response.headers().get("x-user").and_then(|user| user.to_str().ok()),
                Some("ada")
            );
        };
        // In each lifetime of the entry (its TTL is 30 s) the first requests wait (the
        // verification, and the hit in the cache proper that fills the hot slot); once that has
        // settled, every request is a hot hit, decided in `call` without a clone of the service.
        for lifetime in 1..=3 {
            for _ in 0..4 {
                call().await;
            }
            let settled = clones.load(Ordering::SeqCst);
            for _ in 0..5 {
                call().await;
            }
            assert_eq!(
                clones.load(Ordering::SeqCst),
                settled,
                "lifetime {lifetime}: the token is served from the hot slots again"
            );
            assert!(calls(&backend) <= 2 * lifetime, "verified once or twice per lifetime");
            now.advance(Duration::from_secs(30));
        }
    });
}

#[test]
fn an_entry_is_never_served_after_its_expiry() {
    runtime().block_on(async {
        let now = MovableClock::at(NOW);
        let backend = Arc::new(Backend::new(now.clone()));
        let cache = cache_over(&backend);
        let token = format!("id.ada.{}", NOW + 10);
        let headers = HeaderMap::new();
        assert!(cache.verify(&token, &headers).await.is_ok());
        now.advance(Duration::from_secs(9));
        assert!(cache.verify(&token, &headers).await.is_ok());
        assert_eq!(calls(&backend), 1, "served from the cache before expiry");
        now.advance(Duration::from_secs(1));
        let expired = cache.verify(&token, &headers).await;
        assert!(
            expired.is_err(),
            "at its expiry the entry is not served, the backend refuses"
        );
        assert_eq!(calls(&backend), 2);
    });
}

#[test]
fn the_ttl_bounds_entries_without_a_near_expiry() {
    runtime().block_on(async {
        let now = MovableClock::at(NOW);
        let backend = Arc::new(Backend::new(now.clone()));
        let cache = SessionCache::builder(Arc::clone(&backend))
            .ttl(std::time::Duration::from_secs(30))
            .clock(now.source())
            .build();
        let token = format!("id.ada.{}", NOW + 3600);
        assert!(cache.verify(&token, &HeaderMap::new()).await.is_ok());
        now.advance(Duration::from_secs(30));
        assert!(cache.verify(&token, &HeaderMap::new()).await.is_ok());
        assert_eq!(calls(&backend), 2, "re-verified once the 30 s TTL ran out");
    });
}

#[test]
fn garbage_tokens_are_never_cached() {
    runtime().block_on(async {
        let cache = SessionCache::new(builder(hs256_key()).build().expect("valid"));
        let valid = cache.verifier().create(&user("ada")).expect("issues");
        assert!(cache.verify(&valid, &HeaderMap::new()).await.is_ok());
        let before = cache.entry_count().await;
        assert_eq!(before, 1);
        for index in 0..100_000u32 {
            let garbage = format!("garbage.{index}.token");
            assert!(cache.verify(&garbage, &HeaderMap::new()).await.is_err());
        }
        assert_eq!(
            cache.entry_count().await,
            before,
            "10^5 failures leave the cache as it was"
        );
    });
}

#[test]
fn backend_errors_are_not_cached() {
    runtime().block_on(async {
        let backend = Arc::new(Backend::new(MovableClock::at(NOW)));
        backend.outages.store(1, Ordering::SeqCst);
        let cache = cache_over(&backend);
        let token = format!("id.ada.{}", NOW + 3600);
        let outage = cache.verify(&token, &HeaderMap::new()).await.expect_err("fails closed");
        assert!(matches!(*outage, VerifierError::BackendUnavailable(_)), "{outage}");
        assert!(
            cache.verify(&token, &HeaderMap::new()).await.is_ok(),
            "the next request retries"
        );
        assert_eq!(calls(&backend), 2);
        assert!(cache.verify(&token, &HeaderMap::new()).await.is_ok());
        assert_eq!(calls(&backend), 2, "now cached");
    });
}

#[test]
fn invalidation_by_token_subject_id_and_all() {
    runtime().block_on(async {
        let backend = Arc::new(Backend::new(MovableClock::at(NOW)));
        let cache = cache_over(&backend);
        let headers = HeaderMap::new();
        let ada = format!("id.ada.{}", NOW + 3600);
        let bob = format!("id.bob.{}", NOW + 3600);
        let warm = |expected: usize| {
            let (cache, ada, bob, backend, headers) = (&cache, &ada, &bob, &backend, &headers);
            async move {
                assert!(cache.verify(ada, headers).await.is_ok());
                assert!(cache.verify(bob, headers).await.is_ok());
                assert_eq!(calls(backend), expected);
            }
        };
        warm(2).await;
        warm(2).await;
        cache.invalidate_token(&ada);
        warm(3).await;
        cache.invalidate_subject("bob");
        warm(4).await;
        cache.invalidate_session_id("sid-ada");
        warm(5).await;
        cache.invalidate_all();
        warm(7).await;
    });
}

#[test]
fn verifiers_that_read_headers_are_keyed_by_them_or_not_cached() {
    runtime().block_on(async {
        let device = http::HeaderName::from_static("x-device");
        let backend = Arc::new(Backend {
            key: CacheKey::TokenAndHeaders(vec![device.clone()]),
            ..Backend::new(MovableClock::at(NOW))
        });
        let cache = cache_over(&backend);
        let token = format!("id.ada.{}", NOW + 3600);
        let mut phone = HeaderMap::new();
        phone.insert(device.clone(), "phone".parse().expect("value"));
        let mut laptop = HeaderMap::new();
        laptop.insert(device, "laptop".parse().expect("value"));
        for _ in 0..2 {
            assert!(cache.verify(&token, &phone).await.is_ok());
            assert!(cache.verify(&token, &laptop).await.is_ok());
        }
        assert_eq!(calls(&backend), 2, "one entry per device header value");
        cache.invalidate_token(&token);
        assert!(cache.verify(&token, &phone).await.is_ok());
        assert_eq!(calls(&backend), 3, "invalidation by token reaches header-keyed entries");

        let uncached = Arc::new(Backend {
            key: CacheKey::Uncached,
            ..Backend::new(MovableClock::at(NOW))
        });
        let cache = cache_over(&uncached);
        for _ in 0..3 {
            assert!(cache.verify(&token, &phone).await.is_ok());
        }
        assert_eq!(calls(&uncached), 3, "an uncached verifier is asked every time");
    });
}

/// A store that keeps records in memory but has no events: the trait's default `subscribe`.
struct NoEvents(MemoryStore);

impl Store for NoEvents {
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
        self.0.put(key, value, ttl)
    }
    fn put_new<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, bool> {
        self.0.put_new(key, value, ttl)
    }
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        self.0.get(key)
    }
    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        self.0.take(key)
    }
    fn increment<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, u64> {
        self.0.increment(key, ttl)
    }
    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        self.0.remove(key)
    }
}

/// A store whose subscription the test drives: it says when it is live or interrupted.
#[derive(Default)]
struct Scripted {
    listeners: Listeners,
}

impl Store for Scripted {
    fn put<'a>(&'a self, _: &'a str, _: Vec<u8>, _: Duration) -> StoreFuture<'a, ()> {
        unreachable!("the cache never writes records")
    }
    fn put_new<'a>(&'a self, _: &'a str, _: Vec<u8>, _: Duration) -> StoreFuture<'a, bool> {
        unreachable!("the cache never writes records")
    }
    fn get<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        unreachable!("the cache never reads records")
    }
    fn take<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        unreachable!("the cache never reads records")
    }
    fn increment<'a>(&'a self, _: &'a str, _: Duration) -> StoreFuture<'a, u64> {
        unreachable!("the cache never counts")
    }
    fn remove<'a>(&'a self, _: &'a str) -> StoreFuture<'a, ()> {
        unreachable!("the cache never removes records")
    }
    fn subscribe(&self, listener: Listener) -> Subscription {
        self.listeners.add(listener)
    }
}

fn following(backend: &Arc<Backend>, store: Arc<dyn Store>) -> SessionCache<Arc<Backend>> {
    SessionCache::builder(Arc::clone(backend))
        .clock(backend.now.source())
        .invalidations_from(store)
        .build()
}

#[test]
fn caches_following_one_store_drop_what_any_instance_publishes() {
    runtime().block_on(async {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let instances: Vec<_> = (0..2)
            .map(|_| {
                let backend = Arc::new(Backend::new(MovableClock::at(NOW)));
                (following(&backend, Arc::clone(&store)), backend)
            })
            .collect();
        let headers = HeaderMap::new();
        let ada = format!("id.ada.{}", NOW + 3600);
        let bob = format!("id.bob.{}", NOW + 3600);
        let warm = |expected: usize| {
            let (instances, ada, bob, headers) = (&instances, &ada, &bob, &headers);
            async move {
                for (cache, backend) in instances {
                    assert!(cache.verify(ada, headers).await.is_ok());
                    assert!(cache.verify(bob, headers).await.is_ok());
                    assert_eq!(calls(backend), expected);
                }
            }
        };
        warm(2).await;
        warm(2).await;
        store.publish(&Invalidation::Session("sid-ada".into())).await.unwrap();
        warm(3).await;
        store.publish(&Invalidation::Subject("bob".into())).await.unwrap();
        warm(4).await;
        store
            .publish(&Invalidation::Session("sid-nobody".into()))
            .await
            .unwrap();
        warm(4).await;
        store.publish(&Invalidation::All).await.unwrap();
        warm(6).await;
    });
}

#[test]
fn nothing_is_served_from_memory_while_the_subscription_is_not_live() {
    runtime().block_on(async {
        let headers = HeaderMap::new();
        let ada = format!("id.ada.{}", NOW + 3600);
        let scripted = Arc::new(Scripted::default());
        let backend = Arc::new(Backend::new(MovableClock::at(NOW)));
        let cache = following(&backend, Arc::clone(&scripted) as Arc<dyn Store>);
        let verify_twice = || async {
            assert!(cache.verify(&ada, &headers).await.is_ok());
            assert!(cache.verify(&ada, &headers).await.is_ok());
        };

        verify_twice().await;
        assert_eq!(
            calls(&backend),
            2,
            "not yet subscribed: every request asks the verifier"
        );
        scripted.listeners.emit(&StoreEvent::Subscribed);
        verify_twice().await;
        assert_eq!(calls(&backend), 3, "live: cached");
        scripted.listeners.emit(&StoreEvent::Interrupted);
        verify_twice().await;
        assert_eq!(calls(&backend), 5, "interrupted: the cached entry is not served");
        scripted.listeners.emit(&StoreEvent::Subscribed);
        verify_twice().await;
        assert_eq!(calls(&backend), 6, "live again, from an empty cache");

        // A store without events is never live: its followers never serve from memory.
        let backend = Arc::new(Backend::new(MovableClock::at(NOW)));
        let cache = following(&backend, Arc::new(NoEvents(MemoryStore::new())));
        for _ in 0..3 {
            assert!(cache.verify(&ada, &headers).await.is_ok());
        }
        assert_eq!(calls(&backend), 3);
    });
}

/// A cache following a store, and a first request for ada's session held inside the backend
/// (at its gate) after the backend has looked.
struct Underway {
    store: Arc<dyn Store>,
    gate: Arc<Semaphore>,
    backend: Arc<Backend>,
    cache: SessionCache<Arc<Backend>>,
    ada: String,
    pending: tokio::task::JoinHandle<bool>,
}

async fn verification_underway() -> Underway {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let gate = Arc::new(Semaphore::new(0));
    let backend = Arc::new(Backend {
        gate: Some(Arc::clone(&gate)),
        ..Backend::new(MovableClock::at(NOW))
    });
    let cache = following(&backend, Arc::clone(&store));
    let ada = format!("id.ada.{}", NOW + 3600);
    let pending = tokio::spawn({
        let (cache, ada) = (cache.clone(), ada.clone());
        async move { cache.verify(&ada, &HeaderMap::new()).await.is_ok() }
    });
    until_called(&backend).await;
    Underway {
        store,
        gate,
        backend,
        cache,
        ada,
        pending,
    }
}

#[test]
fn an_invalidation_during_a_verification_is_not_lost() {
    runtime().block_on(async {
        // The verifier has looked (say, at a revocation list) and is still answering when
        // another instance revokes the session.
        let Underway {
            store,
            gate,
            backend,
            cache,
            ada,
            pending,
        } = verification_underway().await;
        store.publish(&Invalidation::Session("sid-ada".into())).await.unwrap();
        gate.add_permits(10);
        assert!(pending.await.unwrap(), "the overlapping request keeps its answer");

        // ...but the answer is not kept: the next request asks again.
        assert!(cache.verify(&ada, &HeaderMap::new()).await.is_ok());
        assert_eq!(calls(&backend), 2);
        assert!(cache.verify(&ada, &HeaderMap::new()).await.is_ok());
        assert_eq!(calls(&backend), 2, "and caches the new answer");
    });
}

/// A revocation lands while the verifier is still answering with what it read before. The request
/// that asked keeps that answer; no request that began after the revocation is ever served it:
/// not one that joined the verification under way, not one that found the entry in the cache a
/// moment after it was inserted. A second task on another worker hammers the token throughout.
#[test]
fn no_request_after_a_revocation_is_served_the_answer_it_overlapped() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let Underway {
            store,
            gate,
            backend,
            cache,
            ada,
            pending,
        } = verification_underway().await;
        backend.revoked.store(true, Ordering::SeqCst);
        store.publish(&Invalidation::Session("sid-ada".into())).await.unwrap();

        let started = Arc::new(AtomicUsize::new(0));
        let hammer = tokio::spawn({
            let (cache, ada, started) = (cache.clone(), ada.clone(), Arc::clone(&started));
            async move {
                let mut served = 0;
                for _ in 0..500 {
                    started.fetch_add(1, Ordering::SeqCst);
                    if cache.verify(&ada, &HeaderMap::new()).await.is_ok() {
                        served += 1;
                    }
                    tokio::task::yield_now().await;
                }
                served
            }
        });
        let mut yields = 0;
        while started.load(Ordering::SeqCst) == 0 {
            assert!(yields < 100_000, "the hammer never started");
            yields += 1;
            tokio::task::yield_now().await;
        }
        gate.add_permits(100_000);
        let _overlapping_request_keeps_its_answer = pending.await.unwrap();
        assert_eq!(
            hammer.await.unwrap(),
            0,
            "a request after the revocation was served the old answer"
        );
        assert!(cache.verify(&ada, &HeaderMap::new()).await.is_err());
    });
}

/// An invalidation names its entries through the cache's index: exactly those are verified
/// afresh, every other entry of a full cache goes on being served, and an entry the cache has
/// dropped (its capacity) leaves nothing behind that a later invalidation could trip on.
#[test]
fn an_invalidation_reaches_exactly_the_entries_it_names() {
    runtime().block_on(async {
        let backend = Arc::new(Backend::new(MovableClock::at(NOW)));
        let cache = cache_over(&backend);
        let headers = HeaderMap::new();
        let token = |n: usize| format!("id.user{n}.{}", NOW + 3600);
        for n in 0..1000 {
            cache.verify(&token(n), &headers).await.expect("verified");
        }
        assert_eq!(calls(&backend), 1000);
        cache.invalidate_session_id("sid-user7");
        cache.invalidate_subject("user8");
        cache.invalidate_token(&token(9));
        for n in 0..1000 {
            cache.verify(&token(n), &headers).await.expect("verified");
        }
        assert_eq!(calls(&backend), 1003, "three entries named, three verified afresh");
        assert_eq!(cache.stats().invalidations, 3);

        let small = SessionCache::builder(Arc::clone(&backend))
            .capacity(10)
            .clock(|| at(NOW))
            .build();
        for n in 0..200 {
            small.verify(&token(n), &headers).await.expect("verified");
        }
        small.entry_count().await;
        small.invalidate_session_id("sid-user1");
        let before = calls(&backend);
        small.verify(&token(199), &headers).await.expect("verified");
        small.verify(&token(1), &headers).await.expect("verified");
        assert!(
            calls(&backend) <= before + 2,
            "an evicted entry's index record is harmless"
        );
    });
}
