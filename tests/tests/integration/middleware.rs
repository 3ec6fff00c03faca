//! The session layer in front of a real axum server on 127.0.0.1, driven over real HTTP: public,
//! valid, expired, tampered, the extractors (narrowing included), `use_session`, skip patterns,
//! the landing route, CSRF on and off, the lenient policy, the gRPC status mapping, and a
//! backend that cannot answer.

use crate::common;

use std::net::SocketAddr;

use auth_runtime::axum::{Require, Session};
use auth_runtime::{
    Authenticated, InvalidTokenPolicy, NoSession, SessionCache, SessionLayer, SessionTypes, SessionVerifier, Sessions,
    TokenSource, VerifierError, use_session,
};
use axum::Router;
use axum::routing::{get, post};
use common::client::{Reply, get as http_get, send, serve};
use common::*;
use http::HeaderMap;

fn sessions() -> Sessions<AppSession> {
    builder(hs256_key()).build().expect("valid")
}

/// Deep in the call stack, with nothing passed in: SST's `useSession()`.
async fn who_is_calling() -> String {
    match use_session::<AppSession>() {
        Some(AppSession::User { user_id }) => format!("user {user_id}"),
        Some(other) => format!("{} session", other.session_type()),
        None => "public".to_owned(),
    }
}

fn routes() -> Router {
    Router::new()
        .route("/me", get(|Session(session): Session<AppSession>| async move { serde_json::to_string(&session).unwrap_or_default() }))
        .route(
            "/maybe",
            get(|session: Option<Session<AppSession>>| async move {
                session.map_or("none".to_owned(), |Session(session)| session.session_type().to_owned())
            }),
        )
        .route("/hook", get(|| async { who_is_calling().await }))
        .route("/api", get(|Require(client): Require<ApiClient>| async move { client.client_id }))
        .route("/update", post(|Session(_): Session<AppSession>| async { "updated" }))
        .route("/health", get(|| async { who_is_calling().await }))
        .route("/landing", get(|| async { who_is_calling().await }))
}

fn strict_server() -> SocketAddr {
    let layer = SessionLayer::builder(SessionCache::new(sessions()))
        .skip("/health")
        .landing_route("/landing")
        .allow_origin("https://app.example.com")
        .build()
        .expect("valid layer");
    serve(routes().layer(layer))
}

fn lenient_server() -> SocketAddr {
    let layer = SessionLayer::builder(SessionCache::new(sessions()))
        .invalid_token(InvalidTokenPolicy::TreatAsPublic)
        .csrf_protection(false)
        .build()
        .expect("valid layer");
    serve(routes().layer(layer))
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn cookie(token: &str) -> String {
    format!("theme=dark; auth-token={token}")
}

fn assert_invalid_token(reply: &Reply, reason: &str) {
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(reply.json()["error"], "invalid_token");
    assert!(
        reply.json()["reason"]
            .as_str()
            .is_some_and(|text| text.contains(reason)),
        "{}",
        reply.body
    );
    assert_eq!(reply.header("www-authenticate"), Some("Bearer error=\"invalid_token\""));
}

#[test]
fn public_requests_go_on_without_a_session() {
    let addr = strict_server();
    assert_eq!(http_get(addr, "/maybe", &[]).body, "none");
    assert_eq!(http_get(addr, "/hook", &[]).body, "public");
    let me = http_get(addr, "/me", &[]);
    assert_eq!(me.status, 401, "the extractor requires a session");
    assert_eq!(me.json()["error"], "unauthenticated");
    assert_eq!(me.header("www-authenticate"), Some("Bearer"));
    assert_eq!(me.header("cache-control"), Some("no-store"));
}

/// A route outside the layer is a programming error, not an anonymous request: every extractor
/// says so with a 500, even when the request carries a valid token the layer would have read.
#[test]
fn extractors_without_the_layer_answer_500() {
    let addr = serve(routes());
    let token = sessions().create(&user("ada")).expect("signs");
    for path in ["/me", "/maybe", "/api"] {
        let reply = http_get(addr, path, &[("Authorization", &bearer(&token))]);
        assert_eq!(reply.status, 500, "{path}");
        assert_eq!(reply.json()["error"], "session_layer_missing", "{path}");
        assert!(
            reply.json()["reason"]
                .as_str()
                .is_some_and(|reason| reason.contains("SessionLayer")),
            "{path}: {}",
            reply.body
        );
    }
    // A skipped route is inside the layer: public, not a missing layer.
    let layer = SessionLayer::builder(SessionCache::new(sessions()))
        .skip("/me")
        .build()
        .expect("valid layer");
    let addr = serve(routes().layer(layer));
    assert_eq!(http_get(addr, "/me", &[]).status, 401);
}

/// The layer reads the cookie its `Sessions` issues in, without being told again (through a
/// `Revocable` too); `SessionLayerBuilder::cookie` still overrides it.
#[test]
fn the_layer_reads_the_cookie_its_sessions_issue() {
    let sessions = builder(hs256_key())
        .cookie(auth_runtime::CookieOptions::default().name("app-session"))
        .build()
        .expect("valid");
    let token = sessions.create(&user("ada")).expect("signs");
    let store = auth_runtime::store::MemoryStore::new();
    let revocable =
        auth_runtime::revocation::Revocable::new(sessions.clone(), auth_runtime::revocation::Revocations::new(store));
    for addr in [
        serve(
            routes().layer(
                SessionLayer::builder(SessionCache::new(sessions.clone()))
                    .build()
                    .expect("layer"),
            ),
        ),
        serve(
            routes().layer(
                SessionLayer::builder(SessionCache::new(revocable))
                    .build()
                    .expect("layer"),
            ),
        ),
    ] {
        let own = format!("app-session={token}");
        assert_eq!(http_get(addr, "/hook", &[("Cookie", &own)]).body, "user ada");
        let other = format!("auth-token={token}");
        assert_eq!(http_get(addr, "/hook", &[("Cookie", &other)]).body, "public");
    }
    let told = SessionLayer::builder(SessionCache::new(sessions))
        .cookie(auth_runtime::CookieOptions::default())
        .build()
        .expect("layer");
    let addr = serve(routes().layer(told));
    assert_eq!(
        http_get(addr, "/hook", &[("Cookie", &format!("auth-token={token}"))]).body,
        "user ada"
    );
}

/// `require_session` and `session_from_extensions` tell a public request from code the layer
/// does not wrap (a tonic service that forgot the layer must not answer Unauthenticated as if
/// the caller were anonymous); `use_session` answers `None` for both, as SST's does.
#[test]
fn session_functions_tell_a_missing_layer_from_a_public_request() {
    let answer = |request: http::Request<()>| {
        let required = match auth_runtime::require_session::<AppSession>() {
            Ok(session) => session.session_type().to_owned(),
            Err(NoSession::Anonymous) => "anonymous".to_owned(),
            Err(NoSession::LayerMissing) => "layer missing".to_owned(),
            Err(other) => format!("{other}"),
        };
        let extension = match auth_runtime::middleware::session_from_extensions::<AppSession>(request.extensions()) {
            Ok(Some(authenticated)) => authenticated.session.session_type().to_owned(),
            Ok(None) => "anonymous".to_owned(),
            Err(error) => error.to_string(),
        };
        format!(
            "{required} / {extension} / {:?}",
            use_session::<AppSession>().map(|s| s.session_type().to_owned())
        )
    };
    let routes = Router::new().route(
        "/who",
        get(move |request: http::Request<axum::body::Body>| {
            let (parts, _) = request.into_parts();
            let reply = answer(http::Request::from_parts(parts, ()));
            async move { reply }
        }),
    );
    let without_layer = serve(routes.clone());
    let reply = http_get(without_layer, "/who", &[]);
    assert_eq!(
        reply.body,
        format!("layer missing / {} / None", NoSession::LayerMissing)
    );
    let layer = SessionLayer::builder(SessionCache::new(sessions()))
        .build()
        .expect("valid layer");
    let with_layer = serve(routes.layer(layer));
    assert_eq!(http_get(with_layer, "/who", &[]).body, "anonymous / anonymous / None");
    let token = sessions().create(&user("ada")).expect("signs");
    assert_eq!(
        http_get(with_layer, "/who", &[("Authorization", &bearer(&token))]).body,
        "user / user / Some(\"user\")"
    );
    // Outside any request at all.
    assert_eq!(
        auth_runtime::require_session::<AppSession>(),
        Err(NoSession::LayerMissing)
    );
}

/// A refused session cookie is deleted on that response under every policy; what the request
/// gets besides depends on the policy and on whether a browser is navigating to a page.
#[test]
fn a_refused_cookie_is_cleared_and_pages_go_on_signed_out() {
    let cleared = "auth-token=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0";
    let forged = sessions_at(NOW).create(&user("ada")).expect("signs");
    let stale = cookie(&format!("{forged}x"));
    let page = [("Cookie", stale.as_str()), ("Accept", "text/html,*/*;q=0.8")];
    let api = [("Cookie", stale.as_str())];
    let server = |policy| {
        let layer = SessionLayer::builder(SessionCache::new(sessions()))
            .invalid_token(policy)
            .build()
            .expect("valid layer");
        serve(routes().layer(layer))
    };

    let default = strict_server();
    let reply = http_get(default, "/maybe", &page);
    assert_eq!((reply.status, reply.body.as_str()), (200, "none"), "a page, signed out");
    assert_eq!(reply.header("set-cookie"), Some(cleared));
    let reply = http_get(default, "/maybe", &api);
    assert_eq!(reply.status, 401);
    assert_eq!(reply.header("set-cookie"), Some(cleared));

    let strict = server(InvalidTokenPolicy::Reject);
    let reply = http_get(strict, "/maybe", &page);
    assert_eq!(reply.status, 401, "Reject refuses pages too");
    assert_eq!(reply.header("set-cookie"), Some(cleared));

    let lenient = server(InvalidTokenPolicy::TreatAsPublic);
    let reply = http_get(lenient, "/maybe", &api);
    assert_eq!((reply.status, reply.body.as_str()), (200, "none"));
    assert_eq!(reply.header("set-cookie"), Some(cleared));

    // A Bearer token is the client's own to manage: refused, and no cookie is touched.
    let reply = http_get(
        default,
        "/maybe",
        &[("Authorization", &bearer(&format!("{forged}x"))), page[1]],
    );
    assert_eq!(reply.status, 401);
    assert_eq!(reply.header("set-cookie"), None);
}

#[test]
fn valid_tokens_reach_extractors_and_the_hook() {
    let addr = strict_server();
    let token = sessions().create(&user("ada")).expect("issues");
    for header in [("Authorization", bearer(&token)), ("Cookie", cookie(&token))] {
        let headers = [(header.0, header.1.as_str())];
        let me = http_get(addr, "/me", &headers);
        assert_eq!(me.status, 200);
        assert_eq!(me.body, r#"{"type":"user","properties":{"userID":"ada"}}"#);
        assert_eq!(http_get(addr, "/maybe", &headers).body, "user");
        assert_eq!(http_get(addr, "/hook", &headers).body, "user ada");
    }
}

#[test]
fn expired_and_tampered_tokens_are_refused() {
    let addr = strict_server();
    let expired = sessions_at(NOW).create(&user("old")).expect("issues");
    assert_invalid_token(
        &http_get(addr, "/maybe", &[("Authorization", &bearer(&expired))]),
        "expired",
    );
    assert_invalid_token(&http_get(addr, "/hook", &[("Cookie", &cookie(&expired))]), "expired");

    let token = sessions().create(&user("ada")).expect("issues");
    let (message, _) = token.rsplit_once('.').expect("three parts");
    let forged = forge(GOOD_HEADER, &payload_with(""));
    let tampered = format!("{message}.{}", forged.rsplit_once('.').expect("three parts").1);
    assert_invalid_token(
        &http_get(addr, "/maybe", &[("Authorization", &bearer(&tampered))]),
        "bad signature",
    );
}

#[test]
fn narrowing_extractor_answers_401_then_403_then_the_value() {
    let addr = strict_server();
    assert_eq!(http_get(addr, "/api", &[]).status, 401);
    let person = sessions().create(&user("ada")).expect("issues");
    let wrong_type = http_get(addr, "/api", &[("Authorization", &bearer(&person))]);
    assert_eq!(wrong_type.status, 403, "{}", wrong_type.body);
    assert_eq!(wrong_type.json()["error"], "forbidden");
    let client = AppSession::Api(ApiClient {
        client_id: "ci".into(),
        scopes: vec![],
    });
    let api = sessions().create(&client).expect("issues");
    let reply = http_get(addr, "/api", &[("Authorization", &bearer(&api))]);
    assert_eq!((reply.status, reply.body.as_str()), (200, "ci"));
}

#[test]
fn skipped_paths_are_not_authenticated() {
    let addr = strict_server();
    let reply = http_get(addr, "/health", &[("Authorization", "Bearer not.a.token")]);
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "public"),
        "no 401 and no session on a skipped path"
    );
    let valid = sessions().create(&user("ada")).expect("issues");
    assert_eq!(
        http_get(addr, "/health", &[("Authorization", &bearer(&valid))]).body,
        "public"
    );
}

/// A token the browser did not ask for (no landing nonce) is not let in on a GET: the route
/// answers a page that asks, and the page's same-origin POST moves the token into the cookie.
#[test]
fn the_landing_route_moves_the_token_into_the_cookie_once_confirmed() {
    let addr = strict_server();
    let token = sessions().create(&user("ada")).expect("issues");
    let landing_url = format!("/landing?next=%2Fhome&token={token}&x=1");
    let asked = http_get(addr, &landing_url, &[("Accept", "text/html")]);
    assert_eq!(asked.status, 200);
    assert!(asked.header("set-cookie").is_none(), "a GET plants nothing");
    assert_eq!(asked.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(asked.header("referrer-policy"), Some("same-origin"));
    assert_eq!(asked.header("cache-control"), Some("no-store"));
    assert_eq!(asked.header("content-security-policy"), Some("frame-ancestors 'none'"));
    assert_eq!(asked.header("x-frame-options"), Some("DENY"));
    assert!(
        asked.body.contains(&format!(
            "<form method=\"post\" action=\"{}\">",
            landing_url.replace('&', "&amp;")
        )),
        "{}",
        asked.body
    );
    assert!(
        asked.body.contains("Continue signing in?"),
        "no subject, no name: {}",
        asked.body
    );
    assert!(!asked.body.contains("<script"), "the page never submits itself");

    let cross_site = send(addr, "POST", &landing_url, &[("Origin", "https://evil.example")]);
    assert_eq!(cross_site.status, 403, "{}", cross_site.body);
    assert!(cross_site.header("set-cookie").is_none());
    let no_origin = send(addr, "POST", &landing_url, &[]);
    assert_eq!(no_origin.status, 403, "a POST that cannot show it is from this site");

    let confirmed = send(addr, "POST", &landing_url, &[("Sec-Fetch-Site", "same-origin")]);
    assert_eq!(confirmed.status, 303);
    assert_eq!(confirmed.header("location"), Some("/landing?next=%2Fhome&x=1"));
    assert_eq!(confirmed.header("referrer-policy"), Some("no-referrer"));
    let set_cookie = confirmed.header("set-cookie").expect("the token becomes the cookie");
    assert!(set_cookie.starts_with(&format!(
        "auth-token={token}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age="
    )));

    let bad = http_get(addr, "/landing?token=not.a.token", &[]);
    assert_eq!(bad.status, 401);
    assert!(bad.header("set-cookie").is_none());

    // Anywhere else, `?token=` is not a credential.
    assert_eq!(http_get(addr, &format!("/hook?token={token}"), &[]).body, "public");
    assert_eq!(
        http_get(addr, "/landing", &[]).body,
        "public",
        "no token: the route itself runs"
    );
}

#[test]
fn csrf_protection_for_cookie_authenticated_unsafe_requests() {
    let addr = strict_server();
    let token = sessions().create(&user("ada")).expect("issues");
    let session_cookie = cookie(&token);
    let with = |extra: &[(&'static str, String)]| {
        let mut headers = vec![("Cookie", session_cookie.clone())];
        headers.extend(extra.iter().cloned());
        let borrowed: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (*name, value.as_str())).collect();
        send(addr, "POST", "/update", &borrowed)
    };
    let refused = with(&[]);
    assert_eq!(refused.status, 403, "no Origin: refused");
    assert_eq!(refused.json()["error"], "forbidden");
    assert_eq!(with(&[("Origin", "https://evil.example".to_owned())]).status, 403);
    assert_eq!(with(&[("Origin", "null".to_owned())]).status, 403);
    assert_eq!(with(&[("Sec-Fetch-Site", "cross-site".to_owned())]).status, 403);
    assert_eq!(
        with(&[("Origin", format!("http://{addr}"))]).status,
        200,
        "same origin as Host"
    );
    assert_eq!(
        with(&[("Origin", "https://app.example.com".to_owned())]).status,
        200,
        "an allowed origin"
    );
    assert_eq!(with(&[("Sec-Fetch-Site", "same-origin".to_owned())]).status, 200);
    // The scheme is part of the origin: with a `Secure` cookie the site is served over HTTPS, so
    // a page on plain HTTP at the same public name is another origin.
    let public = |origin: &str| with(&[("Host", "shop.example.com".to_owned()), ("Origin", origin.to_owned())]);
    assert_eq!(
        public("http://shop.example.com").status,
        403,
        "http:// on an https site"
    );
    assert_eq!(public("https://shop.example.com").status, 200, "the site's own origin");
    assert_eq!(public("https://shop.example.com:8443").status, 403, "another port");
    let bearer_header = bearer(&token);
    let by_bearer = send(
        addr,
        "POST",
        "/update",
        &[("Authorization", &bearer_header), ("Origin", "https://evil.example")],
    );
    assert_eq!(by_bearer.status, 200, "Bearer requests are exempt");
    assert_eq!(
        http_get(addr, "/me", &[("Cookie", &session_cookie)]).status,
        200,
        "safe methods are exempt"
    );

    let off = lenient_server();
    assert_eq!(
        send(off, "POST", "/update", &[("Cookie", &session_cookie)]).status,
        200,
        "CSRF protection off"
    );
}

#[test]
fn the_lenient_policy_treats_invalid_tokens_as_public() {
    let addr = lenient_server();
    let expired = sessions_at(NOW).create(&user("old")).expect("issues");
    let reply = http_get(addr, "/maybe", &[("Authorization", &bearer(&expired))]);
    assert_eq!((reply.status, reply.body.as_str()), (200, "none"));
    assert_eq!(
        http_get(addr, "/hook", &[("Cookie", "auth-token=garbage")]).body,
        "public"
    );
}

#[test]
fn grpc_requests_get_grpc_statuses() {
    let addr = strict_server();
    let reply = send(
        addr,
        "POST",
        "/pkg.Service/Method",
        &[("Content-Type", "application/grpc"), ("Authorization", "Bearer x.y.z")],
    );
    assert_eq!(reply.status, 200, "gRPC carries errors in grpc-status");
    assert_eq!(reply.header("grpc-status"), Some("16"));
    assert!(
        reply
            .header("grpc-message")
            .is_some_and(|message| message.contains("malformed"))
    );
    let token = sessions().create(&user("ada")).expect("issues");
    let csrf = send(
        addr,
        "POST",
        "/pkg.Service/Method",
        &[("Content-Type", "application/grpc+proto"), ("Cookie", &cookie(&token))],
    );
    assert_eq!(
        csrf.header("grpc-status"),
        Some("7"),
        "PermissionDenied for a cross-site cookie request"
    );
}

#[test]
fn token_sources_are_configurable() {
    let only = |sources: &[TokenSource]| {
        let layer = SessionLayer::builder(SessionCache::new(sessions()))
            .token_sources(sources)
            .build()
            .expect("valid layer");
        serve(routes().layer(layer))
    };
    let token = sessions().create(&user("ada")).expect("issues");
    let cookie_only = only(&[TokenSource::Cookie]);
    assert_eq!(
        http_get(cookie_only, "/hook", &[("Authorization", &bearer(&token))]).body,
        "public"
    );
    assert_eq!(
        http_get(cookie_only, "/hook", &[("Cookie", &cookie(&token))]).body,
        "user ada"
    );
    let bearer_only = only(&[TokenSource::Bearer]);
    assert_eq!(
        http_get(bearer_only, "/hook", &[("Cookie", &cookie(&token))]).body,
        "public"
    );
    assert_eq!(
        http_get(bearer_only, "/hook", &[("Authorization", &bearer(&token))]).body,
        "user ada"
    );
    let cookie_first = only(&[TokenSource::Cookie, TokenSource::Bearer]);
    let other = sessions().create(&user("bob")).expect("issues");
    let both = [("Cookie", cookie(&token)), ("Authorization", bearer(&other))];
    let both: Vec<(&str, &str)> = both.iter().map(|(name, value)| (*name, value.as_str())).collect();
    assert_eq!(
        http_get(cookie_first, "/hook", &both).body,
        "user ada",
        "the cookie is tried first"
    );
}

/// A verifier whose backend is down.
struct Down;

impl SessionVerifier for Down {
    type Session = AppSession;
    type Output = Authenticated<AppSession>;

    async fn verify_session(&self, _token: &str, _headers: &HeaderMap) -> Result<Self::Output, VerifierError> {
        Err(VerifierError::unavailable("connection to 10.0.0.5:6379 refused"))
    }

    fn map_session(&self, authenticated: Self::Output) -> Result<Authenticated<AppSession>, VerifierError> {
        Ok(authenticated)
    }
}

#[test]
fn a_backend_that_cannot_answer_is_503_and_grants_nothing() {
    let strict = serve(routes().layer(SessionLayer::builder(SessionCache::new(Down)).build().expect("layer")));
    let token = sessions().create(&user("ada")).expect("issues");
    let reply = http_get(strict, "/maybe", &[("Authorization", &bearer(&token))]);
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.json()["error"], "temporarily_unavailable");
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(
        reply.header("www-authenticate"),
        None,
        "the token was not judged invalid"
    );
    assert!(
        !reply.body.contains("10.0.0.5"),
        "the cause stays in the logs: {}",
        reply.body
    );
    let grpc = send(
        strict,
        "POST",
        "/pkg.Service/Method",
        &[("Content-Type", "application/grpc"), ("Authorization", &bearer(&token))],
    );
    assert_eq!(grpc.header("grpc-status"), Some("14"), "Unavailable");

    let lenient = serve(
        routes().layer(
            SessionLayer::builder(SessionCache::new(Down))
                .invalid_token(InvalidTokenPolicy::TreatAsPublic)
                .build()
                .expect("layer"),
        ),
    );
    let reply = http_get(lenient, "/maybe", &[("Authorization", &bearer(&token))]);
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "none"),
        "public, never signed in"
    );
}
