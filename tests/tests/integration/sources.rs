//! Token sources named the way clients send them (`SessionLayerBuilder::credential_sources`): a
//! header by name, another cookie, another `Authorization` scheme, a query parameter on one route
//! only, and a closure (Connectum's `extractToken`), in order; each refuses its credential given
//! twice, and the same-origin rule applies to what a browser sends on its own.

use crate::common;

use std::net::SocketAddr;

use auth_runtime::{CredentialSource, SessionCache, SessionLayer, Sessions, use_session};
use axum::Router;
use axum::routing::{get, post};
use common::client::{post_form, send};
use common::*;

fn who() -> String {
    match use_session::<AppSession>() {
        Some(AppSession::User { user_id }) => user_id,
        Some(_) => "another kind".to_owned(),
        None => "public".to_owned(),
    }
}

fn server(sessions: &Sessions<AppSession>) -> SocketAddr {
    let layer = SessionLayer::builder(SessionCache::new(sessions.clone()))
        .credential_sources([
            CredentialSource::header("x-session-token"),
            CredentialSource::Scheme("Session".into()),
            CredentialSource::NamedCookie("app-session".into()),
            CredentialSource::Query {
                path: "/events".into(),
                name: "token".into(),
            },
            CredentialSource::custom(|headers, _uri| {
                headers
                    .get("x-legacy")
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.strip_prefix("token="))
                    .map(str::to_owned)
            }),
        ])
        .build()
        .expect("valid layer");
    let routes = Router::new()
        .route("/who", get(|| async { who() }))
        .route("/events", get(|| async { who() }))
        .route("/update", post(|| async { who() }));
    common::client::serve(routes.layer(layer))
}

#[test]
fn each_named_source_reads_its_token_and_refuses_two() {
    let sessions = sessions_for_test();
    let addr = server(&sessions);
    let ada = sessions.create(&user("ada")).expect("issues");
    let bob = sessions.create(&user("bob")).expect("issues");
    let get = |path: &str, headers: &[(&str, &str)]| send(addr, "GET", path, headers);

    assert_eq!(get("/who", &[("x-session-token", &ada)]).body, "ada");
    assert_eq!(get("/who", &[("authorization", &format!("Session {ada}"))]).body, "ada");
    assert_eq!(get("/who", &[("cookie", &format!("app-session={ada}"))]).body, "ada");
    assert_eq!(get(&format!("/events?token={ada}"), &[]).body, "ada");
    assert_eq!(get("/who", &[("x-legacy", &format!("token={ada}"))]).body, "ada");

    // Not listed: Bearer and the session cookie are not read.
    assert_eq!(
        get("/who", &[("authorization", &format!("Bearer {ada}"))]).body,
        "public"
    );
    assert_eq!(get("/who", &[("cookie", &format!("auth-token={ada}"))]).body, "public");
    // The query parameter is read on its route only.
    assert_eq!(get(&format!("/who?token={ada}"), &[]).body, "public");
    // In order: the header comes before the cookie.
    let both = get(
        "/who",
        &[("x-session-token", &ada), ("cookie", &format!("app-session={bob}"))],
    );
    assert_eq!(both.body, "ada");

    // Twice is refused, never guessed between.
    let two_headers = send(
        addr,
        "GET",
        "/who",
        &[("x-session-token", &ada), ("x-session-token", &bob)],
    );
    assert_eq!(two_headers.status, 401, "{}", two_headers.body);
    let two_cookies = get("/who", &[("cookie", &format!("app-session={ada}; app-session={bob}"))]);
    assert_eq!(two_cookies.status, 401);
    let two_params = get(&format!("/events?token={ada}&token={bob}"), &[]);
    assert_eq!(two_params.status, 401);
    let malformed = get("/who", &[("x-session-token", "not a token")]);
    assert_eq!(malformed.status, 401);
}

/// A browser sends a cookie on its own, and the layer cannot tell where a closure read its
/// token: their unsafe requests must come from this site. A header it names is never ambient.
#[test]
fn ambient_sources_keep_the_same_origin_rule() {
    let sessions = sessions_for_test();
    let addr = server(&sessions);
    let ada = sessions.create(&user("ada")).expect("issues");
    let evil = ("origin", "https://evil.example");
    let cookie = format!("app-session={ada}");
    let refused = post_form(addr, "/update", &[evil, ("cookie", &cookie)], &[]);
    assert_eq!(
        refused.status, 403,
        "a named cookie from another site: {}",
        refused.body
    );
    let legacy = format!("token={ada}");
    let refused = post_form(addr, "/update", &[evil, ("x-legacy", &legacy)], &[]);
    assert_eq!(refused.status, 403, "a closure's token from another site");
    let header = post_form(addr, "/update", &[evil, ("x-session-token", &ada)], &[]);
    assert_eq!(
        header.status, 200,
        "a header a page cannot set across sites without CORS"
    );
    assert_eq!(header.body, "ada");
}

fn sessions_for_test() -> Sessions<AppSession> {
    builder(hs256_key()).build().expect("valid")
}
