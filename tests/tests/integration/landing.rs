//! A sign-in server on one origin sends `?token=` to an app's landing route on another (two
//! servers on 127.0.0.1, different ports): the token goes in on its own only in the browser
//! that started the sign-in; a landing URL sent to anyone else asks before it signs them in, so
//! nobody can plant their session in someone else's browser.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use auth_runtime::providers::{AuthHandler, CodeProvider, CodeRequest, FlowError, FlowResponse, UserClaims};
use auth_runtime::{SessionCache, SessionLayer, Sessions, SigningKey, use_session};
use axum::Router;
use axum::routing::get;
use common::client::{Browser, Reply, get as http_get, send, serve_later};
use common::{AppSession, user};

use crate::common;

struct Servers {
    app: SocketAddr,
    auth: SocketAddr,
    codes: Arc<Mutex<Vec<String>>>,
}

/// The app (landing route `/welcome`, a `/login` that starts the sign-in on the other origin)
/// and the sign-in server (a code flow whose `on_success` sends `?token=` back to the app).
fn servers() -> Servers {
    let (app, start_app) = serve_later();
    let (auth, start_auth) = serve_later();
    let sessions: Sessions<AppSession> = common::builder(SigningKey::generate_ed25519().expect("key"))
        .subject_from(|session| match session {
            AppSession::User { user_id } => Some(user_id.clone()),
            _ => None,
        })
        .allow_redirect_origin(&format!("http://{app}"))
        .build()
        .expect("sessions");

    let layer = SessionLayer::builder(SessionCache::new(sessions.clone()))
        .landing_route("/welcome")
        .build()
        .expect("layer");
    let sign_in = format!("http://{auth}/auth/code/authorize?email=");
    let starter = layer.clone();
    let login = move |axum::extract::Query(query): axum::extract::Query<Vec<(String, String)>>| {
        let email = query.first().map(|(_, email)| email.clone()).unwrap_or_default();
        let response = starter
            .sign_in_redirect::<axum::body::Body>(&format!("{sign_in}{email}"))
            .expect("a sign-in redirect");
        std::future::ready(response)
    };
    let welcome =
        || async { use_session::<AppSession>().map_or("public".to_owned(), |session| format!("{session:?}")) };
    start_app(
        Router::new()
            .route("/welcome", get(welcome))
            .route("/login", get(login))
            .layer(layer),
    );

    let codes: Arc<Mutex<Vec<String>>> = Arc::default();
    let outbox = Arc::clone(&codes);
    let provider = CodeProvider::new(
        move |request: CodeRequest| {
            outbox.lock().unwrap().push(request.code);
            async { Ok::<FlowResponse, FlowError>(FlowResponse::new("code sent".into())) }
        },
        |_| async { Ok::<FlowResponse, FlowError>(FlowResponse::new("wrong code".into())) },
    );
    let welcome_url = format!("http://{app}/welcome");
    let on_success = {
        let sessions = sessions.clone();
        move |claims: UserClaims| {
            let result = claims
                .get("email")
                .ok_or(FlowError::NoClaims)
                .and_then(|email| Ok(sessions.parameter(&user(email), &welcome_url)?));
            std::future::ready(result)
        }
    };
    let handler = AuthHandler::builder(sessions.clone(), format!("http://{auth}"))
        .provider("code", provider, on_success)
        .build()
        .expect("handler");
    start_auth(handler.router());
    Servers { app, auth, codes }
}

impl Servers {
    /// A person signs in from the app in `browser`: the app's `/login`, the code sent to them,
    /// the code submitted on the sign-in server. Returns the redirect back to the app's landing
    /// route, unfollowed.
    fn sign_in(&self, browser: &mut Browser, email: &str) -> Reply {
        // The app sends the browser to the sign-in server with a landing nonce; that server's
        // sign-in page posts what the redirect carried (a code flow starts only with a
        // same-origin POST, never a GET another site could send a browser to).
        let origin = format!("http://{}", self.auth);
        let authorize = format!("{origin}/auth/code/authorize");
        let redirect = browser.follow(&format!("http://{}/login?email={email}", self.app), Some(&authorize));
        let location = redirect.header("location").expect("a redirect to the sign-in server");
        let fields: Vec<(String, String)> = url::Url::parse(location)
            .expect("an absolute URL")
            .query_pairs()
            .into_owned()
            .collect();
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let form = browser.post_form(&authorize, &[("Origin", &origin)], &fields);
        assert_eq!(form.status, 200, "{}", form.body);
        let code = self.codes.lock().unwrap().pop().expect("a code was sent");
        let submitted = browser.post_form(
            &format!("{origin}/auth/code/callback"),
            &[("Origin", &origin)],
            &[("code", &code)],
        );
        assert_eq!(submitted.status, 302, "{}", submitted.body);
        submitted
    }

    fn landing_url(reply: &Reply) -> String {
        let location = reply.header("location").expect("a redirect to the landing route");
        assert!(location.contains("/welcome?token="), "{location}");
        location.to_owned()
    }
}

fn signed_in(reply: &Reply) -> bool {
    reply.cookie("auth-token").is_some_and(|token| !token.is_empty())
}

/// In the browser that started the sign-in, the landing route lets the token in at once and
/// spends the nonce.
#[test]
fn the_browser_that_started_the_sign_in_lands_signed_in() {
    let servers = servers();
    let mut browser = Browser::default();
    let back = servers.sign_in(&mut browser, "ada@example.com");
    let landed = browser.follow(&Servers::landing_url(&back), None);
    assert_eq!(landed.status, 200, "{}", landed.body);
    assert!(landed.body.contains("ada@example.com"), "{}", landed.body);
    assert!(
        browser.cookie_header().contains("auth-token="),
        "{}",
        browser.cookie_header()
    );
    assert!(
        !browser.cookie_header().contains("auth-token-landing="),
        "the nonce is spent: {}",
        browser.cookie_header()
    );
}

/// Mallory signs in and sends Ada the landing URL carrying Mallory's session. In Ada's browser
/// (fresh, or in the middle of her own sign-in) it only asks; no other site can click for her.
#[test]
fn a_landing_url_sent_to_someone_else_asks_first() {
    let servers = servers();
    let mut mallory = Browser::default();
    let planted = Servers::landing_url(&servers.sign_in(&mut mallory, "mallory@example.com"));
    let path = common::client::path_of(&planted);

    let fresh = http_get(servers.app, &path, &[("Accept", "text/html")]);
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert!(!signed_in(&fresh), "a landing URL alone plants nothing");
    assert!(
        fresh
            .body
            .contains("Continue signing in as <b>mallory@example.com</b>?"),
        "{}",
        fresh.body
    );

    // Ada has started a sign-in of her own: her nonce is not the one Mallory's token carries.
    let mut ada = Browser::default();
    let authorize = format!("http://{}/auth/code/authorize", servers.auth);
    let started = ada.follow(
        &format!("http://{}/login?email=ada@example.com", servers.app),
        Some(&authorize),
    );
    assert_eq!(
        started.status, 302,
        "on her way to the sign-in server, with a nonce of her own"
    );
    let with_own_nonce = http_get(servers.app, &path, &[("Cookie", &ada.cookie_header())]);
    assert_eq!(with_own_nonce.status, 200);
    assert!(!signed_in(&with_own_nonce));

    // The page's button is a POST; another site's form cannot send it for her.
    let forged = send(
        servers.app,
        "POST",
        &path,
        &[("Origin", &format!("http://{}", servers.auth))],
    );
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(!signed_in(&forged));
}

/// The binding travels as the hash of the nonce, never the nonce: what the sign-in server sees
/// (and logs) cannot be turned into the cookie.
#[test]
fn the_sign_in_server_sees_the_nonce_hash_only() {
    let servers = servers();
    let started = http_get(servers.app, "/login?email=ada@example.com", &[]);
    assert_eq!(started.status, 302);
    let nonce = started.cookie("auth-token-landing").expect("a landing nonce cookie");
    let set_cookie = started.header("set-cookie").expect("set-cookie");
    assert!(
        set_cookie.ends_with("; HttpOnly; Secure; SameSite=Lax; Path=/welcome; Max-Age=86400"),
        "{set_cookie}"
    );
    let location = started.header("location").expect("location");
    let sent = url::Url::parse(location)
        .expect("absolute")
        .query_pairs()
        .find(|(name, _)| name == "landing_nonce")
        .map(|(_, value)| value.into_owned())
        .expect("landing_nonce");
    assert_ne!(sent, nonce);
    use base64::Engine;
    use sha2::Digest;
    let hashed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(nonce.as_bytes()));
    assert_eq!(sent, hashed);
}

/// A `landing_nonce` that is not a SHA-256 in base64url, or comes twice, is refused with a
/// reason, before anything is sent.
#[test]
fn a_malformed_landing_nonce_is_refused() {
    let servers = servers();
    for query in [
        "landing_nonce=short",
        "landing_nonce=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&landing_nonce=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let reply = common::client::post_form(
            servers.auth,
            &format!("/auth/code/authorize?email=ada@example.com&{query}"),
            &[],
            &[],
        );
        assert_eq!(reply.status, 400, "{query}");
        assert!(
            reply.body.contains("`landing_nonce` parameter is not valid"),
            "{}",
            reply.body
        );
    }
    assert!(servers.codes.lock().unwrap().is_empty(), "no code was sent");
}

/// `LandingBinding::Off` is the old behaviour, for apps that bind tokens some other way; a
/// layer without a landing route has no nonce to hand out.
#[test]
fn binding_can_be_turned_off_and_needs_a_landing_route() {
    let sessions = common::builder(common::hs256_key()).build().expect("sessions");
    let token = sessions.create(&user("ada")).expect("token");
    let layer = SessionLayer::builder(SessionCache::new(sessions.clone()))
        .landing_route("/welcome")
        .landing_binding(auth_runtime::LandingBinding::Off)
        .build()
        .expect("layer");
    let app = Router::new()
        .route("/welcome", get(|| async { "welcome" }))
        .layer(layer);
    let addr = common::client::serve(app);
    let landed = http_get(addr, &format!("/welcome?token={token}"), &[]);
    assert_eq!(landed.status, 302);
    assert!(signed_in(&landed));

    let no_landing = SessionLayer::builder(SessionCache::new(sessions))
        .build()
        .expect("layer");
    assert!(matches!(
        no_landing.landing_nonce(),
        Err(auth_runtime::LandingError::NoLandingRoute)
    ));
}
