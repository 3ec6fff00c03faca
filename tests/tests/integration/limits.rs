//! Rate limits on the sign-in flows and a store that keeps security records whatever the flows
//! do, through the quickstart over HTTP where a person (or an attacker) would hit them.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_examples::quickstart_app as quickstart;
use auth_runtime::providers::{
    AuthHandler, ClientAddress, FlowError, FlowResponse, LinkProvider, RateLimit, UserClaims,
};
use auth_runtime::store::{MemoryStore, Store};
use common::client::{Reply, post_form, send, serve, serve_without_peer};

use crate::common;

/// The quickstart on `store`, and what it "sent".
pub(crate) fn quickstart_on(store: Arc<dyn Store>) -> (SocketAddr, Arc<Mutex<Vec<quickstart::Message>>>) {
    let sent: Arc<Mutex<Vec<quickstart::Message>>> = Arc::default();
    let recorder = Arc::clone(&sent);
    let outbox: quickstart::Outbox = Arc::new(move |message| recorder.lock().unwrap().push(message));
    let sessions = quickstart::development_sessions().expect("sessions");
    let app = quickstart::app_with_store(sessions, "http://localhost:3000", outbox, store).expect("app");
    (serve(app), sent)
}

fn request_code(addr: SocketAddr, email: &str) -> Reply {
    post_form(addr, "/auth/code/authorize", &[], &[("email", email)])
}

fn assert_rate_limited(reply: &Reply) {
    assert_eq!(reply.status, 429, "{}", reply.body);
    let retry_after: u64 = reply
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
}

/// One address gets five sign-in messages per 15 minutes, however it is spelled: a flood of
/// codes or links to someone's inbox stops at the sixth.
#[test]
fn sign_in_requests_are_limited_per_identity() {
    let (addr, sent) = quickstart_on(Arc::new(MemoryStore::new()));
    for email in [
        "ada@example.com",
        "Ada@Example.com",
        " ada@example.com",
        "ada@example.com",
        "ADA@example.com",
    ] {
        assert_eq!(request_code(addr, email).status, 200);
    }
    assert_rate_limited(&request_code(addr, "ada@example.com"));
    assert_rate_limited(&post_form(
        addr,
        "/auth/link/authorize",
        &[],
        &[("email", "ada@example.com")],
    ));
    assert_eq!(sent.lock().unwrap().len(), 5, "nothing sent past the limit");
    assert_eq!(
        request_code(addr, "bob@example.com").status,
        200,
        "others are not affected"
    );
}

/// Each code flow allows 5 tries; new flows do not bring new tries past the identity's 10 per
/// hour, so guessing a 6-digit code by starting flow after flow stays at odds of 10^-5 per hour.
#[test]
fn wrong_codes_are_limited_per_identity_across_flows() {
    let (addr, _sent) = quickstart_on(Arc::new(MemoryStore::new()));
    let mut tries = 0;
    let mut refused = None;
    'flows: for _ in 0..5 {
        let requested = request_code(addr, "carol@example.com");
        assert_eq!(requested.status, 200, "{}", requested.body);
        let flow = format!("auth-flow-code={}", requested.cookie("auth-flow-code").expect("flow"));
        for _ in 0..4 {
            let reply = post_form(
                addr,
                "/auth/code/callback",
                &[("Cookie", &flow), ("Sec-Fetch-Site", "same-origin")],
                &[("code", "00000x")],
            );
            tries += 1;
            if reply.status == 429 {
                refused = Some(reply);
                break 'flows;
            }
            assert_eq!(reply.status, 401, "{}", reply.body);
        }
    }
    let refused = refused.expect("the identity's limit was never reached");
    assert_rate_limited(&refused);
    assert_eq!(tries, 11, "ten wrong codes are counted, the eleventh is refused");
}

/// A client address (from a header a trusted proxy sets) gets its own limit across identities.
#[test]
fn sign_in_requests_are_limited_per_client() {
    let sessions = common::sessions_at(common::NOW);
    let links = LinkProvider::new(|_| async { Ok::<FlowResponse, FlowError>(FlowResponse::default()) });
    let auth = AuthHandler::builder(sessions.clone(), "http://localhost:3000")
        .client_address(ClientAddress::TrustedHeader(http::HeaderName::from_static("x-real-ip")))
        .limit_requests_per_client(RateLimit::new(2, Duration::from_secs(900)))
        .provider("link", links, |_: UserClaims| async { Ok(FlowResponse::default()) })
        .build()
        .expect("handler");
    let addr = serve(auth.router());
    let from =
        |ip: &str, email: &str| post_form(addr, "/auth/link/authorize", &[("X-Real-IP", ip)], &[("email", email)]);
    assert_eq!(from("203.0.113.1", "a@example.com").status, 200);
    assert_eq!(from("203.0.113.1", "b@example.com").status, 200);
    assert_rate_limited(&from("203.0.113.1", "c@example.com"));
    assert_eq!(from("203.0.113.2", "c@example.com").status, 200, "another client");
}

/// Flows fill their share of the store, and stop there: signing out still records the
/// revocation, so a copy of the cookie is refused. (Before, a full store made logout answer 503
/// while the session stayed valid.)
#[test]
fn a_store_full_of_flows_still_records_revocations() {
    let (addr, _sent) = quickstart_on(Arc::new(MemoryStore::with_capacities(3, 100)));
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        assert_eq!(request_code(addr, email).status, 200);
    }
    assert_eq!(
        request_code(addr, "d@example.com").status,
        503,
        "the flows' share is full"
    );

    let login = common::client::get(addr, "/login?name=alice", &[]);
    let cookie = login
        .header("set-cookie")
        .and_then(|value| value.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let logout = send(
        addr,
        "POST",
        "/logout",
        &[("Cookie", &cookie), ("Sec-Fetch-Site", "same-origin")],
    );
    assert_eq!(logout.status, 302, "{}", logout.body);
    let replayed = common::client::get(addr, "/me", &[("Cookie", &cookie)]);
    assert_eq!(replayed.status, 401, "{}", replayed.body);
}

/// The quickstart served with each connection's peer address: one client asking for codes for
/// 70 different addresses gets 60, then 429, and nothing more is sent. (Before, the quickstart
/// served without `ConnectInfo` and all 70 answered 200: the per-client limit was silently off.)
#[test]
fn one_client_asking_for_many_addresses_is_stopped_at_sixty() {
    let (addr, sent) = quickstart_on(Arc::new(MemoryStore::new()));
    let mut first_refused = None;
    for n in 1..=70 {
        let reply = request_code(addr, &format!("person{n}@example.com"));
        if reply.status == 429 {
            assert_rate_limited(&reply);
            first_refused.get_or_insert(n);
        } else {
            assert_eq!(reply.status, 200, "request {n}: {}", reply.body);
            assert!(first_refused.is_none(), "request {n} passed after a refusal");
        }
    }
    assert_eq!(first_refused, Some(61));
    assert_eq!(sent.lock().unwrap().len(), 60);
}

/// Served without `ConnectInfo`, the per-client limit cannot tell clients apart: a sign-in is
/// refused (500, and an ERROR event that says how to fix it), never let through uncounted. So is
/// a request without the header a trusted proxy is said to set.
#[test]
fn a_client_address_that_cannot_be_told_refuses_the_sign_in() {
    let sent: Arc<Mutex<Vec<quickstart::Message>>> = Arc::default();
    let recorder = Arc::clone(&sent);
    let outbox: quickstart::Outbox = Arc::new(move |message| recorder.lock().unwrap().push(message));
    let sessions = quickstart::development_sessions().expect("sessions");
    let app = quickstart::app(sessions, "http://localhost:3000", outbox).expect("app");
    let addr = serve_without_peer(app);
    assert_eq!(request_code(addr, "ada@example.com").status, 500);
    assert!(sent.lock().unwrap().is_empty(), "nothing is sent");

    let sessions = common::sessions_at(common::NOW);
    let links = LinkProvider::new(|_| async { Ok::<FlowResponse, FlowError>(FlowResponse::default()) });
    let auth = AuthHandler::builder(sessions.clone(), "http://localhost:3000")
        .client_address(ClientAddress::TrustedHeader(http::HeaderName::from_static("x-real-ip")))
        .provider("link", links, |_: UserClaims| async { Ok(FlowResponse::default()) })
        .build()
        .expect("handler");
    let addr = serve(auth.router());
    let without = post_form(addr, "/auth/link/authorize", &[], &[("email", "a@example.com")]);
    assert_eq!(without.status, 500, "{}", without.body);
    let with = post_form(
        addr,
        "/auth/link/authorize",
        &[("X-Real-IP", "203.0.113.1")],
        &[("email", "a@example.com")],
    );
    assert_eq!(with.status, 200, "{}", with.body);
}

/// `email` given twice (in the query and the form) is refused before anything is counted: it
/// used to hide the identity from its limit while the flow took the first value.
#[test]
fn an_identity_given_twice_is_refused_before_it_is_counted() {
    let (addr, sent) = quickstart_on(Arc::new(MemoryStore::new()));
    for _ in 0..10 {
        let twice = post_form(
            addr,
            "/auth/code/authorize?email=ada%40example.com",
            &[],
            &[("email", "ada@example.com")],
        );
        assert_eq!(twice.status, 400, "{}", twice.body);
        assert!(twice.body.contains("more than once"), "{}", twice.body);
    }
    assert!(sent.lock().unwrap().is_empty());
    for _ in 0..5 {
        assert_eq!(request_code(addr, "ada@example.com").status, 200, "nothing was counted");
    }
    assert_rate_limited(&request_code(addr, "ada@example.com"));
}
