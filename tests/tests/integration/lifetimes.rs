//! Records that must outlive a token (a revocation, a used sign-in link) are kept until the token
//! can no longer verify: past its `exp` plus the largest leeway verification may allow. Kept any
//! shorter, the revoked session or the used link verifies again in between.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_runtime::MAX_LEEWAY;
use auth_runtime::providers::{AuthHandler, FlowError, LinkProvider, Response, UserClaims};
use auth_runtime::revocation::Revocations;
use auth_runtime::store::{Invalidation, Listener, MemoryStore, Store, StoreFuture, Subscription};
use common::client::{post_form, redeem_link, serve};
use common::*;

use crate::common;

/// A [`MemoryStore`] that remembers the time to live of every record written.
#[derive(Default, Clone)]
struct RecordingStore {
    inner: MemoryStore,
    written: Arc<Mutex<Vec<(String, Duration)>>>,
}

impl RecordingStore {
    fn ttl_of(&self, prefix: &str) -> Duration {
        let written = self.written.lock().unwrap();
        let found: Vec<_> = written.iter().filter(|(key, _)| key.starts_with(prefix)).collect();
        assert_eq!(found.len(), 1, "one record under {prefix}: {written:?}");
        found[0].1
    }
}

impl Store for RecordingStore {
    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
        self.written.lock().unwrap().push((key.to_owned(), ttl));
        self.inner.put(key, value, ttl)
    }

    fn put_new<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Duration) -> StoreFuture<'a, bool> {
        self.written.lock().unwrap().push((key.to_owned(), ttl));
        self.inner.put_new(key, value, ttl)
    }

    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        self.inner.get(key)
    }

    fn take<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        self.inner.take(key)
    }

    fn increment<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, u64> {
        self.inner.increment(key, ttl)
    }

    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        self.inner.remove(key)
    }

    fn publish<'a>(&'a self, invalidation: &'a Invalidation) -> StoreFuture<'a, ()> {
        self.inner.publish(invalidation)
    }

    fn subscribe(&self, listener: Listener) -> Subscription {
        self.inner.subscribe(listener)
    }
}

#[test]
fn a_revocation_outlives_the_token_by_the_largest_leeway() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let store = RecordingStore::default();
    let revocations = Revocations::new(Arc::new(store.clone())).clock(|| at(NOW));
    runtime
        .block_on(revocations.revoke("session-1", Some(NOW + 10)))
        .expect("revoked");
    // A `Sessions` with a 5-minute leeway accepts the token until NOW + 10 + 300.
    assert!(store.ttl_of("revoked:") > Duration::from_secs(10) + MAX_LEEWAY);
    assert_eq!(MAX_LEEWAY, Duration::from_secs(300));
}

#[test]
fn a_used_link_is_remembered_until_it_no_longer_verifies() {
    let leeway = Duration::from_secs(300);
    let sessions = builder(hs256_key())
        .leeway(leeway)
        .clock(|| at(NOW))
        .build()
        .expect("valid");
    let store = RecordingStore::default();
    let link: Arc<Mutex<String>> = Arc::default();
    let links = {
        let link = Arc::clone(&link);
        LinkProvider::new(move |sent| {
            *link.lock().unwrap() = sent.url.to_string();
            async { Ok::<Response, FlowError>(Response::default()) }
        })
        .ttl(Duration::from_secs(600))
    };
    let auth = AuthHandler::builder(&sessions, "http://localhost:3000")
        .store(store.clone())
        .provider("link", links, |_: UserClaims| async { Ok(Response::default()) })
        .build()
        .expect("handler");
    let addr = serve(auth.router());
    assert_eq!(
        post_form(addr, "/auth/link/authorize", &[], &[("email", "ada@example.com")]).status,
        200
    );
    let url = link.lock().unwrap().clone();
    let path = url.trim_start_matches("http://localhost:3000");
    assert_eq!(redeem_link(addr, path, &[]).status, 200);
    // The link expires at NOW + 600 and verifies until NOW + 600 + 300.
    assert!(store.ttl_of("link-used:link:") > Duration::from_secs(600) + leeway);
}
