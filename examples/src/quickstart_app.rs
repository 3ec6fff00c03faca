//! The quickstart app (`cargo run --example quickstart`): its routes behind the session layer,
//! the sign-in flows at `/auth`, and the developer shortcuts. The example's `main` serves it;
//! the tests start it on 127.0.0.1 the same way.

use std::error::Error;
use std::sync::Arc;

use crate::quickstart::AppSession;
use auth_runtime::axum::Session;
use auth_runtime::providers::{
    AuthHandler, CodeInvalid, CodeProvider, CodeRequest, FlowError, Link, LinkProvider, UserClaims,
};
use auth_runtime::revocation::{Revocable, Revocations};
use auth_runtime::store::{MemoryStore, Store};
use auth_runtime::{
    IssueOptions, SessionCache, SessionLayer, SessionVerifier, Sessions, SigningKey, use_authenticated,
};
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

/// Builds the app's sessions with embedded development defaults.
pub fn development_sessions() -> Result<Sessions<AppSession>, Box<dyn Error>> {
    sessions_with(SigningKey::generate_ed25519()?)
}

/// The app's sessions signed with an Ed25519 key from a PKCS#8 PEM file (`QUICKSTART_SIGNING_KEY`),
/// so several instances accept each other's sessions.
pub fn sessions_with_key(pem: &[u8]) -> Result<Sessions<AppSession>, Box<dyn Error>> {
    sessions_with(SigningKey::ed25519_pem(pem).map_err(|error| format!("QUICKSTART_SIGNING_KEY: {error}"))?)
}

fn sessions_with(key: SigningKey) -> Result<Sessions<AppSession>, Box<dyn Error>> {
    Ok(Sessions::builder()
        .signing_key(key)
        .issuer("http://localhost:3000")
        .audience("quickstart")
        .subject_from(|session| match session {
            AppSession::User { user_id } => Some(user_id.clone()),
            AppSession::Api(client) => Some(client.client_id.clone()),
        })
        .build()?)
}

/// A sign-in message the app would email: the quickstart prints it, the tests read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A magic link for `to`.
    Link {
        /// The address it is for.
        to: String,
        /// The link.
        url: String,
    },
    /// A one-time code for `to`.
    Code {
        /// The address it is for.
        to: String,
        /// The code.
        code: String,
    },
}

/// Where the app "sends" its sign-in messages.
pub type Outbox = Arc<dyn Fn(Message) + Send + Sync>;

/// The app: its routes behind the session layer, and the sign-in flows at `/auth` beside them.
///
/// `base_url` is the address people open (links and redirects are built from it, never from the
/// request's `Host` header). One in-memory store keeps the sign-in flows and the revoked sessions.
pub fn app(sessions: Sessions<AppSession>, base_url: &str, outbox: Outbox) -> Result<Router, Box<dyn Error>> {
    app_with_store(sessions, base_url, outbox, Arc::new(MemoryStore::new()))
}

/// The app on `store`: the sign-in flows' records, the revoked sessions and the cache's
/// invalidation events. A `RedisStore` shared by several instances makes them one app.
pub fn app_with_store(
    sessions: Sessions<AppSession>,
    base_url: &str,
    outbox: Outbox,
    store: Arc<dyn Store>,
) -> Result<Router, Box<dyn Error>> {
    let revocations = Revocations::new(Arc::clone(&store));
    let cache = SessionCache::builder(Revocable::new(sessions.clone(), revocations.clone()))
        .invalidations_from(Arc::clone(&store))
        .build();
    let layer = SessionLayer::builder(cache)
        .cookie(sessions.cookie_options().clone())
        .landing_route("/me")
        .build()?;
    let logout = move |State(sessions): State<Sessions<AppSession>>| logout(sessions, revocations);
    let landing = layer.clone();
    let login = move |State(sessions): State<Sessions<AppSession>>, Query(query): Query<Login>| {
        std::future::ready(login(&sessions, &landing, query))
    };
    let routes = Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/token", get(token))
        .route("/me", get(me))
        .route("/logout", get(logout_page).post(logout))
        .layer(layer)
        .with_state(sessions.clone());
    Ok(routes.merge(auth_handler(&sessions, base_url, outbox, store)?.router()))
}

/// The sign-in flows: a magic link and a one-time code, both ending in the session cookie.
fn auth_handler(
    sessions: &Sessions<AppSession>,
    base_url: &str,
    outbox: Outbox,
    store: Arc<dyn Store>,
) -> Result<AuthHandler, Box<dyn Error>> {
    let link_outbox = Arc::clone(&outbox);
    let links = LinkProvider::new(move |link: Link| {
        let outbox = Arc::clone(&link_outbox);
        async move {
            let to = email(&link.claims)?;
            outbox(Message::Link {
                to: to.clone(),
                url: link.url.to_string(),
            });
            Ok(page(
                StatusCode::OK,
                &format!(
                    "<p>We sent a sign-in link to <b>{}</b>. (The quickstart prints it in the terminal.)</p>",
                    escape(&to)
                ),
            ))
        }
    });
    let codes = CodeProvider::new(
        move |request: CodeRequest| {
            let outbox = Arc::clone(&outbox);
            async move {
                let to = email(&request.claims)?;
                outbox(Message::Code {
                    to: to.clone(),
                    code: request.code,
                });
                Ok(code_form(
                    StatusCode::OK,
                    &format!(
                        "We sent a code to <b>{}</b>. (The quickstart prints it in the terminal.)",
                        escape(&to)
                    ),
                ))
            }
        },
        |invalid: CodeInvalid| async move {
            let left = invalid.attempts_left;
            Ok(code_form(
                StatusCode::UNAUTHORIZED,
                &format!("Wrong code; {left} attempt(s) left."),
            ))
        },
    );
    let signed_in = |sessions: &Sessions<AppSession>| {
        let sessions = sessions.clone();
        move |claims: UserClaims| {
            let sessions = sessions.clone();
            async move {
                let user_id = email(&claims)?;
                Ok(sessions.cookie(&AppSession::User { user_id }, "/me")?)
            }
        }
    };
    Ok(AuthHandler::builder(sessions, base_url)
        .store(store)
        .provider("link", links, signed_in(sessions))
        .provider("code", codes, signed_in(sessions))
        .on_error(|provider, error| {
            // A server-side failure (the store unreachable, say) is for the logs, not the page.
            let reason = if error.status().is_server_error() {
                "try again in a moment".to_owned()
            } else {
                error.to_string()
            };
            let message = format!("<p>Sign-in with {provider} failed: {}.</p>", escape(&reason));
            page(error.status(), &message)
        })
        .build()?)
}

fn email(claims: &UserClaims) -> Result<String, FlowError> {
    claims
        .get("email")
        .filter(|email| email.contains('@') && email.len() <= 254)
        .map(str::to_owned)
        .ok_or(FlowError::NoClaims)
}

fn code_form(status: StatusCode, message: &str) -> Response {
    page(
        status,
        &format!(
            "<p>{message}</p><form method=\"post\" action=\"/auth/code/callback\">\
             <label>Code <input name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required></label> \
             <button>Sign in</button></form>"
        ),
    )
}

fn page(status: StatusCode, body: &str) -> Response {
    let html = format!(
        "<!doctype html><title>auth-runtime quickstart</title><h1>auth-runtime quickstart</h1>{body}<p><a href=\"/\">home</a></p>"
    );
    (status, Html(html)).into_response()
}

#[derive(Deserialize)]
struct Login {
    name: String,
    #[serde(default = "default_redirect")]
    redirect: String,
    /// `parameter` for the `?token=` flow; the cookie otherwise.
    #[serde(default)]
    via: String,
}

fn default_redirect() -> String {
    "/me".to_owned()
}

async fn home(session: Option<Session<AppSession>>) -> Html<String> {
    let status = match session {
        Some(Session(session)) => format!(
            "<p>Signed in as <code>{}</code>. <a href=\"/me\">/me</a></p>\
             <form method=\"post\" action=\"/logout\"><button>Log out</button></form>",
            escape(&serde_json::to_string(&session).unwrap_or_default())
        ),
        None => "<p>Not signed in.</p>".to_owned(),
    };
    Html(format!(
        "<!doctype html><title>auth-runtime quickstart</title><h1>auth-runtime quickstart</h1>{status}\
         <h2>Sign in with a link</h2><form method=\"post\" action=\"/auth/link/authorize\">\
         <label>Email <input name=\"email\" type=\"email\" required></label> <button>Send me a link</button></form>\
         <h2>Sign in with a code</h2><form method=\"post\" action=\"/auth/code/authorize\">\
         <label>Email <input name=\"email\" type=\"email\" required></label> <button>Send me a code</button></form>\
         <h2>Developer shortcuts</h2><p>No proof of identity: remove them in a real app.</p>\
         <form action=\"/login\"><label>Name <input name=\"name\" required></label> <button>Sign in</button></form>"
    ))
}

/// The developer shortcut: signs in as `name`, in the session cookie or (`via=parameter`) with
/// `?token=` to the landing route, bound to this browser by a fresh landing nonce so the landing
/// route lets it in without asking.
fn login<V: SessionVerifier>(sessions: &Sessions<AppSession>, layer: &SessionLayer<V>, login: Login) -> Response {
    let session = AppSession::User { user_id: login.name };
    if login.via != "parameter" {
        return sessions
            .cookie::<Body>(&session, &login.redirect)
            .unwrap_or_else(|error| (StatusCode::BAD_REQUEST, error.to_string()).into_response());
    }
    let nonce = match layer.landing_nonce() {
        Ok(nonce) => nonce,
        Err(error) => return (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    };
    let options = IssueOptions {
        nonce: Some(nonce.binding().to_owned()),
        ..IssueOptions::default()
    };
    match sessions.parameter_with::<Body>(&session, &login.redirect, &options) {
        Ok(mut response) => {
            response
                .headers_mut()
                .append(header::SET_COOKIE, nonce.set_cookie().clone());
            response
        }
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}

async fn token(State(sessions): State<Sessions<AppSession>>, Query(login): Query<Login>) -> Response {
    match sessions.create(&AppSession::User { user_id: login.name }) {
        Ok(token) => token.into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

/// The session comes from the hook, not from an argument: any code the handler calls can do the same.
async fn me() -> Response {
    let Some(authenticated) = use_authenticated::<AppSession>() else {
        let body = serde_json::json!({ "error": "no session" }).to_string();
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    };
    let body = serde_json::json!({
        "session": authenticated.session,
        "is_user": authenticated.session.is_user(),
        "subject": authenticated.subject,
        "expires_at": authenticated.expires_at,
    });
    ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// `GET /logout`: a button, not a logout. Logging out changes state, so it is a `POST`, which the
/// session layer only lets through from this site (a link or an image elsewhere cannot log
/// anyone out).
async fn logout_page() -> Response {
    page(
        StatusCode::OK,
        "<form method=\"post\" action=\"/logout\"><button>Log out</button></form>",
    )
}

/// `POST /logout`: revokes the session (a copy of the cookie stops working on every instance
/// sharing the store: their caches hear of it through the store's events) and clears the cookie.
async fn logout(sessions: Sessions<AppSession>, revocations: Revocations) -> Response {
    if let Some(current) = use_authenticated::<AppSession>() {
        let session_id = current.session_id.as_deref().unwrap_or_default();
        if let Err(error) = revocations.revoke(session_id, current.expires_at).await {
            let message = format!("Could not log out ({error}); please try again.");
            return (StatusCode::SERVICE_UNAVAILABLE, message).into_response();
        }
    }
    match sessions.logout::<Body>("/") {
        Ok(response) => response,
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
