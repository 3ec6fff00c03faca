//! Short access tokens with rotating refresh tokens: rotation, the grace window, reuse detection
//! (a stolen token replayed after the owner rotated ends the family), idle and absolute expiry by
//! a moved clock, logout and "log out everywhere", the token endpoint (RFC 6749 section 6), a store
//! that cannot answer, the session layer's transparent refresh under 20 concurrent requests, 50
//! concurrent refreshes across two instances on a real redis-server, and OpenAuth's own client
//! verifying and refreshing against our issuer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use auth_runtime::RateLimit;
use auth_runtime::axum::Session;
use auth_runtime::providers::AuthHandler;
use auth_runtime::refresh::{RefreshError, RefreshTokens, RefreshTokensBuilder, TokenPair};
use auth_runtime::revocation::Revocable;
use auth_runtime::store::{MemoryStore, RedisStore, Store};
use auth_runtime::{SessionCache, SessionLayer, SessionVerifier, Sessions, SigningKey};
use axum::routing::get;

use crate::common::client::{get as http_get, post_form, serve, serve_later, serve_without_peer};
use crate::common::clock::MovableClock;
use crate::common::redis_server::RedisServer;
use crate::common::stores::TestStore;
use crate::common::{AUDIENCE, AppSession, NOW, runtime, user};

const ISSUER: &str = "https://app.example.com/auth";

/// Sessions, refresh tokens and the store, on a clock the test moves.
struct Clocked {
    now: MovableClock,
    sessions: Sessions<AppSession>,
    tokens: RefreshTokens<AppSession>,
}

impl Clocked {
    fn on(store: Arc<dyn Store>, key: SigningKey) -> Clocked {
        let now = MovableClock::at(NOW);
        let sessions = Sessions::builder()
            .signing_key(key)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .subject_from(subject)
            .clock(now.source())
            .build()
            .expect("sessions");
        let tokens = RefreshTokens::builder(sessions.clone(), store)
            .build()
            .expect("refresh tokens");
        Clocked { now, sessions, tokens }
    }

    /// [`Clocked::on`] with the refresh tokens' builder changed by `configure`.
    fn with(
        store: Arc<dyn Store>,
        configure: impl FnOnce(RefreshTokensBuilder<AppSession>) -> RefreshTokensBuilder<AppSession>,
    ) -> Clocked {
        Clocked::with_key(store, SigningKey::generate_ed25519().expect("a key"), configure)
    }

    /// [`Clocked::with`], signing with `key`.
    fn with_key(
        store: Arc<dyn Store>,
        key: SigningKey,
        configure: impl FnOnce(RefreshTokensBuilder<AppSession>) -> RefreshTokensBuilder<AppSession>,
    ) -> Clocked {
        let base = Clocked::on(Arc::clone(&store), key);
        let tokens = configure(RefreshTokens::builder(base.sessions.clone(), store))
            .build()
            .expect("refresh tokens");
        Clocked { tokens, ..base }
    }

    fn new() -> Clocked {
        Clocked::on(
            Arc::new(MemoryStore::new()),
            SigningKey::generate_ed25519().expect("a key"),
        )
    }

    fn advance(&self, seconds: u64) {
        self.now.advance(Duration::from_secs(seconds));
    }
}

fn subject(session: &AppSession) -> Option<String> {
    match session {
        AppSession::User { user_id } => Some(user_id.clone()),
        _ => None,
    }
}

#[test]
fn each_refresh_returns_a_new_pair_whose_access_token_names_the_family() {
    let clocked = Clocked::new();
    runtime().block_on(async {
        let first = clocked.tokens.issue(&user("ada")).await.expect("a pair");
        assert_eq!(first.expires_in, 15 * 60, "15-minute access tokens by default");
        assert_eq!(first.refresh_token.len(), 43, "256 bits, base64url");
        let claims = clocked.sessions.verify(&first.access_token).expect("verifies").claims;
        assert_eq!(claims.session_id.as_deref(), Some(first.session_id.as_str()));
        assert_eq!(claims.subject.as_deref(), Some("ada"));
        assert_eq!(claims.expires_at - claims.issued_at.expect("iat"), 15 * 60);

        clocked.advance(60);
        let second = clocked.tokens.refresh(&first.refresh_token).await.expect("rotates");
        assert_ne!(second.refresh_token, first.refresh_token);
        assert_ne!(second.access_token, first.access_token);
        assert_eq!(second.session_id, first.session_id, "the same family");
        let verified = clocked.sessions.verify(&second.access_token).expect("verifies");
        assert_eq!(verified.session, user("ada"));
        assert_eq!(verified.claims.session_id.as_deref(), Some(first.session_id.as_str()));

        clocked.advance(60);
        let third = clocked
            .tokens
            .refresh(&second.refresh_token)
            .await
            .expect("rotates again");
        assert_eq!(third.session_id, first.session_id);
    });
}

#[test]
fn a_retired_token_within_the_grace_window_gets_the_same_successor() {
    let clocked = Clocked::new();
    runtime().block_on(async {
        let first = clocked.tokens.issue(&user("ada")).await.expect("a pair");
        let second = clocked.tokens.refresh(&first.refresh_token).await.expect("rotates");
        clocked.advance(59);
        let again = clocked
            .tokens
            .refresh(&first.refresh_token)
            .await
            .expect("inside the grace window");
        assert_eq!(
            again.refresh_token, second.refresh_token,
            "the same successor, not a new one"
        );
        assert_eq!(again.session_id, first.session_id, "not a new family");
        clocked
            .sessions
            .verify(&again.access_token)
            .expect("a fresh access token for the session");
        // And the successor still works: nothing was revoked.
        clocked
            .tokens
            .refresh(&second.refresh_token)
            .await
            .expect("the family lives");
    });
}

#[test]
fn a_retired_token_after_the_grace_window_revokes_the_whole_family() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clocked = Clocked::on(Arc::clone(&store), SigningKey::generate_ed25519().expect("a key"));
    let verifier = Revocable::new(clocked.sessions.clone(), clocked.tokens.revocations().clone());
    runtime().block_on(async {
        let first = clocked.tokens.issue(&user("ada")).await.expect("a pair");
        let second = clocked.tokens.refresh(&first.refresh_token).await.expect("rotates");
        let headers = http::HeaderMap::new();
        verifier
            .verify_session(&second.access_token, &headers)
            .await
            .expect("accepted before");

        clocked.advance(61);
        let reused = clocked.tokens.refresh(&first.refresh_token).await;
        assert!(matches!(reused, Err(RefreshError::Reused)), "{reused:?}");
        let next = clocked.tokens.refresh(&second.refresh_token).await;
        assert!(
            matches!(next, Err(RefreshError::Revoked)),
            "every member fails: {next:?}"
        );
        let again = clocked.tokens.refresh(&first.refresh_token).await;
        assert!(matches!(again, Err(RefreshError::Reused)), "{again:?}");
        assert!(
            verifier.verify_session(&second.access_token, &headers).await.is_err(),
            "the family's access tokens are revoked too"
        );
        // Another family of the same person is untouched.
        let other = clocked.tokens.issue(&user("ada")).await.expect("a new sign-in");
        clocked
            .tokens
            .refresh(&other.refresh_token)
            .await
            .expect("its own family");
    });
}

/// The attack reuse detection exists for: a thief copies Ada's refresh token; Ada's browser
/// rotates it as usual; the thief's replay, minutes later, ends the family for both of them.
#[test]
fn a_stolen_refresh_token_replayed_after_the_owner_rotated_ends_the_family() {
    let clocked = Clocked::new();
    runtime().block_on(async {
        let ada = clocked.tokens.issue(&user("ada")).await.expect("Ada signs in");
        let stolen = ada.refresh_token.clone();
        clocked.advance(15 * 60);
        let ada = clocked
            .tokens
            .refresh(&ada.refresh_token)
            .await
            .expect("Ada's browser refreshes");
        clocked.advance(5 * 60);
        let thief = clocked.tokens.refresh(&stolen).await;
        assert!(matches!(thief, Err(RefreshError::Reused)), "{thief:?}");
        let owner = clocked.tokens.refresh(&ada.refresh_token).await;
        assert!(
            matches!(owner, Err(RefreshError::Revoked)),
            "Ada must sign in again: {owner:?}"
        );
    });
}

/// The reverse order: the thief refreshes first and Ada's browser, later, presents the token
/// the thief retired. The family ends as well; the thief's tokens stop working.
#[test]
fn an_owner_replaying_a_token_a_thief_rotated_ends_the_thiefs_tokens_too() {
    let clocked = Clocked::new();
    runtime().block_on(async {
        let ada = clocked.tokens.issue(&user("ada")).await.expect("Ada signs in");
        let thief = clocked
            .tokens
            .refresh(&ada.refresh_token)
            .await
            .expect("the thief refreshes first");
        clocked.advance(10 * 60);
        let owner = clocked.tokens.refresh(&ada.refresh_token).await;
        assert!(matches!(owner, Err(RefreshError::Reused)), "{owner:?}");
        let thief = clocked.tokens.refresh(&thief.refresh_token).await;
        assert!(matches!(thief, Err(RefreshError::Revoked)), "{thief:?}");
    });
}

#[test]
fn a_refresh_token_dies_idle_after_7_days_and_every_family_after_30() {
    let clocked = Clocked::new();
    runtime().block_on(async {
        let idle = clocked.tokens.issue(&user("ada")).await.expect("a pair");
        clocked.advance(7 * 24 * 3600 - 1);
        let used_in_time = clocked
            .tokens
            .refresh(&idle.refresh_token)
            .await
            .expect("a second before idle");
        clocked.advance(7 * 24 * 3600);
        let idle_out = clocked.tokens.refresh(&used_in_time.refresh_token).await;
        assert!(matches!(idle_out, Err(RefreshError::Invalid)), "idle: {idle_out:?}");

        let mut pair = clocked.tokens.issue(&user("grace")).await.expect("a pair");
        // Refreshed every 6 days, it lives until 30 days after sign-in, and not a second longer.
        for _ in 0..4 {
            clocked.advance(6 * 24 * 3600);
            pair = clocked
                .tokens
                .refresh(&pair.refresh_token)
                .await
                .expect("within 30 days");
        }
        assert_eq!(
            pair.refresh_expires_in,
            6 * 24 * 3600,
            "the cookie's Max-Age ends with the family"
        );
        clocked.advance(6 * 24 * 3600 - 1);
        pair = clocked
            .tokens
            .refresh(&pair.refresh_token)
            .await
            .expect("the last second");
        clocked.advance(1);
        let absolute = clocked.tokens.refresh(&pair.refresh_token).await;
        assert!(matches!(absolute, Err(RefreshError::Invalid)), "absolute: {absolute:?}");
    });
}

#[test]
fn logout_ends_one_family_and_log_out_everywhere_every_family_of_the_subject() {
    let clocked = Clocked::new();
    runtime().block_on(async {
        let laptop = clocked.tokens.issue(&user("ada")).await.expect("a pair");
        let phone = clocked.tokens.issue(&user("ada")).await.expect("another");
        let bob = clocked.tokens.issue(&user("bob")).await.expect("someone else");

        clocked.tokens.revoke(&laptop.refresh_token).await.expect("logout");
        let after = clocked.tokens.refresh(&laptop.refresh_token).await;
        assert!(matches!(after, Err(RefreshError::Revoked)), "{after:?}");
        let phone = clocked
            .tokens
            .refresh(&phone.refresh_token)
            .await
            .expect("the phone stays signed in");

        clocked.advance(1);
        clocked.tokens.revoke_subject("ada").await.expect("log out everywhere");
        let phone = clocked.tokens.refresh(&phone.refresh_token).await;
        assert!(matches!(phone, Err(RefreshError::Revoked)), "{phone:?}");
        clocked
            .tokens
            .refresh(&bob.refresh_token)
            .await
            .expect("Bob is not Ada");
        clocked.advance(1);
        let back = clocked.tokens.issue(&user("ada")).await.expect("Ada signs in again");
        clocked
            .tokens
            .refresh(&back.refresh_token)
            .await
            .expect("a family started after it lives");

        let garbage = clocked.tokens.refresh("not a refresh token").await;
        assert!(matches!(garbage, Err(RefreshError::Invalid)), "{garbage:?}");
    });
}

/// Rotations fill the refresh records' own share of a `MemoryStore`, never the flows' nor the
/// revocations': when no refresh fits any more (503, tokens kept), a code sign-in still starts, a
/// logout is still recorded, and refused refreshes stay refused.
#[test]
fn a_store_full_of_rotations_still_records_a_logout_and_starts_sign_ins() {
    let memory = MemoryStore::with_all_capacities(10, 10, 6);
    let store: Arc<dyn Store> = Arc::new(memory.clone());
    let clocked = Clocked::with(store, |builder| {
        builder.limit_rotations_per_family(RateLimit::new(1000, Duration::from_secs(3600)))
    });
    runtime().block_on(async {
        let mut pair = clocked.tokens.issue(&user("ada")).await.expect("a pair");
        let mut rotations = 0;
        let full = loop {
            match clocked.tokens.refresh(&pair.refresh_token).await {
                Ok(next) => {
                    pair = next;
                    rotations += 1;
                }
                Err(error) => break error,
            }
        };
        assert_eq!(rotations, 2, "a live record, and a marker and a successor per rotation");
        assert!(matches!(full, RefreshError::Store(_)), "{full:?}");
        assert!(!full.is_invalid_grant(), "the client keeps its tokens");
        memory
            .put("code:code:flow", b"pending".to_vec(), Duration::from_secs(60))
            .await
            .expect("sign-in flows have their own share");
        clocked
            .tokens
            .revoke(&pair.refresh_token)
            .await
            .expect("the logout is recorded");
        let after = clocked.tokens.refresh(&pair.refresh_token).await;
        assert!(matches!(after, Err(RefreshError::Revoked)), "{after:?}");
    });
}

/// The store key of a refresh token's live record, computed here from the definition (SHA-256 of
/// the token, base64url).
fn live_key(refresh_token: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(refresh_token));
    format!("refresh:{hash}")
}

/// A rotation deletes the retired token's record, keeps a marker that names only the family
/// until the family ends, and keeps the sealed successor for the grace window only: someone who
/// can read the store later (a replica, a backup) and holds an old refresh token cannot walk the
/// chain to the current one.
#[test]
fn a_rotation_keeps_the_sealed_successor_for_the_grace_window_only() {
    let store = TestStore::default();
    let clocked = Clocked::on(Arc::new(store.clone()), SigningKey::generate_ed25519().expect("a key"));
    runtime().block_on(async {
        let first = clocked.tokens.issue(&user("ada")).await.expect("a pair");
        let second = clocked.tokens.refresh(&first.refresh_token).await.expect("rotates");
        assert_eq!(
            store.get(&live_key(&first.refresh_token)).await.expect("reads"),
            None,
            "the retired token's own record is gone"
        );
        assert!(
            store
                .get(&live_key(&second.refresh_token))
                .await
                .expect("reads")
                .is_some()
        );
        assert_eq!(
            store.ttl_of("refresh-next:"),
            Duration::from_secs(61),
            "the sealed successor lives for the 60 s grace window (and the second it still counts)"
        );
        assert_eq!(
            store.ttl_of("refresh-retired:"),
            Duration::from_secs(30 * 24 * 60 * 60),
            "the marker lives as long as the family could"
        );
        let marker = store
            .get(&live_key(&first.refresh_token).replacen("refresh:", "refresh-retired:", 1))
            .await
            .expect("reads")
            .expect("a marker");
        let marker: serde_json::Value = serde_json::from_slice(&marker).expect("JSON");
        let fields: Vec<&String> = marker.as_object().expect("an object").keys().collect();
        assert_eq!(fields, ["at", "family"], "no successor in the long-lived marker");
    });
}

/// An access token never outlives its family (nor the revocation record that can refuse it),
/// and a replay in the grace window after the family ended gets nothing.
#[test]
fn no_access_token_outlives_its_family() {
    let clocked = Clocked::with(Arc::new(MemoryStore::new()), |builder| {
        builder
            .lifetime(Duration::from_secs(3600))
            .idle_timeout(Duration::from_secs(3600))
    });
    runtime().block_on(async {
        let first = clocked.tokens.issue(&user("ada")).await.expect("a pair");
        clocked.advance(55 * 60);
        let late = clocked.tokens.refresh(&first.refresh_token).await.expect("rotates");
        assert_eq!(late.expires_in, 5 * 60, "cut to the family's last five minutes");
        let claims = clocked.sessions.verify(&late.access_token).expect("verifies").claims;
        assert_eq!(claims.expires_at, NOW + 3600);

        clocked.advance(4 * 60 + 50);
        let last = clocked.tokens.refresh(&late.refresh_token).await.expect("rotates");
        assert_eq!(last.expires_in, 10);
        clocked.advance(20);
        let replayed = clocked.tokens.refresh(&late.refresh_token).await;
        assert!(
            matches!(replayed, Err(RefreshError::Invalid)),
            "in the grace window, but the family has ended: {replayed:?}"
        );
    });
}

/// The token endpoint and the sign-in flows' router, with `tokens`, on 127.0.0.1.
fn token_server(tokens: &RefreshTokens<AppSession>) -> SocketAddr {
    let handler = AuthHandler::builder(tokens.sessions().clone(), "https://app.example.com")
        .refresh_tokens(tokens.clone())
        .build()
        .expect("a handler with only the token endpoint");
    serve(handler.router())
}

fn grant(addr: SocketAddr, refresh_token: &str) -> crate::common::client::Reply {
    post_form(
        addr,
        "/auth/token",
        &[],
        &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)],
    )
}

#[test]
fn the_token_endpoint_answers_as_rfc_6749_says() {
    let clocked = Clocked::new();
    let addr = token_server(&clocked.tokens);
    let first = runtime().block_on(clocked.tokens.issue(&user("ada"))).expect("a pair");

    let refreshed = grant(addr, &first.refresh_token);
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(refreshed.header("cache-control"), Some("no-store"));
    assert_eq!(refreshed.header("content-type"), Some("application/json"));
    let body = refreshed.json();
    let keys: Vec<&String> = body.as_object().expect("an object").keys().collect();
    assert_eq!(keys, ["access_token", "expires_in", "refresh_token", "token_type"]);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let access = body["access_token"].as_str().expect("a token");
    assert_eq!(clocked.sessions.verify(access).expect("verifies").session, user("ada"));
    let next = body["refresh_token"].as_str().expect("a refresh token").to_owned();
    assert_ne!(next, first.refresh_token);

    clocked.advance(61);
    let reused = grant(addr, &first.refresh_token);
    assert_eq!(reused.status, 400);
    assert_eq!(reused.json()["error"], "invalid_grant");
    let revoked = grant(addr, &next);
    assert_eq!(revoked.status, 400);
    assert_eq!(revoked.json()["error"], "invalid_grant");
    let unknown = grant(addr, &"A".repeat(43));
    assert_eq!(unknown.json()["error"], "invalid_grant");

    let code = post_form(addr, "/auth/token", &[], &[("grant_type", "authorization_code")]);
    assert_eq!(code.status, 400);
    assert_eq!(code.json()["error"], "unsupported_grant_type");
    let missing = post_form(addr, "/auth/token", &[], &[("grant_type", "refresh_token")]);
    assert_eq!(missing.json()["error"], "invalid_request");
    let twice = post_form(
        addr,
        "/auth/token",
        &[],
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &next),
            ("refresh_token", &next),
        ],
    );
    assert_eq!(twice.json()["error"], "invalid_request");
    let json_body = crate::common::client::send_body(
        addr,
        "POST",
        "/auth/token",
        &[("Content-Type", "application/json")],
        "{}",
    );
    assert_eq!(json_body.json()["error"], "invalid_request");

    let metadata = http_get(addr, "/auth/.well-known/oauth-authorization-server", &[]).json();
    assert_eq!(metadata["issuer"], ISSUER);
    assert_eq!(metadata["token_endpoint"], "https://app.example.com/auth/token");
    assert_eq!(
        metadata["jwks_uri"],
        "https://app.example.com/auth/.well-known/jwks.json"
    );
    let jwks = http_get(addr, "/auth/.well-known/jwks.json", &[]).json();
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(1));
}

/// OpenAuth's client calls `<issuer>/token` and checks `iss` against the issuer it was given:
/// under the OpenAuth profile the handler refuses an issuer that is not its base URL and prefix.
#[test]
fn the_openauth_profile_needs_the_issuer_to_be_the_token_endpoints_base() {
    let clocked = Clocked::new();
    let openauth = RefreshTokens::builder(clocked.sessions.clone(), Arc::new(MemoryStore::new()))
        .openauth_profile()
        .build()
        .expect("refresh tokens");
    let here = AuthHandler::builder(clocked.sessions.clone(), "https://app.example.com")
        .refresh_tokens(openauth.clone())
        .build();
    assert!(here.is_ok(), "{here:?}");
    let elsewhere = AuthHandler::builder(clocked.sessions.clone(), "https://other.example.com")
        .refresh_tokens(openauth)
        .build();
    let Err(error) = elsewhere else {
        panic!("an issuer OpenAuth's client would reject was accepted");
    };
    assert!(error.to_string().contains("https://other.example.com/auth"), "{error}");
}

#[test]
fn a_store_that_cannot_answer_is_503_and_the_client_keeps_its_tokens() {
    let store = TestStore::default();
    let clocked = Clocked::on(Arc::new(store.clone()), SigningKey::generate_ed25519().expect("a key"));
    let addr = token_server(&clocked.tokens);
    let (browser, _) = browser_app(&clocked);
    let first = runtime().block_on(clocked.tokens.issue(&user("ada"))).expect("a pair");

    store.set_down(true);
    let api = grant(addr, &first.refresh_token);
    assert_eq!(api.status, 503, "{}", api.body);
    assert_eq!(api.json()["error"], "temporarily_unavailable");
    assert_eq!(api.header("retry-after"), Some("1"));
    clocked.advance(20 * 60);
    let page = http_get(browser, "/me", &[("Cookie", &cookies(&first))]);
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.set_cookies().is_empty(), "the browser keeps both cookies");

    store.set_down(false);
    let page = http_get(browser, "/me", &[("Cookie", &cookies(&first))]);
    assert_eq!(
        page.status, 200,
        "the kept refresh cookie works once the store is back: {}",
        page.body
    );
    let api = grant(addr, &first.refresh_token);
    assert_eq!(
        api.status, 200,
        "and so does the kept token (in the grace window): {}",
        api.body
    );
}

/// An app behind the session layer with transparent refresh: `/me` answers the subject.
fn browser_app(clocked: &Clocked) -> (SocketAddr, ()) {
    (serve(browser_router(clocked)), ())
}

/// The router of [`browser_app`].
fn browser_router(clocked: &Clocked) -> axum::Router {
    let cache = SessionCache::builder(clocked.sessions.clone())
        .clock(clocked.now.source())
        .build();
    let layer = SessionLayer::builder(cache)
        .refresh_tokens(clocked.tokens.clone())
        .build()
        .expect("a layer");
    let me = |session: Option<Session<AppSession>>| async move {
        match session {
            Some(Session(session)) => format!("signed in as {}", subject(&session).unwrap_or_default()),
            None => "signed out".to_owned(),
        }
    };
    axum::Router::new().route("/me", get(me)).layer(layer)
}

/// Every `Set-Cookie` of `reply`, attributes and all.
fn full_set_cookies(reply: &crate::common::client::Reply) -> Vec<String> {
    reply
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, value)| value.clone())
        .collect()
}

/// The `name=value` part of a `Set-Cookie`.
fn value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

fn cookies(pair: &TokenPair) -> String {
    format!(
        "auth-token={}; auth-token-refresh={}",
        pair.access_token, pair.refresh_token
    )
}

#[test]
fn twenty_concurrent_requests_with_an_expired_access_token_make_one_refresh() {
    let store = TestStore::default();
    let rotations = || store.writes_under("refresh-retired:");
    let clocked = Clocked::on(Arc::new(store.clone()), SigningKey::generate_ed25519().expect("a key"));
    let (addr, _) = browser_app(&clocked);
    let first = runtime().block_on(clocked.tokens.issue(&user("ada"))).expect("a pair");
    let fresh = http_get(addr, "/me", &[("Cookie", &cookies(&first))]);
    assert_eq!(fresh.body, "signed in as ada");
    assert!(fresh.set_cookies().is_empty(), "a valid access token refreshes nothing");
    assert_eq!(rotations(), 0);

    clocked.advance(20 * 60);
    let header = cookies(&first);
    let replies: Vec<_> = std::thread::scope(|scope| {
        let requests: Vec<_> = (0..20)
            .map(|_| scope.spawn(|| http_get(addr, "/me", &[("Cookie", &header)])))
            .collect();
        requests
            .into_iter()
            .map(|request| request.join().expect("a reply"))
            .collect()
    });
    assert_eq!(rotations(), 1, "one refresh for all 20");
    let set: Vec<Vec<String>> = replies.iter().map(full_set_cookies).collect();
    for (reply, cookies) in replies.iter().zip(&set) {
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, "signed in as ada");
        assert_eq!(cookies, &set[0], "every response carries the same new pair");
    }
    let refresh_cookie = set[0]
        .iter()
        .find(|cookie| cookie.starts_with("auth-token-refresh="))
        .expect("the new refresh cookie");
    assert!(
        refresh_cookie.contains("; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=604800"),
        "{refresh_cookie}"
    );
    let access_cookie = set[0]
        .iter()
        .find(|cookie| cookie.starts_with("auth-token="))
        .expect("the new access cookie");
    assert!(access_cookie.ends_with("Max-Age=900"), "{access_cookie}");

    // The browser stores the new cookies: its next request needs no refresh.
    let next = format!("{}; {}", value(access_cookie), value(refresh_cookie));
    let after = http_get(addr, "/me", &[("Cookie", &next)]);
    assert_eq!(after.body, "signed in as ada");
    assert!(after.set_cookies().is_empty());
    assert_eq!(rotations(), 1);

    // Only the refresh cookie left (the browser dropped the expired access cookie): refreshed too.
    clocked.advance(20 * 60);
    let only_refresh = http_get(addr, "/me", &[("Cookie", &value(refresh_cookie))]);
    assert_eq!(only_refresh.body, "signed in as ada");
    assert_eq!(only_refresh.set_cookies().len(), 2);

    // A refresh cookie that is no longer good (its family logged out elsewhere) signs the
    // browser out and deletes both cookies.
    let other = runtime().block_on(clocked.tokens.issue(&user("ada"))).expect("a pair");
    runtime()
        .block_on(clocked.tokens.revoke(&other.refresh_token))
        .expect("logout");
    clocked.advance(20 * 60);
    let revoked = http_get(addr, "/me", &[("Cookie", &cookies(&other))]);
    assert_eq!(revoked.body, "signed out");
    assert_eq!(
        full_set_cookies(&revoked),
        [
            "auth-token=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0",
            "auth-token-refresh=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0"
        ]
    );

    // Another site's form post carrying the refresh cookie refreshes nothing.
    let cross_site = crate::common::client::send(
        addr,
        "POST",
        "/me",
        &[("Cookie", &value(refresh_cookie)), ("Sec-Fetch-Site", "cross-site")],
    );
    assert_eq!(cross_site.status, 403);
}

/// One client rotating one family as fast as it can (measured before: 2000 rotations in 1.7 s,
/// every one 200, two records each) is stopped at the family's limit: 30 an hour, then 429 with
/// `Retry-After`, nothing written, and the refresh token it holds still works in the next window.
#[test]
fn one_family_rotating_as_fast_as_it_can_is_stopped_at_its_limit() {
    let store = TestStore::default();
    let clocked = Clocked::on(Arc::new(store.clone()), SigningKey::generate_ed25519().expect("a key"));
    let addr = token_server(&clocked.tokens);
    let mut refresh_token = runtime()
        .block_on(clocked.tokens.issue(&user("ada")))
        .expect("a pair")
        .refresh_token;
    let mut refused = None;
    for n in 1..=40 {
        let reply = grant(addr, &refresh_token);
        if reply.status != 200 {
            refused = Some((n, reply));
            break;
        }
        refresh_token = reply.json()["refresh_token"].as_str().expect("a token").to_owned();
    }
    let (n, reply) = refused.expect("the limit was never reached");
    assert_eq!(n, 31, "30 rotations an hour");
    assert_eq!(reply.status, 429, "{}", reply.body);
    assert_eq!(reply.json()["error"], "slow_down");
    let retry_after: u64 = reply
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .expect("Retry-After");
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    assert_eq!(
        store.writes_under("refresh-retired:"),
        30,
        "nothing written past the limit"
    );

    clocked.advance(retry_after);
    assert_eq!(
        grant(addr, &refresh_token).status,
        200,
        "the kept token works after the window"
    );
}

/// One client address rotating many families is stopped at the per-client limit.
#[test]
fn one_client_rotating_many_families_is_stopped_at_its_limit() {
    let clocked = Clocked::with(Arc::new(MemoryStore::new()), |builder| {
        builder.limit_rotations_per_client(RateLimit::new(4, Duration::from_secs(15 * 60)))
    });
    let addr = token_server(&clocked.tokens);
    let statuses: Vec<u16> = (0..6)
        .map(|n| {
            let pair = runtime()
                .block_on(clocked.tokens.issue(&user(&format!("user{n}"))))
                .expect("a pair");
            grant(addr, &pair.refresh_token).status
        })
        .collect();
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);
}

/// A limit that would refuse a client refreshing each access token once is refused at build.
#[test]
fn a_rotation_limit_below_what_a_client_needs_is_refused_at_build() {
    let sessions = Clocked::new().sessions;
    let build = |limit: RateLimit| {
        RefreshTokens::builder(sessions.clone(), Arc::new(MemoryStore::new()))
            .limit_rotations_per_family(limit)
            .build()
    };
    assert!(build(RateLimit::new(0, Duration::from_secs(3600))).is_err());
    let Err(error) = build(RateLimit::new(3, Duration::from_secs(3600))) else {
        panic!("3 an hour with 15-minute access tokens was accepted");
    };
    assert!(
        error.to_string().contains("at least two rotations per access lifetime"),
        "{error}"
    );
    assert!(build(RateLimit::new(8, Duration::from_secs(3600))).is_ok());
}

/// The session layer counts its refreshes too: past the family's limit a browser gets 429 with
/// `Retry-After` and keeps both cookies.
#[test]
fn the_layer_answers_429_past_the_limit_and_keeps_the_cookies() {
    let clocked = Clocked::with(Arc::new(MemoryStore::new()), |builder| {
        builder.limit_rotations_per_family(RateLimit::new(2, Duration::from_secs(15 * 60)))
    });
    let (addr, _) = browser_app(&clocked);
    let mut refresh_token = runtime()
        .block_on(clocked.tokens.issue(&user("ada")))
        .expect("a pair")
        .refresh_token;
    for _ in 0..2 {
        let reply = http_get(
            addr,
            "/me",
            &[("Cookie", &format!("auth-token-refresh={refresh_token}"))],
        );
        assert_eq!(reply.body, "signed in as ada");
        refresh_token = reply
            .cookie("auth-token-refresh")
            .expect("a new refresh cookie")
            .to_owned();
    }
    let limited = http_get(
        addr,
        "/me",
        &[("Cookie", &format!("auth-token-refresh={refresh_token}"))],
    );
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.header("retry-after").is_some());
    assert_eq!(limited.json()["error"], "rate_limited");
    assert!(limited.set_cookies().is_empty(), "the browser keeps its cookies");
}

/// Served without the peer address, the per-client rotation limit cannot count: the layer and
/// the token endpoint refuse the refresh (500, an ERROR event), never let it through uncounted.
#[test]
fn a_refresh_whose_client_cannot_be_told_is_refused() {
    let clocked = Clocked::new();
    let addr = serve_without_peer(browser_router(&clocked));
    let pair = runtime().block_on(clocked.tokens.issue(&user("ada"))).expect("a pair");
    let reply = http_get(
        addr,
        "/me",
        &[("Cookie", &format!("auth-token-refresh={}", pair.refresh_token))],
    );
    assert_eq!(reply.status, 500, "{}", reply.body);
    assert_eq!(reply.json()["error"], "server_misconfigured");

    let handler = AuthHandler::builder(clocked.tokens.sessions().clone(), "https://app.example.com")
        .refresh_tokens(clocked.tokens.clone())
        .build()
        .expect("a handler");
    let endpoint = serve_without_peer(handler.router());
    assert_eq!(grant(endpoint, &pair.refresh_token).status, 500);
    let still = runtime()
        .block_on(clocked.tokens.refresh(&pair.refresh_token))
        .expect("nothing was spent");
    assert_eq!(still.session_id, pair.session_id);
}

/// Cookie tossing: a sibling subdomain sets `auth-token-refresh` with a longer path, so the
/// browser sends two. The layer takes neither (it used to take the first, and swap the victim
/// into the attacker's account at the next refresh): the request goes on signed out and the
/// cookies are cleared.
#[test]
fn two_refresh_cookies_count_as_none_and_are_cleared() {
    let store = TestStore::default();
    let clocked = Clocked::on(Arc::new(store.clone()), SigningKey::generate_ed25519().expect("a key"));
    let (addr, _) = browser_app(&clocked);
    let victim = runtime().block_on(clocked.tokens.issue(&user("ada"))).expect("a pair");
    let attacker = runtime()
        .block_on(clocked.tokens.issue(&user("mallory")))
        .expect("a pair");
    let tossed = format!(
        "auth-token-refresh={}; auth-token-refresh={}",
        attacker.refresh_token, victim.refresh_token
    );
    let reply = http_get(addr, "/me", &[("Cookie", &tossed)]);
    assert_eq!(reply.body, "signed out");
    assert_eq!(
        full_set_cookies(&reply),
        [
            "auth-token=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0",
            "auth-token-refresh=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0"
        ]
    );
    assert_eq!(store.writes_under("refresh-next:"), 0, "nothing was rotated");
    assert_eq!(
        clocked.tokens.refresh_cookie(&{
            let mut headers = http::HeaderMap::new();
            headers.insert(http::header::COOKIE, tossed.parse().expect("a header"));
            headers
        }),
        None
    );
}

#[test]
#[ignore = "needs redis-server (apt install redis-server)"]
fn fifty_concurrent_refreshes_of_one_token_across_two_instances_on_redis_make_one_successor() {
    let redis = RedisServer::start();
    let key = SigningKey::generate_ed25519().expect("a key");
    let runtime = runtime();
    let (a, b) = runtime.block_on(async {
        let a = RedisStore::connect(redis.url()).await.expect("instance A's store");
        let b = RedisStore::connect(redis.url()).await.expect("instance B's store");
        (a, b)
    });
    // Every racer counts against the family's limit before one of them wins; raised here, where
    // the race itself is what is tested (the session layer coalesces a browser's racing requests).
    let generous = |builder: RefreshTokensBuilder<AppSession>| {
        builder.limit_rotations_per_family(RateLimit::new(1000, Duration::from_secs(3600)))
    };
    let a = Clocked::with_key(Arc::new(a), key.clone(), generous);
    let b = Clocked::with_key(Arc::new(b), key, generous);
    let first = runtime.block_on(a.tokens.issue(&user("ada"))).expect("a pair");
    let first_token = first.refresh_token.clone();
    let results = runtime.block_on(async {
        let instances = [a.tokens.clone(), b.tokens.clone()];
        let tasks: Vec<_> = (0..50)
            .map(|index| {
                let tokens = instances[index % 2].clone();
                let refresh_token = first.refresh_token.clone();
                tokio::spawn(async move { tokens.refresh(&refresh_token).await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("the task ends").expect("every refresh succeeds"));
        }
        results
    });
    let successor = &results[0].refresh_token;
    assert!(
        results.iter().all(|pair| &pair.refresh_token == successor),
        "exactly one successor"
    );
    assert!(results.iter().all(|pair| pair.session_id == results[0].session_id));
    assert_eq!(
        redis.command("EVAL \"return #redis.call('keys','*refresh-retired:*')\" 0"),
        ":1"
    );
    assert_eq!(
        redis.command("EVAL \"return #redis.call('keys','*:refresh:*')\" 0"),
        ":1",
        "the one successor; the first token's record went at rotation, the losers' candidates are gone"
    );
    assert_eq!(
        redis.command("EVAL \"return #redis.call('keys','*revoked:*')\" 0"),
        ":0",
        "no revocation"
    );
    // The store holds hashes and sealed successors, never a refresh token.
    let everything = runtime.block_on(async {
        let client = redis::Client::open(redis.url()).expect("client");
        let mut connection = client.get_multiplexed_async_connection().await.expect("connects");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut connection)
            .await
            .expect("KEYS");
        let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut connection)
            .await
            .expect("MGET");
        let mut everything = keys.join("\n").into_bytes();
        for value in values.into_iter().flatten() {
            everything.extend_from_slice(&value);
        }
        String::from_utf8_lossy(&everything).into_owned()
    });
    assert!(!everything.is_empty());
    for token in [first_token.as_str(), successor.as_str()] {
        assert!(!everything.contains(token), "a refresh token in clear in Redis");
    }
    runtime
        .block_on(b.tokens.refresh(successor))
        .expect("the successor refreshes on either instance");
}

/// What a family costs on Redis after a day of 15-minute refreshes (96 rotations): the live
/// record and one retired marker per rotation, which stay until the family could no longer live.
/// The successors (61 s) and the rate counters (an hour) go on their own; they are left out.
/// Prints the figure that the crate guide states.
#[test]
#[ignore = "needs redis-server (apt install redis-server)"]
fn a_day_of_15_minute_refreshes_on_redis_leaves_one_small_marker_per_rotation() {
    let redis = RedisServer::start();
    let runtime = runtime();
    let store = runtime.block_on(RedisStore::connect(redis.url())).expect("a store");
    let clocked = Clocked::on(Arc::new(store), SigningKey::generate_ed25519().expect("a key"));
    let mut pair = runtime
        .block_on(clocked.tokens.issue(&user("ada@example.com")))
        .expect("a pair");
    for _ in 0..96 {
        clocked.advance(15 * 60);
        pair = runtime
            .block_on(clocked.tokens.refresh(&pair.refresh_token))
            .expect("a refresh every 15 minutes stays under every limit");
    }
    // One integer per reply: `command` reads the first line.
    let number = |script: String| -> u64 {
        let reply = redis.command(&script);
        reply
            .strip_prefix(':')
            .and_then(|number| number.parse().ok())
            .unwrap_or_else(|| panic!("not an integer: {reply}"))
    };
    let bytes = |pattern: &str| -> (u64, u64) {
        let count = number(format!("EVAL \"return #redis.call('keys', '{pattern}')\" 0"));
        let total = number(format!(
            "EVAL \"local total = 0 for _, key in ipairs(redis.call('keys', '{pattern}')) do total = total + redis.call('memory', 'usage', key) end return total\" 0"
        ));
        (count, total)
    };
    let (live, live_bytes) = bytes("*:refresh:*");
    let (markers, marker_bytes) = bytes("*refresh-retired:*");
    assert_eq!(live, 1, "one live refresh token");
    assert_eq!(markers, 96, "one marker per rotation");
    eprintln!(
        "a family after a day of 15-minute refreshes on Redis: {} bytes ({live_bytes} live record, \
         {markers} markers of {} bytes on average)",
        live_bytes + marker_bytes,
        marker_bytes / 96
    );
}

#[test]
#[ignore = "needs Node.js (OpenAuth's client, from tests/issuers' npm lock file)"]
fn openauths_client_verifies_and_refreshes_against_our_issuer() {
    crate::common::tools::require("Node.js", "node", &["--version"]);
    let dir = crate::common::tools::dir("issuers");
    crate::common::tools::npm_install(&dir, "@openauthjs/openauth");
    let (addr, start) = serve_later();
    let issuer = format!("http://{addr}/auth");
    let key = SigningKey::generate_ed25519().expect("a key");
    let sessions = Sessions::builder()
        .signing_key(key.clone())
        .issuer(&issuer)
        .audience("web")
        .subject_from(subject)
        .build()
        .expect("sessions");
    let tokens = RefreshTokens::builder(sessions.clone(), Arc::new(MemoryStore::new()))
        .openauth_profile()
        .build()
        .expect("refresh tokens");
    let handler = AuthHandler::builder(sessions.clone(), format!("http://{addr}"))
        .refresh_tokens(tokens.clone())
        .build()
        .expect("a handler");
    start(handler.router());
    let pair = runtime().block_on(tokens.issue(&user("ada"))).expect("a pair");
    // An access token of the same family that expired an hour ago, signed by the same key.
    let past = Sessions::builder()
        .signing_key(key)
        .issuer(&issuer)
        .audience("web")
        .subject_from(subject)
        .clock(|| std::time::SystemTime::now() - Duration::from_secs(3600))
        .build()
        .expect("sessions in the past");
    let expired = past
        .issue(
            &user("ada"),
            &auth_runtime::IssueOptions {
                lifetime: Some(Duration::from_secs(60)),
                session_id: Some(pair.session_id.clone()),
                mode: Some("access".to_owned()),
                ..auth_runtime::IssueOptions::default()
            },
        )
        .expect("an expired token")
        .token;
    let output = std::process::Command::new("node")
        .arg("openauth-client.mjs")
        .args([&issuer, &pair.access_token, &pair.refresh_token, &expired])
        .current_dir(&dir)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("the script's JSON report");
    let ada = serde_json::json!({ "type": "user", "properties": { "userID": "ada" } });
    assert_eq!(report["verified"]["subject"], ada, "{report}");
    assert_eq!(report["refreshed"]["err"], false, "{report}");
    let refreshed = report["refreshed"]["refresh"].as_str().expect("a new refresh token");
    assert_ne!(refreshed, pair.refresh_token);
    assert_eq!(report["refreshed"]["expiresIn"], 900);
    assert_eq!(report["verifiedRefreshed"]["subject"], ada, "{report}");
    assert_eq!(report["expiredWithRefresh"]["subject"], ada, "{report}");
    assert_eq!(
        report["expiredWithRefresh"]["refreshed"], true,
        "OpenAuth's client refreshed an expired token at our endpoint: {report}"
    );
    assert_eq!(report["unknownRefresh"]["err"], "InvalidRefreshTokenError", "{report}");
    assert_eq!(report["expiredAlone"]["err"], "InvalidAccessTokenError", "{report}");
    // What the client got is ours: the new access token verifies here too.
    let access = report["refreshed"]["access"].as_str().expect("an access token");
    assert_eq!(sessions.verify(access).expect("ours").session, user("ada"));
}
