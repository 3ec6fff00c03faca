//! No token, code or sign-in link in an error message, a refusal body or a `Debug` form: they are
//! credentials, and messages end up in logs and on screens.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_runtime::providers::{AuthHandler, CodeProvider, FlowError, FlowResponse, LinkProvider, UserClaims};
use auth_runtime::{SessionCache, SessionLayer};
use axum::Router;
use axum::routing::get;
use common::client::{get as http_get, post_form, serve};
use common::*;

use crate::common;

/// Every form a message about `secret` takes must leave it out.
fn assert_not_quoted(secret: &str, texts: &[String]) {
    for text in texts {
        assert!(!text.contains(secret), "`{secret}` appears in: {text}");
    }
}

#[test]
fn refusals_of_a_token_never_quote_it() {
    let sessions = sessions_at(NOW);
    let token = sessions.create(&user("ada")).expect("signs");
    let parts: Vec<&str> = token.split('.').collect();
    let (header, payload, signature) = (parts[0], parts[1], parts[2]);
    let mut broken_signature = signature.to_owned();
    broken_signature.replace_range(..2, if signature.starts_with("AA") { "BB" } else { "AA" });
    let damaged = [
        format!("{header}.{payload}.{broken_signature}"),
        format!("{header}.{payload}"),
        format!("{header}.{payload}.{signature}.{signature}"),
        format!("{header}.{payload}x.{signature}"),
    ];
    let later = sessions_at(NOW + 365 * 24 * 60 * 60);
    let elsewhere = builder(hs256_key())
        .issuer("https://elsewhere.example")
        .clock(|| at(NOW))
        .build()
        .expect("valid");
    let mut refusals = Vec::new();
    for token in &damaged {
        refusals.push((token.clone(), sessions.verify(token).expect_err("damaged")));
    }
    refusals.push((token.clone(), later.verify(&token).expect_err("expired")));
    refusals.push((token.clone(), elsewhere.verify(&token).expect_err("another issuer")));
    for (token, error) in &refusals {
        let texts = [error.to_string(), format!("{error:?}")];
        assert_not_quoted(token, &texts);
        assert_not_quoted(signature, &texts);
        assert_not_quoted(payload, &texts);
    }
    // The same through request reading, and through the layer's 401 body.
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::COOKIE,
        format!("auth-token={}", damaged[0]).parse().expect("header"),
    );
    let read = sessions.read(&headers).into_result().expect_err("refused");
    assert_not_quoted(&broken_signature, &[read.to_string(), format!("{read:?}")]);
    let layer = SessionLayer::builder(SessionCache::new(sessions.clone()))
        .build()
        .expect("layer");
    let addr = serve(Router::new().route("/", get(|| async { "ok" })).layer(layer));
    for token in &damaged {
        let reply = http_get(addr, "/", &[("Authorization", &format!("Bearer {token}"))]);
        assert_eq!(reply.status, 401);
        assert_not_quoted(token, std::slice::from_ref(&reply.body));
        assert_not_quoted(&broken_signature, std::slice::from_ref(&reply.body));
    }
}

#[test]
fn sign_in_flows_never_show_a_link_or_a_code() {
    let sessions = sessions_at(NOW);
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let links = {
        let seen = Arc::clone(&seen);
        LinkProvider::new(move |link| {
            seen.lock().unwrap().push((link.url.to_string(), format!("{link:?}")));
            async { Ok::<FlowResponse, FlowError>(FlowResponse::default()) }
        })
    };
    let codes = {
        let seen = Arc::clone(&seen);
        CodeProvider::new(
            move |request| {
                seen.lock()
                    .unwrap()
                    .push((request.code.clone(), format!("{request:?}")));
                async { Ok::<FlowResponse, FlowError>(FlowResponse::default()) }
            },
            |_| async { Ok::<FlowResponse, FlowError>(FlowResponse::default()) },
        )
        .ttl(Duration::from_secs(600))
    };
    let on_success = |_: UserClaims| async { Ok::<FlowResponse, FlowError>(FlowResponse::default()) };
    let auth = AuthHandler::builder(sessions.clone(), "http://localhost:3000")
        .provider("link", links, on_success)
        .provider("code", codes, on_success)
        .build()
        .expect("handler");
    let addr = serve(auth.router());

    assert_eq!(
        post_form(addr, "/auth/link/authorize", &[], &[("email", "ada@example.com")]).status,
        200
    );
    assert_eq!(
        post_form(addr, "/auth/code/authorize", &[], &[("email", "ada@example.com")]).status,
        200
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let (url, link_debug) = &seen[0];
    let link_token = url.split("token=").nth(1).expect("the link carries its token");
    assert_not_quoted(link_token, std::slice::from_ref(link_debug));
    let (code, request_debug) = &seen[1];
    assert_not_quoted(code, std::slice::from_ref(request_debug));

    // A damaged link's error page names the problem, not the link.
    let damaged = format!("{}x", &link_token[..link_token.len() - 1]);
    let reply = http_get(addr, &format!("/auth/link/callback?token={damaged}"), &[]);
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_not_quoted(&damaged, std::slice::from_ref(&reply.body));
    assert_not_quoted(link_token, std::slice::from_ref(&reply.body));
}
