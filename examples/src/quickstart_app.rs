//! The quickstart app (`cargo run --example quickstart`): its routes behind the session layer,
//! the sign-in flows at `/auth`, and the developer shortcuts. The example's `main` serves it;
//! the tests start it on 127.0.0.1 the same way.

use std::error::Error;
use std::sync::Arc;

use crate::quickstart::AppSession;
use crate::quickstart_flows::auth_handler;
use auth_runtime::axum::Session;
use auth_runtime::password::{MemoryPasswordStore, PasswordStore};
use auth_runtime::providers::password::PasswordMail;
use auth_runtime::revocation::{Revocable, Revocations};
use auth_runtime::store::{MemoryStore, Store};
use auth_runtime::{
    IssueOptions, SessionCache, SessionLayer, SessionVerifier, Sessions, SigningKey, use_authenticated,
};
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

/// Builds the app's sessions with embedded development defaults.
pub fn development_sessions() -> Result<Sessions<AppSession>, Box<dyn Error>> {
    sessions_with(SigningKey::generate_ed25519()?)
}

/// The record under which the quickstart keeps its development key in its store.
pub const DEVELOPMENT_KEY_RECORD: &str = "quickstart:development-key";

/// The development signing key kept in `store` (an Ed25519 PKCS#8 PEM): made and saved by the
/// first start, read back by every later one (and by every instance sharing the store), so
/// sessions survive a restart. A key for development only: anyone who can read the store can
/// sign sessions.
pub async fn development_key(store: &dyn Store) -> Result<Vec<u8>, Box<dyn Error>> {
    /// PKCS#8 v1 for Ed25519 (RFC 8410): this header, then the 32-byte seed.
    const PKCS8_ED25519: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ];
    /// Ten years: the development key outlives any session it signs.
    const KEPT: std::time::Duration = std::time::Duration::from_secs(10 * 365 * 24 * 60 * 60);
    use base64::Engine as _;
    let mut der = PKCS8_ED25519.to_vec();
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|error| format!("no randomness for a key: {error}"))?;
    der.extend_from_slice(&seed);
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(&der)
    );
    // The first instance to save one wins; everyone reads the one saved.
    store.put_new(DEVELOPMENT_KEY_RECORD, pem.into_bytes(), KEPT).await?;
    Ok(store
        .get(DEVELOPMENT_KEY_RECORD)
        .await?
        .ok_or("the development key was not kept by the store")?)
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
    /// An email of the password provider (a code to verify an address or reset a password, or
    /// a notice to the owner of an address).
    Password(PasswordMail),
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
/// invalidation events. A `RedisStore` shared by several instances makes them one app. Password
/// accounts are kept in memory ([`app_with_stores`] keeps them elsewhere).
pub fn app_with_store(
    sessions: Sessions<AppSession>,
    base_url: &str,
    outbox: Outbox,
    store: Arc<dyn Store>,
) -> Result<Router, Box<dyn Error>> {
    app_with_stores(sessions, base_url, outbox, store, Arc::new(MemoryPasswordStore::new()))
}

/// The app on `store`, with the password accounts in `credentials` (the SQL stores keep them in
/// a table beside their records, so they survive a restart).
pub fn app_with_stores(
    sessions: Sessions<AppSession>,
    base_url: &str,
    outbox: Outbox,
    store: Arc<dyn Store>,
    credentials: Arc<dyn PasswordStore>,
) -> Result<Router, Box<dyn Error>> {
    let revocations = Revocations::new(Arc::clone(&store));
    let cache = SessionCache::builder(Revocable::new(sessions.clone(), revocations.clone()))
        .invalidations_from(Arc::clone(&store))
        .build();
    let layer = SessionLayer::builder(cache).landing_route("/me").build()?;
    let revocations_for_flows = revocations.clone();
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
    let auth = auth_handler(&sessions, base_url, outbox, store, credentials, revocations_for_flows)?;
    Ok(routes.merge(auth.router()))
}

/// The quickstart's look: one small inline style sheet, no external assets.
const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;\
color:#1d2430}h1{font-size:1.5rem;margin:0 0 1rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}\
label{display:block;font-weight:600;margin:.75rem 0 .25rem}input{font:inherit;padding:.4rem .5rem;\
width:100%;box-sizing:border-box;border:1px solid #9aa3b0;border-radius:4px}\
button{font:inherit;margin:.75rem .5rem 0 0;padding:.4rem .9rem;border:1px solid #1f5fbf;border-radius:4px;\
background:#1f5fbf;color:#fff;cursor:pointer}button.secondary{background:#fff;color:#1f5fbf}\
.status{padding:.6rem .8rem;border-radius:4px;background:#eef3fb}.hint{color:#5a6472;font-size:.9rem}\
.error{padding:.6rem .8rem;border-radius:4px;background:#fdecec;color:#8a1c1c}\
pre{background:#f4f5f7;padding:.6rem .8rem;border-radius:4px;overflow-x:auto}\
section{border-top:1px solid #dde1e6;margin-top:1.5rem}";

/// A page that says what went wrong and leads back home.
fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<h1>Something went wrong</h1><p class=\"error\" role=\"alert\">{}</p><p><a href=\"/\">Home</a></p>",
        escape(message)
    );
    page(status, "Something went wrong", &body)
}

/// A whole page: `title` in the tab, `body` as the content.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title} · auth-runtime quickstart</title>\
         <style>{STYLE}</style><main>{body}</main></html>"
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

async fn home(session: Option<Session<AppSession>>) -> Response {
    let status = match session {
        Some(Session(session)) => format!(
            "<p class=\"status\">You are signed in as <b>{}</b>.</p>\
             <p><a href=\"/me\">See your session</a></p>\
             <form method=\"post\" action=\"/logout\"><button>Log out</button></form>",
            escape(&who(&session))
        ),
        None => "<p class=\"status\">You are not signed in.</p>\
                 <section><h2>Sign in</h2><form method=\"post\" action=\"/auth/link/authorize\">\
                 <label for=\"email\">Email</label>\
                 <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required>\
                 <button>Email me a sign-in link</button>\
                 <button class=\"secondary\" formaction=\"/auth/code/authorize\">Email me a code instead</button>\
                 <button class=\"secondary\" formaction=\"/auth/password/authorize\">Sign in with a password</button>\
                 </form><p class=\"hint\">This quickstart sends no email: the link, the code or the password \
                 provider's code is printed in the terminal where it runs.</p></section>\
                 <section><h2>Developer shortcut</h2><form action=\"/login\">\
                 <label for=\"name\">Name</label><input id=\"name\" name=\"name\" autocomplete=\"off\" required>\
                 <button>Sign in without proof</button></form>\
                 <p class=\"hint\">Signs in as any name with no proof of identity: remove it in a real app.</p>\
                 </section>"
            .to_owned(),
    };
    page(
        StatusCode::OK,
        "Home",
        &format!("<h1>auth-runtime quickstart</h1>{status}"),
    )
}

/// Who a session is, in words.
fn who(session: &AppSession) -> String {
    match session {
        AppSession::User { user_id } => user_id.clone(),
        AppSession::Api(client) => format!("the API client {}", client.client_id),
    }
}

/// The developer shortcut: signs in as `name`, in the session cookie or (`via=parameter`) with
/// `?token=` to the landing route, bound to this browser by a fresh landing nonce so the landing
/// route lets it in without asking.
fn login<V: SessionVerifier>(sessions: &Sessions<AppSession>, layer: &SessionLayer<V>, login: Login) -> Response {
    let session = AppSession::User { user_id: login.name };
    if login.via != "parameter" {
        return sessions
            .cookie::<Body>(&session, &login.redirect)
            .unwrap_or_else(|error| error_page(StatusCode::BAD_REQUEST, &error.to_string()));
    }
    let nonce = match layer.landing_nonce() {
        Ok(nonce) => nonce,
        Err(error) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
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
        Err(error) => error_page(StatusCode::BAD_REQUEST, &error.to_string()),
    }
}

async fn token(State(sessions): State<Sessions<AppSession>>, Query(login): Query<Login>) -> Response {
    match sessions.create(&AppSession::User { user_id: login.name }) {
        Ok(token) => token.into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

/// The session comes from the hook, not from an argument: any code the handler calls can do the
/// same. A browser (`Accept: text/html`) gets a page; anything else the session as JSON.
async fn me(headers: HeaderMap) -> Response {
    let html = wants_html(&headers);
    let Some(authenticated) = use_authenticated::<AppSession>() else {
        if html {
            return page(
                StatusCode::UNAUTHORIZED,
                "Not signed in",
                "<h1>Your session</h1><p class=\"status\">You are not signed in.</p>\
                 <p><a href=\"/\">Sign in on the home page</a></p>",
            );
        }
        let body = serde_json::json!({ "error": "no session" }).to_string();
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    };
    if html {
        let typed = serde_json::to_string_pretty(&authenticated.session).unwrap_or_default();
        let body = format!(
            "<h1>Your session</h1><p class=\"status\">You are signed in as <b>{who}</b>.</p>\
             {left}\
             <h2>What your handlers receive</h2><p>The typed session, as it travels in the token:</p>\
             <pre>{typed}</pre>\
             <form method=\"post\" action=\"/logout\"><button>Log out</button></form>\
             {change}<p><a href=\"/\">Home</a></p>",
            change = change_password_form(&authenticated.session),
            who = escape(&who(&authenticated.session)),
            left = authenticated.expires_at.map_or_else(String::new, |expires_at| format!(
                "<p>It ends in {} unless you log out first.</p>",
                time_left(expires_at)
            )),
            typed = escape(&typed),
        );
        return page(StatusCode::OK, "Your session", &body);
    }
    let body = serde_json::json!({
        "session": authenticated.session,
        "is_user": authenticated.session.is_user(),
        "subject": authenticated.subject,
        "expires_at": authenticated.expires_at,
    });
    ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// For a person: a button to the password provider's page that changes their password.
fn change_password_form(session: &AppSession) -> String {
    match session {
        AppSession::User { user_id } => format!(
            "<form method=\"post\" action=\"/auth/password/authorize\">\
             <input type=\"hidden\" name=\"action\" value=\"change\">\
             <input type=\"hidden\" name=\"email\" value=\"{}\">\
             <button class=\"secondary\">Change your password</button></form>",
            escape(user_id)
        ),
        AppSession::Api(_) => String::new(),
    }
}

/// Whether the request is a browser's page load: its `Accept` names HTML.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|accept| accept.contains("text/html"))
}

/// "29 days", "3 hours", "12 minutes": how long until `expires_at` (Unix seconds).
fn time_left(expires_at: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let left = expires_at.saturating_sub(now);
    let (amount, unit) = match left {
        0..=119 => (left, "second"),
        120..=7199 => (left / 60, "minute"),
        7200..=172_799 => (left / 3600, "hour"),
        _ => (left / 86_400, "day"),
    };
    let plural = if amount == 1 { "" } else { "s" };
    format!("{amount} {unit}{plural}")
}

/// `GET /logout`: a button, not a logout. Logging out changes state, so it is a `POST`, which the
/// session layer only lets through from this site (a link or an image elsewhere cannot log
/// anyone out).
async fn logout_page() -> Response {
    page(
        StatusCode::OK,
        "Log out",
        "<h1>Log out?</h1><form method=\"post\" action=\"/logout\"><button>Log out</button></form>\
         <p><a href=\"/\">Home</a></p>",
    )
}

/// `POST /logout`: revokes the session (a copy of the cookie stops working on every instance
/// sharing the store: their caches hear of it through the store's events) and clears the cookie.
///
/// Only a request that carried the session logs out. Behind the session layer that request is
/// from this site (the layer refuses a cross-site one with the cookie); a form on another site
/// reaches this handler without the `SameSite=Lax` cookie, and clearing the cookie then would let
/// that site sign anyone out. It is sent home instead, still signed in.
async fn logout(sessions: Sessions<AppSession>, revocations: Revocations) -> Response {
    let Some(current) = use_authenticated::<AppSession>() else {
        return Redirect::to("/").into_response();
    };
    let session_id = current.session_id.as_deref().unwrap_or_default();
    if let Err(error) = revocations.revoke(session_id, current.expires_at).await {
        let message = format!(
            "<h1>Could not log out</h1><p class=\"error\" role=\"alert\">{}. Please try again.</p>\
             <form method=\"post\" action=\"/logout\"><button>Log out</button></form>",
            escape(&error.to_string())
        );
        return page(StatusCode::SERVICE_UNAVAILABLE, "Could not log out", &message);
    }
    sessions
        .logout::<Body>("/")
        .unwrap_or_else(|error| error_page(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()))
}

/// `text` safe inside HTML text and double-quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
