//! Sessions that live in better-auth, read through `SessionServer` behind the unchanged layer, on
//! axum and tonic, against the real `better-auth` npm package (in-memory adapter, email and
//! password) served on 127.0.0.1 by examples/better-auth/server.mjs from its lock file. Needs
//! Node.js.

use std::net::SocketAddr;
use std::time::Duration;

use auth_runtime::session_server::{BETTER_AUTH_COOKIE, Forward, SessionServer};
use auth_runtime::{CookieOptions, SessionCache, SessionLayer, SessionTypes, TokenSource, use_authenticated};
use axum::Router;
use axum::routing::get;
use common::client::{Reply, get as http_get, send_body, serve};
use common::clock::MovableClock;
use common::node::NodeServer;
use common::tools;

use crate::common::{self, AppSession};
use crate::grpc;

/// What a better-auth session maps to: the user's id and email.
#[derive(SessionTypes, Debug, Clone, PartialEq)]
enum Member {
    Member { user_id: String, email: String },
}

/// Connectum's `mapSession: (session) => ({ subject: session.user.id, ... })`, typed.
fn member(answer: &serde_json::Value) -> Result<Member, String> {
    let user = answer.get("user").ok_or("no user")?;
    let text = |field: &str| {
        user.get(field)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or(format!("no user.{field}"))
    };
    Ok(Member::Member {
        user_id: text("id")?,
        email: text("email")?,
    })
}

fn example_dir() -> std::path::PathBuf {
    tools::dir("../examples/better-auth")
}

fn require_node() {
    tools::require("Node.js", "node", &["--version"]);
    tools::npm_install(&example_dir(), "better-auth");
}

/// A better-auth server process; stopped when dropped.
struct BetterAuth {
    _node: NodeServer,
    base: String,
}

impl BetterAuth {
    /// Starts better-auth on `port` (0: any free one); sessions last `lifetime` if given.
    fn start(port: u16, lifetime: Option<u64>) -> BetterAuth {
        let mut args = vec![port.to_string()];
        args.extend(lifetime.map(|seconds| seconds.to_string()));
        let node = NodeServer::start(
            &example_dir(),
            "server.mjs",
            &args,
            &[("STOP_AFTER_SECONDS", "300")],
            |_| {},
        );
        BetterAuth {
            base: node.ready.clone(),
            _node: node,
        }
    }

    fn addr(&self) -> SocketAddr {
        common::client::addr_of(&self.base)
    }

    /// better-auth's own JSON API, from its own origin.
    fn post(&self, path: &str, cookie: Option<&str>, body: &serde_json::Value) -> Reply {
        let mut headers = vec![("Content-Type", "application/json"), ("Origin", self.base.as_str())];
        if let Some(cookie) = cookie {
            headers.push(("Cookie", cookie));
        }
        send_body(self.addr(), "POST", path, &headers, &body.to_string())
    }

    /// Signs up `email` and returns the session cookie's value (as better-auth sets it).
    fn sign_up(&self, email: &str) -> String {
        let body = serde_json::json!({"email": email, "password": "correct horse battery staple", "name": "Ada"});
        let reply = self.post("/api/auth/sign-up/email", None, &body);
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply
            .cookie(BETTER_AUTH_COOKIE)
            .expect("better-auth's session cookie")
            .to_owned()
    }

    /// Signs up `email` as an API client would: the session token better-auth's bearer plugin
    /// answers in `set-auth-token` (percent-decoded, as a client sends it).
    fn sign_up_for_bearer(&self, email: &str) -> String {
        let body = serde_json::json!({"email": email, "password": "correct horse battery staple", "name": "Ada"});
        let reply = self.post("/api/auth/sign-up/email", None, &body);
        assert_eq!(reply.status, 200, "{}", reply.body);
        let token = reply.header("set-auth-token").expect("the bearer plugin's token");
        percent_encoding::percent_decode_str(token)
            .decode_utf8()
            .expect("UTF-8")
            .into_owned()
    }

    fn sign_in(&self, email: &str) -> String {
        let body = serde_json::json!({"email": email, "password": "correct horse battery staple"});
        let reply = self.post("/api/auth/sign-in/email", None, &body);
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply
            .cookie(BETTER_AUTH_COOKIE)
            .expect("better-auth's session cookie")
            .to_owned()
    }

    fn sign_out(&self, session: &str) {
        let cookie = format!("{BETTER_AUTH_COOKIE}={session}");
        let reply = self.post("/api/auth/sign-out", Some(&cookie), &serde_json::json!({}));
        assert_eq!(reply.status, 200, "{}", reply.body);
    }

    /// How many times `/api/auth/get-session` was asked, counted by the Node side.
    fn get_session_calls(&self) -> u64 {
        http_get(self.addr(), "/test/get-session-calls", &[]).json()["calls"]
            .as_u64()
            .expect("a count")
    }
}

fn cookie(session: &str) -> String {
    format!("{BETTER_AUTH_COOKIE}={session}")
}

/// The layer reading better-auth's cookie, in front of `/me`, verifying through `verifier`'s cache.
fn layer_for(cache: SessionCache<SessionServer<Member>>) -> SessionLayer<SessionServer<Member>> {
    SessionLayer::builder(cache)
        .cookie(CookieOptions::new().name(BETTER_AUTH_COOKIE))
        .build()
        .expect("layer")
}

fn me_app(layer: SessionLayer<SessionServer<Member>>) -> Router {
    let me = || async {
        match use_authenticated::<Member>() {
            Some(authenticated) => format!("{:?} sub={:?}", authenticated.session, authenticated.subject),
            None => "public".to_owned(),
        }
    };
    Router::new().route("/me", get(me)).layer(layer)
}

fn verifier(server: &BetterAuth) -> SessionServer<Member> {
    SessionServer::better_auth(&server.base, member)
        .build()
        .expect("verifier")
}

/// The verifier on `clock`, which the test moves instead of sleeping.
fn verifier_on(server: &BetterAuth, clock: &MovableClock) -> SessionServer<Member> {
    SessionServer::better_auth(&server.base, member)
        .clock(clock.source())
        .build()
        .expect("verifier")
}

fn me(addr: SocketAddr, session: &str) -> Reply {
    http_get(
        addr,
        "/me",
        &[("Cookie", &cookie(session)), ("Accept", "application/json")],
    )
}

#[test]
#[ignore = "needs Node.js (examples/better-auth/package-lock.json)"]
fn better_auth_sessions_are_read_typed_on_axum_and_tonic() {
    require_node();
    let server = BetterAuth::start(0, None);
    let session = server.sign_up("ada@example.com");
    let addr = serve(me_app(layer_for(SessionCache::new(verifier(&server)))));
    let read = me(addr, &session);
    assert_eq!(read.status, 200, "{}", read.body);
    assert!(
        read.body.starts_with(r#"Member { user_id: ""#)
            && read.body.contains(r#"email: "ada@example.com" } sub=Some("#),
        "{}",
        read.body
    );
    let forged = me(addr, "forged.c2lnbmF0dXJl");
    assert_eq!(forged.status, 401, "{}", forged.body);

    // tonic: the same cookie as gRPC metadata, the same layer, `use_session` in the method.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let users = SessionServer::better_auth(&server.base, |answer| {
            let id = answer.pointer("/user/id").and_then(serde_json::Value::as_str);
            Ok(AppSession::User {
                user_id: id.ok_or("no user id")?.to_owned(),
            })
        })
        .build()
        .expect("verifier");
        // Native gRPC clients send no `Origin`, and a browser cannot send `application/grpc` to
        // another site without a CORS preflight: this gRPC-only server turns the check off.
        let layer = SessionLayer::builder(SessionCache::new(users))
            .cookie(CookieOptions::new().name(BETTER_AUTH_COOKIE))
            .csrf_protection(false)
            .build()
            .expect("layer");
        let (grpc_addr, grpc_server) = grpc::serve_identity(layer).await;
        let user_id = grpc::call_with(grpc_addr, grpc::METHOD, &[("cookie", &cookie(&session))])
            .await
            .expect("the better-auth session");
        assert!(read.body.contains(&format!(r#"user_id: "{user_id}""#)), "{user_id}");
        let status = grpc::call_with(grpc_addr, grpc::METHOD, &[("cookie", &cookie("forged.c2ln"))])
            .await
            .expect_err("a forged cookie");
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
        grpc_server.abort();
    });
}

/// Signing out in better-auth: the cached answer lives until the app invalidates it (at once)
/// or the cache TTL passes (1 s here; 60 s by default, the bound the README states).
#[test]
#[ignore = "needs Node.js (examples/better-auth/package-lock.json)"]
fn a_signed_out_session_is_refused_after_invalidation_or_the_cache_ttl() {
    require_node();
    let server = BetterAuth::start(0, None);
    let clock = MovableClock::from_now();
    let cache = SessionCache::builder(verifier_on(&server, &clock))
        .ttl(Duration::from_secs(1))
        .clock(clock.source())
        .build();
    let layer = layer_for(cache);
    let cache = layer.cache().clone();
    let addr = serve(me_app(layer));

    let first = server.sign_up("ada@example.com");
    assert_eq!(me(addr, &first).status, 200);
    server.sign_out(&first);
    cache.invalidate_token(&first);
    assert_eq!(
        me(addr, &first).status,
        401,
        "refused as soon as the app invalidates it"
    );

    let second = server.sign_in("ada@example.com");
    assert_eq!(me(addr, &second).status, 200);
    server.sign_out(&second);
    clock.advance(Duration::from_millis(1200));
    assert_eq!(me(addr, &second).status, 401, "refused once the cache TTL has passed");
}

/// The session's own `expiresAt` bounds the cache entry: a session better-auth lets expire is
/// refused at its expiry, however long the cache TTL.
#[test]
#[ignore = "needs Node.js (examples/better-auth/package-lock.json)"]
fn an_expired_session_is_refused_at_its_expiry() {
    require_node();
    let server = BetterAuth::start(0, Some(2));
    let clock = MovableClock::from_now();
    let cache = SessionCache::builder(verifier_on(&server, &clock))
        .ttl(Duration::from_secs(600))
        .clock(clock.source())
        .build();
    let addr = serve(me_app(layer_for(cache)));
    let session = server.sign_up("ada@example.com");
    assert_eq!(me(addr, &session).status, 200);
    clock.advance(Duration::from_millis(3200));
    let expired = me(addr, &session);
    assert_eq!(expired.status, 401, "{}", expired.body);
}

/// better-auth stopped: 503 with `Retry-After`, never cached: once it is back, the same cookie is
/// asked about again (and, the in-memory sessions being gone, refused).
#[test]
#[ignore = "needs Node.js (examples/better-auth/package-lock.json)"]
fn better_auth_down_is_503_and_nothing_is_cached() {
    require_node();
    let server = BetterAuth::start(0, None);
    let port = server.addr().port();
    let addr = serve(me_app(layer_for(SessionCache::new(verifier(&server)))));
    let session = server.sign_up("ada@example.com");
    drop(server);
    for _ in 0..2 {
        let down = me(addr, &session);
        assert_eq!(down.status, 503, "{}", down.body);
        assert_eq!(down.header("retry-after"), Some("1"));
    }
    let back = BetterAuth::start(port, None);
    let asked = me(addr, &session);
    assert_eq!(asked.status, 401, "asked again, not a cached 503: {}", asked.body);
    assert_eq!(back.get_session_calls(), 1);
}

/// A thousand concurrent requests with one fresh cookie: one call reaches better-auth (counted
/// on the Node side); the others wait for its answer.
#[test]
#[ignore = "needs Node.js (examples/better-auth/package-lock.json)"]
fn a_thousand_requests_with_one_fresh_cookie_make_one_call() {
    use tower_service::Service;
    require_node();
    let server = BetterAuth::start(0, None);
    let session = server.sign_up("ada@example.com");
    let before = server.get_session_calls();
    let app = me_app(layer_for(SessionCache::new(verifier(&server))));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let signed_in = runtime.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let mut app = app.clone();
                let request = http::Request::get("/me")
                    .header("cookie", cookie(&session))
                    .body(axum::body::Body::empty())
                    .expect("request");
                tokio::spawn(async move {
                    let response = app.call(request).await.expect("infallible");
                    let body = axum::body::to_bytes(response.into_body(), 4096).await.expect("body");
                    body.starts_with(b"Member")
                })
            })
            .collect();
        let mut signed_in = 0;
        for task in tasks {
            signed_in += usize::from(task.await.expect("task"));
        }
        signed_in
    });
    assert_eq!(signed_in, 1000);
    assert_eq!(server.get_session_calls() - before, 1, "one call to better-auth");
}

/// better-auth's bearer plugin: an API client's `Authorization: Bearer` forwarded as such.
#[test]
#[ignore = "needs Node.js (examples/better-auth/package-lock.json)"]
fn a_bearer_token_is_forwarded_as_a_bearer_token() {
    require_node();
    let server = BetterAuth::start(0, None);
    let token = server.sign_up_for_bearer("ada@example.com");
    let verifier = SessionServer::builder(
        &format!("{}/api/auth/get-session", server.base),
        Forward::Bearer,
        member,
    )
    .build()
    .expect("verifier");
    let layer = SessionLayer::builder(SessionCache::new(verifier))
        .token_sources(&[TokenSource::Bearer])
        .build()
        .expect("layer");
    let me = || async {
        use_authenticated::<Member>().map_or("public".to_owned(), |authenticated| {
            format!("{:?}", authenticated.session)
        })
    };
    let addr = serve(Router::new().route("/me", get(me)).layer(layer));
    let read = http_get(addr, "/me", &[("Authorization", &format!("Bearer {token}"))]);
    assert_eq!(read.status, 200, "{}", read.body);
    assert!(read.body.contains(r#"email: "ada@example.com""#), "{}", read.body);
    let forged = http_get(addr, "/me", &[("Authorization", "Bearer forged.c2lnbmF0dXJl")]);
    assert_eq!(forged.status, 401, "{}", forged.body);
}

/// A session server that accepts the connection and never answers: 503 after the timeout.
#[test]
fn a_silent_session_server_is_unavailable_after_the_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(4).flatten() {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let verifier = SessionServer::better_auth(&base, member)
        .timeout(Duration::from_millis(300))
        .build()
        .expect("verifier");
    let addr = serve(me_app(layer_for(SessionCache::new(verifier))));
    let reply = me(addr, "some.session");
    assert_eq!(reply.status, 503, "{}", reply.body);
}

/// Over HTTPS better-auth names its cookie with the `__Secure-` prefix; the verifier forwards
/// that name, which the layer must read too.
#[test]
fn the_cookie_name_follows_the_scheme() {
    let plain = SessionServer::<Member>::better_auth("http://127.0.0.1:3100", member);
    assert_eq!(plain.forwarded_cookie(), Some(BETTER_AUTH_COOKIE));
    let secure = SessionServer::<Member>::better_auth("https://app.example.com/", member);
    assert_eq!(secure.forwarded_cookie(), Some("__Secure-better-auth.session_token"));
    assert!(
        SessionServer::<Member>::better_auth("not a url", member)
            .build()
            .is_err(),
        "the endpoint is checked"
    );
}
