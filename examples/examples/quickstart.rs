//! The quickstart: a small web app that signs people in with a typed session cookie.
//!
//! Run with: cargo run --example quickstart
//!
//! Then open the printed URL. `/login?name=alice` issues the `auth-token` cookie for a typed
//! `AppSession::User` and redirects to `/me`; `/login?name=alice&via=parameter` sends the token
//! in `?token=` instead, to `/me`, the landing route, where the session layer moves it into the
//! cookie. Every request passes the session layer, and `/me` reads the session with the
//! `use_session()` hook (401 with the reason when there is none or it is invalid).
//! `/token?name=alice` returns a bare token for `curl -H "Authorization: Bearer <token>" .../me`,
//! and `/logout` clears the cookie.
//!
//! Everything is embedded: a development Ed25519 key is generated at start, so sessions do not
//! survive a restart. Set `QUICKSTART_ADDR` to listen elsewhere than 127.0.0.1:3000.

use std::error::Error;

use auth_runtime::axum::Session;
use auth_runtime::{SessionCache, SessionLayer, SessionTypes, Sessions, SigningKey, use_authenticated};
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

/// The sessions this app knows.
#[derive(SessionTypes, Debug, Clone, PartialEq)]
pub enum AppSession {
    /// A signed-in person.
    User {
        /// Their user id.
        #[session(rename = "userID")]
        user_id: String,
    },
    /// A machine client with scoped access.
    Api(ApiClient),
}

/// The properties of an API client session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApiClient {
    /// The client's id.
    pub client_id: String,
    /// What it may do.
    pub scopes: Vec<String>,
}

/// Builds the app's sessions with embedded development defaults.
pub fn development_sessions() -> Result<Sessions<AppSession>, Box<dyn Error>> {
    Ok(Sessions::builder()
        .signing_key(SigningKey::generate_ed25519()?)
        .issuer("http://localhost:3000")
        .audience("quickstart")
        .subject_from(|session| match session {
            AppSession::User { user_id } => Some(user_id.clone()),
            AppSession::Api(client) => Some(client.client_id.clone()),
        })
        .build()?)
}

/// The app's routes, behind the session layer.
pub fn app(sessions: Sessions<AppSession>) -> Result<Router, Box<dyn Error>> {
    let layer = SessionLayer::builder(SessionCache::new(sessions.clone()))
        .cookie(sessions.cookie_options().clone())
        .landing_route("/me")
        .build()?;
    Ok(Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/token", get(token))
        .route("/me", get(me))
        .route("/logout", get(logout))
        .layer(layer)
        .with_state(sessions))
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
            "<p>Signed in as <code>{}</code>. <a href=\"/me\">/me</a> · <a href=\"/logout\">log out</a></p>",
            escape(&serde_json::to_string(&session).unwrap_or_default())
        ),
        None => "<p>Not signed in.</p>".to_owned(),
    };
    Html(format!(
        "<!doctype html><title>auth-runtime quickstart</title><h1>auth-runtime quickstart</h1>{status}\
         <form action=\"/login\"><label>Name <input name=\"name\" required></label> <button>Sign in</button></form>"
    ))
}

async fn login(State(sessions): State<Sessions<AppSession>>, Query(login): Query<Login>) -> Response {
    let session = AppSession::User { user_id: login.name };
    let response = if login.via == "parameter" {
        sessions.parameter::<Body>(&session, &login.redirect)
    } else {
        sessions.cookie::<Body>(&session, &login.redirect)
    };
    match response {
        Ok(response) => response,
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

async fn logout(State(sessions): State<Sessions<AppSession>>) -> Response {
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

#[allow(
    dead_code,
    reason = "the quickstart test includes this file as a module and starts the app itself"
)]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let addr = std::env::var("QUICKSTART_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|error| format!("cannot listen on {addr}: {error}"))?;
    let port = listener.local_addr()?.port();
    println!("quickstart listening on http://localhost:{port}/  (Ctrl-C to stop)");
    axum::serve(listener, app(development_sessions()?)?).await?;
    Ok(())
}
