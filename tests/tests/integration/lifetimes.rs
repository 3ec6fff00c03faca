//! Records that must outlive a token (a revocation, a used sign-in link) are kept until the token
//! can no longer verify: past its `exp` plus the largest leeway verification may allow. Kept any
//! shorter, the revoked session or the used link verifies again in between.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_runtime::MAX_LEEWAY;
use auth_runtime::providers::{AuthHandler, FlowError, FlowResponse, LinkProvider, UserClaims};
use auth_runtime::revocation::Revocations;
use common::client::{post_form, redeem_link, serve};
use common::stores::TestStore;
use common::*;

use crate::common;

#[test]
fn a_revocation_outlives_the_token_by_the_largest_leeway() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let store = TestStore::default();
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
    let store = TestStore::default();
    let link: Arc<Mutex<String>> = Arc::default();
    let links = {
        let link = Arc::clone(&link);
        LinkProvider::new(move |sent| {
            *link.lock().unwrap() = sent.url.to_string();
            async { Ok::<FlowResponse, FlowError>(FlowResponse::default()) }
        })
        .ttl(Duration::from_secs(600))
    };
    let auth = AuthHandler::builder(sessions.clone(), "http://localhost:3000")
        .store(store.clone())
        .provider("link", links, |_: UserClaims| async { Ok(FlowResponse::default()) })
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
