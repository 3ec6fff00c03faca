//! The smaller edges of the second hardening round, each through a real server on 127.0.0.1
//! where one is involved: no shared cache keeps a response that sets a credential, pages the
//! application writes itself still get the protective headers, a sign-in step's `Debug` never
//! shows its query, and URLs with `user:password` are refused where the crate fetches.

use std::sync::Arc;

use auth_runtime::issuers::{JwksSource, RemoteJwks};
use auth_runtime::middleware::LandingConfirmation;
use auth_runtime::providers::{
    AuthHandler, FlowError, FlowRequest, FlowResponse, LinkConfirmation, LinkProvider, Provider, Step, UserClaims,
};
use auth_runtime::refresh::RefreshTokens;
use auth_runtime::session_server::{Forward, SessionServer};
use auth_runtime::store::MemoryStore;
use auth_runtime::{SessionCache, SessionLayer, Sessions};
use axum::body::Bytes;
use axum::routing::get;
use common::client::{get as http_get, post_form, serve};
use common::{AppSession, runtime, user};

use crate::common;

const PROTECTIVE: [(&str, &str); 5] = [
    ("cache-control", "no-store"),
    ("referrer-policy", "same-origin"),
    ("x-content-type-options", "nosniff"),
    ("content-security-policy", "frame-ancestors 'none'"),
    ("x-frame-options", "DENY"),
];

fn sessions() -> Sessions<AppSession> {
    common::builder(common::hs256_key())
        .subject_from(|session| match session {
            AppSession::User { user_id } => Some(user_id.clone()),
            _ => None,
        })
        .build()
        .expect("sessions")
}

/// A handler that asks every cache to keep its answer: when the layer sets a cookie on that
/// answer (a refreshed pair, or the deletion of a refused cookie), no cache may keep it.
#[test]
fn a_response_that_sets_a_credential_is_never_cacheable() {
    let sessions = sessions();
    let tokens = RefreshTokens::builder(sessions.clone(), Arc::new(MemoryStore::new()))
        .build()
        .expect("refresh tokens");
    let layer = SessionLayer::builder(SessionCache::new(sessions.clone()))
        .refresh_tokens(tokens.clone())
        .build()
        .expect("layer");
    let cached = || async { ([(http::header::CACHE_CONTROL, "public, max-age=600")], "a page") };
    let addr = serve(axum::Router::new().route("/", get(cached)).layer(layer));
    let pair = runtime().block_on(tokens.issue(&user("ada"))).expect("a pair");

    let plain = http_get(addr, "/", &[]);
    assert_eq!(
        plain.header("cache-control"),
        Some("public, max-age=600"),
        "nothing set: the handler's"
    );

    let refreshed = http_get(
        addr,
        "/",
        &[("Cookie", &format!("auth-token-refresh={}", pair.refresh_token))],
    );
    assert_eq!(refreshed.set_cookies().len(), 2, "a new pair");
    assert_eq!(refreshed.header("cache-control"), Some("private, no-store"));

    let stale = http_get(
        addr,
        "/",
        &[("Cookie", "auth-token=not.a.token"), ("Accept", "text/html")],
    );
    assert_eq!(stale.cookie("auth-token"), Some(""), "the refused cookie is cleared");
    assert_eq!(stale.header("cache-control"), Some("private, no-store"));
}

/// The application's own landing page and link page leave the protective headers out; they are
/// added. A header the page set itself is kept.
#[test]
fn pages_the_application_writes_get_the_protective_headers() {
    let sessions = sessions();
    let layer = SessionLayer::builder(SessionCache::new(sessions.clone()))
        .landing_route("/welcome")
        .landing_page(|_: &LandingConfirmation<'_, AppSession>| {
            let mut page = http::Response::new(Bytes::from_static(b"<form method=post><button>Go</button></form>"));
            page.headers_mut().insert(
                http::header::CONTENT_SECURITY_POLICY,
                "default-src 'self'".parse().expect("value"),
            );
            page
        })
        .build()
        .expect("layer");
    let addr = serve(
        axum::Router::new()
            .route("/welcome", get(|| async { "in" }))
            .layer(layer),
    );
    let token = sessions.create(&user("ada")).expect("token");
    let landing = http_get(addr, &format!("/welcome?token={token}"), &[("Accept", "text/html")]);
    assert_eq!(landing.status, 200, "{}", landing.body);
    for (name, value) in PROTECTIVE {
        let expected = if name == "content-security-policy" {
            "default-src 'self'"
        } else {
            value
        };
        assert_eq!(landing.header(name), Some(expected), "{name}");
    }

    let captured: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let on_link = Arc::clone(&captured);
    let links_that_tell = LinkProvider::new(move |link| {
        *on_link.lock().unwrap() = Some(link.url.to_string());
        async { Ok::<FlowResponse, FlowError>(FlowResponse::default()) }
    })
    .confirm_page(|_: &LinkConfirmation| FlowResponse::new("<form method=post><button>Sign in</button></form>".into()));
    let auth = AuthHandler::builder(sessions.clone(), "http://localhost:3000")
        .client_address(auth_runtime::ClientAddress::Unlimited)
        .provider("link", links_that_tell, |_: UserClaims| async {
            Ok(FlowResponse::default())
        })
        .build()
        .expect("handler");
    let addr = serve(auth.router());
    assert_eq!(
        post_form(addr, "/auth/link/authorize", &[], &[("email", "ada@example.com")]).status,
        200
    );
    let link = captured.lock().unwrap().clone().expect("a link");
    let page = http_get(addr, &common::client::path_of(&link), &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    for (name, value) in PROTECTIVE {
        assert_eq!(page.header(name), Some(value), "{name}");
    }
}

/// A provider that answers with its request's `Debug`: what a `dbg!` or a log line would show.
struct Tells;

impl Provider for Tells {
    type Claims = UserClaims;

    fn identity_source(&self) -> auth_runtime::providers::IdentitySource {
        auth_runtime::providers::IdentitySource::Provider
    }

    async fn authorize(&self, request: &FlowRequest) -> Result<FlowResponse, FlowError> {
        Ok(FlowResponse::new(format!("{request:?}").into()))
    }

    async fn callback(&self, request: &FlowRequest) -> Result<Step<UserClaims>, FlowError> {
        Ok(Step::Respond(FlowResponse::new(format!("{request:?}").into())))
    }
}

/// A callback's query can hold a link's token or an identity provider's code: a step's `Debug`
/// shows the path only.
#[test]
fn a_sign_in_steps_debug_never_shows_its_query() {
    let auth = AuthHandler::builder(sessions().clone(), "http://localhost:3000")
        .client_address(auth_runtime::ClientAddress::Unlimited)
        .provider("tells", Tells, |_: UserClaims| async { Ok(FlowResponse::default()) })
        .build()
        .expect("handler");
    let addr = serve(auth.router());
    let shown = http_get(addr, "/auth/tells/callback?code=SECRET-CODE&state=SECRET-STATE", &[]).body;
    assert!(shown.contains("/auth/tells/callback"), "{shown}");
    assert!(!shown.contains("SECRET"), "{shown}");
}

/// A `user:password@` in a URL the crate fetches would be sent along and land in error messages
/// and logs: refused at build, and not repeated in the error.
#[test]
fn urls_with_credentials_are_refused_where_the_crate_fetches() {
    let jwks = RemoteJwks::builder(JwksSource::Url(
        "https://user:hunter2@keys.example.com/jwks.json".into(),
    ))
    .build();
    let Err(error) = jwks else {
        panic!("a key set URL with a password was accepted");
    };
    assert!(error.to_string().contains("user:password"), "{error}");
    assert!(!error.to_string().contains("hunter2"), "{error}");
    let issuer = RemoteJwks::builder(JwksSource::Issuer("https://ada@issuer.example.com".into())).build();
    assert!(issuer.is_err());

    let server = SessionServer::<AppSession>::builder(
        "https://user:hunter2@sessions.example.com/api/session",
        Forward::Bearer,
        |_| Err("unused".into()),
    )
    .build();
    let Err(error) = server else {
        panic!("a session endpoint with a password was accepted");
    };
    assert!(!error.to_string().contains("hunter2"), "{error}");
}
