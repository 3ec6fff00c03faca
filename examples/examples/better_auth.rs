//! A Rust service whose sessions live in better-auth: Connectum's session interceptor example,
//! one verifier and one closure.
//!
//! Run better-auth (the Node side, in-memory, email and password), then this service:
//!
//! ```sh
//! npm ci --prefix examples/better-auth && node examples/better-auth/server.mjs   # 127.0.0.1:3100
//! cargo run --example better_auth                                                # 127.0.0.1:3101
//! ```
//!
//! Sign up through better-auth's own API, then call this service with its cookie (cookies ignore
//! ports, so a browser would send it to both):
//!
//! ```sh
//! curl -c jar -H 'content-type: application/json' -H 'origin: http://127.0.0.1:3100' \
//!   -d '{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada"}' \
//!   http://127.0.0.1:3100/api/auth/sign-up/email
//! curl -b jar http://127.0.0.1:3101/me
//! ```
//!
//! `BETTER_AUTH_URL` and `BETTER_AUTH_EXAMPLE_ADDR` move either side.

use std::error::Error;
use std::time::Duration;

use auth_runtime::session_server::{BETTER_AUTH_COOKIE, SessionServer};
use auth_runtime::{CookieOptions, SessionCache, SessionLayer, SessionTypes, use_authenticated};
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;

/// What this service knows about a better-auth session.
#[derive(SessionTypes, Debug, Clone, PartialEq)]
enum AppSession {
    User { user_id: String, email: String },
}

/// `mapSession: (session) => ({ subject: session.user.id, ... })`: better-auth's
/// `{"session": {...}, "user": {...}}`, typed.
fn map_session(answer: &serde_json::Value) -> Result<AppSession, String> {
    let field = |pointer: &str| {
        answer
            .pointer(pointer)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or(format!("better-auth's answer has no {pointer}"))
    };
    Ok(AppSession::User {
        user_id: field("/user/id")?,
        email: field("/user/email")?,
    })
}

async fn me() -> impl IntoResponse {
    match use_authenticated::<AppSession>() {
        Some(authenticated) => {
            let AppSession::User { user_id, email } = &authenticated.session;
            let body =
                serde_json::json!({ "user_id": user_id, "email": email, "expires_at": authenticated.expires_at });
            (StatusCode::OK, body.to_string())
        }
        None => (
            StatusCode::UNAUTHORIZED,
            r#"{"error":"no better-auth session; sign up or in at better-auth first"}"#.to_owned(),
        ),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    auth_examples::exit_with("better_auth", run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    let better_auth = std::env::var("BETTER_AUTH_URL").unwrap_or_else(|_| "http://127.0.0.1:3100".to_owned());
    let addr = std::env::var("BETTER_AUTH_EXAMPLE_ADDR").unwrap_or_else(|_| "127.0.0.1:3101".to_owned());

    // verifySession: (token, headers) => auth.api.getSession({ headers }), and mapSession.
    let verifier = SessionServer::better_auth(&better_auth, map_session).build()?;
    // cache: { ttl: 60_000 }
    let cache = SessionCache::builder(verifier).ttl(Duration::from_secs(60)).build();
    let layer = SessionLayer::builder(cache)
        .cookie(CookieOptions::new().name(BETTER_AUTH_COOKIE))
        .build()?;
    let app = Router::new().route("/me", get(me)).layer(layer);

    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|error| format!("cannot listen on {addr}: {error}"))?;
    println!("better-auth example on http://{addr}/me, asking better-auth at {better_auth}");
    axum::serve(listener, app).await?;
    Ok(())
}
