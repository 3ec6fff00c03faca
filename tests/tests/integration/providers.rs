//! The magic-link and one-time-code flows end to end over real HTTP on 127.0.0.1: through the
//! quickstart app (request, follow, read `/me`, reuse) and through a handler with a clock the
//! test moves (expiry, attempt limit), plus the listing and JWKS routes.

use auth_examples::quickstart_app as quickstart;

use crate::common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_runtime::VerificationKey;
use auth_runtime::providers::{AuthHandler, CodeProvider, FlowError, FlowResponse, LinkProvider, UserClaims};
use auth_runtime::store::MemoryStore;
use common::client::{Reply, get, path_of, post_form, redeem_link, serve};
use common::{AppSession, NOW};
use quickstart::Message;

type Outbox = Arc<Mutex<Vec<Message>>>;

fn quickstart_app() -> (SocketAddr, Outbox) {
    let sent: Outbox = Arc::default();
    let recorder = Arc::clone(&sent);
    let outbox: quickstart::Outbox = Arc::new(move |message| recorder.lock().unwrap().push(message));
    let sessions = quickstart::development_sessions().expect("sessions");
    let app = quickstart::app(sessions, "http://localhost:3000", outbox).expect("app");
    (serve(app), sent)
}

fn last_link(sent: &Outbox) -> String {
    match sent.lock().unwrap().last() {
        Some(Message::Link { url, .. }) => url.clone(),
        other => panic!("no link sent: {other:?}"),
    }
}

fn last_code(sent: &Outbox) -> String {
    match sent.lock().unwrap().last() {
        Some(Message::Code { code, .. }) => code.clone(),
        other => panic!("no code sent: {other:?}"),
    }
}

fn session_of(addr: SocketAddr, reply: &Reply) -> serde_json::Value {
    let token = reply.cookie("auth-token").expect("a session cookie");
    let me = get(addr, "/me", &[("Cookie", &format!("auth-token={token}"))]);
    assert_eq!(me.status, 200, "{}", me.body);
    me.json()["session"].clone()
}

#[test]
fn a_magic_link_signs_in_once() {
    let (addr, sent) = quickstart_app();
    let requested = post_form(addr, "/auth/link/authorize", &[], &[("email", "alice@example.com")]);
    assert_eq!(requested.status, 200, "{}", requested.body);
    assert!(requested.body.contains("alice@example.com"));

    let link = last_link(&sent);
    assert!(
        link.starts_with("http://localhost:3000/auth/link/callback?token="),
        "{link}"
    );
    // Links are built for the configured base URL; the test server listens elsewhere. Opening
    // the link (in another browser than the one that asked) asks first, and spends nothing.
    let page = get(addr, &path_of(&link), &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Sign in as <b>alice@example.com</b>?"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<form method=\"post\" action=\"/auth/link/callback\">")
    );
    assert_eq!(page.cookie("auth-token"), None);
    let followed = redeem_link(addr, &path_of(&link), &[]);
    assert_eq!(followed.status, 302, "{}", followed.body);
    assert_eq!(followed.header("location"), Some("/me"));
    assert_eq!(
        session_of(addr, &followed),
        serde_json::json!({"type": "user", "properties": {"userID": "alice@example.com"}})
    );

    let again = redeem_link(addr, &path_of(&link), &[]);
    assert_eq!(again.status, 400);
    assert!(again.body.contains("already used"), "{}", again.body);
    assert_eq!(again.cookie("auth-token"), None);

    let mut tampered = path_of(&link);
    let last = tampered.pop().expect("a token");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let refused = get(addr, &tampered, &[]);
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("not valid"), "{}", refused.body);

    let no_email = post_form(addr, "/auth/link/authorize", &[], &[]);
    assert_eq!(no_email.status, 400);
    let huge = "a".repeat(3000);
    let too_long = post_form(addr, "/auth/link/authorize", &[], &[("email", &huge)]);
    assert_eq!(too_long.status, 400);
    assert!(too_long.body.contains("too long"), "{}", too_long.body);
    assert!(sent.lock().unwrap().len() == 1, "nothing is sent without an address");
}

#[test]
fn a_one_time_code_signs_in_after_a_wrong_one() {
    let (addr, sent) = quickstart_app();
    let requested = post_form(addr, "/auth/code/authorize", &[], &[("email", "bob@example.com")]);
    assert_eq!(requested.status, 200, "{}", requested.body);
    assert!(requested.body.contains("action=\"/auth/code/callback\""));
    let set_flow = requested
        .headers
        .iter()
        .find(|(name, value)| name.eq_ignore_ascii_case("set-cookie") && value.starts_with("auth-flow-code="))
        .map(|(_, value)| value.clone())
        .expect("a flow cookie");
    assert!(
        set_flow.contains("; HttpOnly; Secure; SameSite=Lax; Path=/auth/code; Max-Age=600"),
        "{set_flow}"
    );
    let flow = format!(
        "auth-flow-code={}",
        requested.cookie("auth-flow-code").expect("flow id")
    );

    let code = last_code(&sent);
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    let wrong = if code == "000000" { "000001" } else { "000000" };

    let refused = post_form(addr, "/auth/code/callback", &[("Cookie", &flow)], &[("code", wrong)]);
    assert_eq!(refused.status, 401);
    assert!(refused.body.contains("4 attempts left"), "{}", refused.body);
    assert_eq!(refused.cookie("auth-token"), None);

    let accepted = post_form(addr, "/auth/code/callback", &[("Cookie", &flow)], &[("code", &code)]);
    assert_eq!(accepted.status, 302, "{}", accepted.body);
    assert_eq!(accepted.header("location"), Some("/me"));
    assert_eq!(
        accepted.cookie("auth-flow-code"),
        Some(""),
        "the flow cookie is deleted"
    );
    assert_eq!(
        session_of(addr, &accepted),
        serde_json::json!({"type": "user", "properties": {"userID": "bob@example.com"}})
    );

    let replayed = post_form(addr, "/auth/code/callback", &[("Cookie", &flow)], &[("code", &code)]);
    assert_eq!(replayed.status, 400);
    assert!(
        replayed.body.contains("expired or was already used"),
        "{}",
        replayed.body
    );

    let without_cookie = post_form(addr, "/auth/code/callback", &[], &[("code", &code)]);
    assert_eq!(without_cookie.status, 400);
    assert!(
        without_cookie.body.contains("no sign-in is in progress"),
        "{}",
        without_cookie.body
    );

    // A logout that does not carry the session clears nothing (quickstart.rs says why).
    let logout = common::client::send(addr, "POST", "/logout", &[]);
    assert_eq!(logout.status, 303);
    assert_eq!(logout.cookie("auth-token"), None);
}

/// A handler whose sessions read `clock`, with a 60-second link and code and 3 attempts.
struct Clocked {
    addr: SocketAddr,
    clock: Arc<AtomicU64>,
    sent: Arc<Mutex<Vec<(String, String)>>>,
}

fn clocked(store: MemoryStore, clock: Arc<AtomicU64>) -> Clocked {
    let sent: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let time = Arc::clone(&clock);
    let sessions = common::builder(common::hs256_key())
        .clock(move || common::at(time.load(Ordering::SeqCst)))
        .build()
        .expect("sessions");
    let link_sent = Arc::clone(&sent);
    let links = LinkProvider::new(move |link| {
        link_sent
            .lock()
            .unwrap()
            .push(("link".to_owned(), link.url.to_string()));
        async { Ok(FlowResponse::new("sent".into())) }
    })
    .ttl(Duration::from_secs(60));
    let code_sent = Arc::clone(&sent);
    let codes = CodeProvider::new(
        move |request| {
            code_sent
                .lock()
                .unwrap()
                .push(("code".to_owned(), request.code.clone()));
            async { Ok(FlowResponse::new("sent".into())) }
        },
        |invalid| async move {
            Ok(FlowResponse::new(
                format!("wrong, {} left", invalid.attempts_left).into(),
            ))
        },
    )
    .ttl(Duration::from_secs(60))
    .max_attempts(3);
    let signed_in = |sessions: &auth_runtime::Sessions<AppSession>| {
        let sessions = sessions.clone();
        move |claims: UserClaims| {
            let sessions = sessions.clone();
            async move {
                let email = claims.get("email").ok_or(FlowError::NoClaims)?;
                Ok(sessions.cookie(&common::user(email), "/done")?)
            }
        }
    };
    let auth = AuthHandler::builder(sessions.clone(), "http://localhost:8080/base")
        .store(store)
        .provider("link", links, signed_in(&sessions))
        .provider(
            "other-link",
            LinkProvider::new(|_| async { Ok(FlowResponse::default()) }),
            signed_in(&sessions),
        )
        .provider("code", codes, signed_in(&sessions))
        .build()
        .expect("handler");
    Clocked {
        addr: serve(auth.router()),
        clock,
        sent,
    }
}

impl Clocked {
    fn new() -> Self {
        clocked(MemoryStore::new(), Arc::new(AtomicU64::new(NOW)))
    }

    fn last(&self) -> String {
        self.sent.lock().unwrap().last().expect("something was sent").1.clone()
    }

    fn advance(&self, seconds: u64) {
        self.clock.fetch_add(seconds, Ordering::SeqCst);
    }

    fn request_code(&self) -> (String, String) {
        let requested = post_form(
            self.addr,
            "/auth/code/authorize",
            &[],
            &[("email", "carol@example.com")],
        );
        assert_eq!(requested.status, 200, "{}", requested.body);
        let flow = format!(
            "auth-flow-code={}",
            requested.cookie("auth-flow-code").expect("flow id")
        );
        (flow, self.last())
    }

    fn submit(&self, flow: &str, code: &str) -> Reply {
        post_form(self.addr, "/auth/code/callback", &[("Cookie", flow)], &[("code", code)])
    }
}

fn wrong(code: &str) -> String {
    code.bytes().map(|b| char::from(b'0' + (b - b'0' + 1) % 10)).collect()
}

#[test]
fn the_last_wrong_code_voids_the_code() {
    let app = Clocked::new();
    let (flow, code) = app.request_code();
    let first = app.submit(&flow, &wrong(&code));
    assert_eq!(first.body, "wrong, 2 left");
    assert_eq!(app.submit(&flow, &wrong(&code)).body, "wrong, 1 left");
    let third = app.submit(&flow, &wrong(&code));
    assert_eq!(third.status, 400);
    assert!(third.body.contains("too many wrong codes"), "{}", third.body);
    assert_eq!(third.cookie("auth-flow-code"), Some(""));

    let right_too_late = app.submit(&flow, &code);
    assert_eq!(right_too_late.status, 400, "{}", right_too_late.body);
    assert_eq!(right_too_late.cookie("auth-token"), None);

    // A code shorter or longer than the real one is a wrong code like any other.
    let (flow, code) = app.request_code();
    assert_eq!(app.submit(&flow, &code[1..]).body, "wrong, 2 left");
    assert_eq!(app.submit(&flow, &format!("{code}0")).body, "wrong, 1 left");
    assert_eq!(app.submit(&flow, &code).status, 302);
}

#[test]
fn codes_and_links_expire() {
    let app = Clocked::new();
    let (flow, code) = app.request_code();
    app.advance(61);
    let late = app.submit(&flow, &code);
    assert_eq!(late.status, 400);
    assert!(late.body.contains("expired"), "{}", late.body);

    let requested = post_form(app.addr, "/auth/link/authorize", &[], &[("email", "dan@example.com")]);
    assert_eq!(requested.status, 200);
    let link = app.last();
    assert!(
        link.starts_with("http://localhost:8080/base/auth/link/callback?token="),
        "{link}"
    );
    // 60 s of lifetime and the sessions' 60 s of leeway.
    app.advance(121);
    let late = get(app.addr, &path_of(&link).replacen("/base", "", 1), &[]);
    assert_eq!(late.status, 400);
    assert!(late.body.contains("expired"), "{}", late.body);
}

#[test]
fn a_link_works_for_its_own_provider_only() {
    let app = Clocked::new();
    post_form(app.addr, "/auth/link/authorize", &[], &[("email", "erin@example.com")]);
    let link = path_of(&app.last()).replacen("/base", "", 1);
    let elsewhere = get(app.addr, &link.replacen("/auth/link/", "/auth/other-link/", 1), &[]);
    assert_eq!(elsewhere.status, 400);
    assert!(elsewhere.body.contains("audience"), "{}", elsewhere.body);
    assert_eq!(redeem_link(app.addr, &link, &[]).status, 302);
}

#[test]
fn single_use_lives_in_the_store_not_in_the_handler() {
    let store = MemoryStore::new();
    let clock = Arc::new(AtomicU64::new(NOW));
    let before = clocked(store.clone(), Arc::clone(&clock));
    post_form(
        before.addr,
        "/auth/link/authorize",
        &[],
        &[("email", "fay@example.com")],
    );
    let link = path_of(&before.last()).replacen("/base", "", 1);
    assert_eq!(redeem_link(before.addr, &link, &[]).status, 302);

    // A new handler (a restart, or another instance) with the same store and key.
    let after = clocked(store, clock);
    let reused = redeem_link(after.addr, &link, &[]);
    assert_eq!(reused.status, 400);
    assert!(reused.body.contains("already used"), "{}", reused.body);
}

#[test]
fn a_second_flow_cookie_or_code_parameter_is_refused() {
    let app = Clocked::new();
    let (flow, code) = app.request_code();
    let not_an_id = app.submit("auth-flow-code=../../etc%2Fpasswd", &code);
    assert!(
        not_an_id.body.contains("no sign-in is in progress"),
        "{}",
        not_an_id.body
    );
    let doubled = format!("{flow}; {flow}");
    let refused = app.submit(&doubled, &code);
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("no sign-in is in progress"), "{}", refused.body);

    let two_codes = post_form(
        app.addr,
        "/auth/code/callback",
        &[("Cookie", &flow)],
        &[("code", &code), ("code", &code)],
    );
    assert_eq!(two_codes.status, 400);
    assert!(two_codes.body.contains("exactly one `code`"), "{}", two_codes.body);
    assert_eq!(
        app.submit(&flow, &code).status,
        302,
        "neither refusal used an attempt up"
    );
}

#[test]
fn the_handler_lists_providers_and_publishes_current_and_retired_keys() {
    let current = auth_runtime::SigningKey::ed25519_pem(&common::key_pem("ed25519.pem")).expect("key");
    let retired = VerificationKey::es256_pem(&common::key_pem("es256.pub.pem")).expect("key");
    let sessions = common::builder(current)
        .verification_key(retired)
        .build()
        .expect("sessions");
    let auth = AuthHandler::builder(sessions.clone(), "https://app.example.com")
        .provider(
            "link",
            LinkProvider::new(|_| async { Ok(FlowResponse::default()) }),
            |_| async { Ok(FlowResponse::default()) },
        )
        .build()
        .expect("handler");
    let addr = serve(auth.router());

    let listing = get(addr, "/auth", &[]).json();
    assert_eq!(
        listing,
        serde_json::json!({"providers": [
            {"name": "link", "label": "link", "authorize": "https://app.example.com/auth/link/authorize"}
        ]})
    );

    let jwks = get(addr, "/.well-known/jwks.json", &[]);
    assert_eq!(jwks.header("content-type"), Some("application/json"));
    let keys = jwks.json()["keys"].as_array().expect("keys").clone();
    assert_eq!(keys.len(), 2);
    let algorithms: Vec<&str> = keys.iter().map(|key| key["alg"].as_str().expect("alg")).collect();
    assert_eq!(algorithms, ["EdDSA", "ES256"]);
    for key in &keys {
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].as_str().is_some_and(|kid| !kid.is_empty()));
        assert!(key.get("d").is_none(), "no private key material");
    }

    assert_eq!(get(addr, "/auth/nope/authorize", &[]).status, 404);
    assert_eq!(get(addr, "/auth/link/nope", &[]).status, 404);
    // axum's own method routing: 405 with the methods a step takes.
    let put = common::client::send(addr, "PUT", "/auth/link/authorize", &[]);
    assert_eq!(put.status, 405);
    assert_eq!(put.header("allow"), Some("GET,HEAD,POST"));
}

#[test]
fn the_handler_refuses_bad_configuration() {
    let sessions = common::sessions_at(NOW);
    let provider = || LinkProvider::new(|_| async { Ok(FlowResponse::default()) });
    let on_success = |_| async { Ok(FlowResponse::default()) };
    for base in [
        "app.example.com",
        "ftp://app.example.com",
        "https://app.example.com/?q=1",
        "https://u:p@app.example.com",
    ] {
        let result = AuthHandler::builder(sessions.clone(), base)
            .provider("link", provider(), on_success)
            .build();
        assert!(result.is_err(), "{base}");
    }
    for name in ["", "Link", "a/b", "link provider"] {
        let result = AuthHandler::builder(sessions.clone(), "https://app.example.com")
            .provider(name, provider(), on_success)
            .build();
        assert!(result.is_err(), "{name:?}");
    }
    for prefix in ["auth", "/auth/", "/", "//auth", "/a b"] {
        let result = AuthHandler::builder(sessions.clone(), "https://app.example.com")
            .prefix(prefix)
            .provider("link", provider(), on_success)
            .build();
        assert!(result.is_err(), "{prefix:?}");
    }
    let duplicate = AuthHandler::builder(sessions.clone(), "https://app.example.com")
        .provider("link", provider(), on_success)
        .provider("link", provider(), on_success)
        .build();
    assert!(duplicate.is_err());
    assert!(
        AuthHandler::builder(sessions.clone(), "https://app.example.com")
            .build()
            .is_err()
    );
}
