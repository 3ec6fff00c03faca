//! The peers `cargo xtask load --peers` drives (not for people): `GET /me` answering `ok` on
//! 127.0.0.1, printing `LISTENING <addr>` once it serves, like `load_target`.
//!
//! `PEER_MODE`:
//! - `bare-axum07`: no check, on axum 0.7 (the framework jwt-authorizer's route runs on);
//! - `jwt-authorizer`: jwt-authorizer's layer on axum 0.7, reading the HS256 token (`LOAD_SECRET`,
//!   issuer `https://load.example`, audience `load`) from the `auth-token` cookie, the handler
//!   taking its claims;
//! - `jwt-authorizer-jwks`: the same with the keys from the JWKS at `PEER_JWKS_URL` (fetched once
//!   and kept by jwt-authorizer's key store), issuer `PEER_ISSUER`, audience `web`;
//! - `tower-sessions`: tower-sessions' session in Redis (`PEER_REDIS_URL`, through
//!   tower-sessions-redis-store and fred) with axum-login's user on axum 0.8. Before it listens,
//!   it signs `PEER_SESSIONS` users in through its own `/login/{id}` route and writes their
//!   `Cookie` header values, one per line, to `PEER_COOKIES`.

use std::collections::HashMap;
use std::error::Error;
use std::sync::Arc;

use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, UserId};
use serde::Deserialize;
use tower::ServiceExt;
use tower_sessions::SessionManagerLayer;
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::{ClientLike, Config, Pool};

type BoxError = Box<dyn Error + Send + Sync>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("load-peers: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn var(name: &str) -> Result<String, BoxError> {
    std::env::var(name).map_err(|_| format!("{name} is required").into())
}

async fn run() -> Result<(), BoxError> {
    let mode = var("PEER_MODE")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    match mode.as_str() {
        "bare-axum07" => {
            let app = axum07::Router::new().route("/me", axum07::routing::get(|| async { "ok" }));
            println!("LISTENING {addr}");
            axum07::serve(listener, app).await?;
        }
        "jwt-authorizer" | "jwt-authorizer-jwks" => {
            let app = if mode == "jwt-authorizer" {
                let validation = jwt_authorizer::Validation::new()
                    .iss(&["https://load.example"])
                    .aud(&["load"]);
                jwt_authorizer_app(
                    jwt_authorizer::JwtAuthorizer::from_secret(&var("LOAD_SECRET")?),
                    validation,
                )
                .await?
            } else {
                let validation = jwt_authorizer::Validation::new()
                    .iss(&[var("PEER_ISSUER")?])
                    .aud(&["web"]);
                jwt_authorizer_app(
                    jwt_authorizer::JwtAuthorizer::from_jwks_url(&var("PEER_JWKS_URL")?),
                    validation,
                )
                .await?
            };
            println!("LISTENING {addr}");
            axum07::serve(listener, app).await?;
        }
        "tower-sessions" => {
            let app = tower_sessions_app(&var("PEER_REDIS_URL")?).await?;
            let count: usize = var("PEER_SESSIONS")?.parse()?;
            let mut cookies = Vec::with_capacity(count);
            for user in 0..count {
                cookies.push(sign_in(&app, user).await?);
            }
            std::fs::write(var("PEER_COOKIES")?, cookies.join("\n"))?;
            println!("LISTENING {addr}");
            axum::serve(listener, app).await?;
        }
        other => return Err(format!("unknown PEER_MODE `{other}`").into()),
    }
    Ok(())
}

/// The registered claims jwt-authorizer checks, and the one the handler reads.
#[derive(Debug, Clone, Deserialize)]
struct Claims {
    sub: String,
}

/// A route behind jwt-authorizer's layer, built by `builder`, reading the `auth-token` cookie.
async fn jwt_authorizer_app(
    builder: jwt_authorizer::AuthorizerBuilder<Claims>,
    validation: jwt_authorizer::Validation,
) -> Result<axum07::Router, BoxError> {
    use jwt_authorizer::layer::JwtSource;
    use jwt_authorizer::{IntoLayer, JwtClaims};
    let authorizer = builder
        .validation(validation)
        .jwt_source(JwtSource::Cookie("auth-token".to_owned()))
        .build()
        .await?;
    Ok(axum07::Router::new()
        .route(
            "/me",
            axum07::routing::get(|JwtClaims(claims): JwtClaims<Claims>| async move {
                if claims.sub.is_empty() { "no subject" } else { "ok" }
            }),
        )
        .layer(authorizer.into_layer()))
}

/// A signed-in user, as axum-login keeps it.
#[derive(Debug, Clone)]
struct User {
    id: u64,
    /// What axum-login compares on every request to tell that the session is still the user's
    /// (a password hash, in an app).
    auth_hash: Vec<u8>,
}

impl AuthUser for User {
    type Id = u64;

    fn id(&self) -> u64 {
        self.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.auth_hash
    }
}

/// The users, in memory: the peer's cost is the session's, not a user database's.
#[derive(Debug, Clone)]
struct Users(Arc<HashMap<u64, User>>);

#[derive(Debug)]
struct NoSuchUser;

impl std::fmt::Display for NoSuchUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no such user")
    }
}

impl Error for NoSuchUser {}

impl AuthnBackend for Users {
    type User = User;
    type Credentials = u64;
    type Error = NoSuchUser;

    async fn authenticate(&self, id: u64) -> Result<Option<User>, NoSuchUser> {
        Ok(self.0.get(&id).cloned())
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, NoSuchUser> {
        Ok(self.0.get(id).cloned())
    }
}

async fn tower_sessions_app(redis_url: &str) -> Result<axum::Router, BoxError> {
    use axum::extract::Path;
    use axum::http::StatusCode;
    let pool = Pool::new(Config::from_url(redis_url)?, None, None, None, 2)?;
    // fred's connection task; it runs as long as the process.
    let _connection = pool.connect();
    pool.wait_for_connect().await?;
    let sessions = SessionManagerLayer::new(RedisStore::new(pool)).with_secure(false);
    let users = (0..100_000)
        .map(|id| {
            let auth_hash = format!("user-{id}-password-hash").into_bytes();
            (id, User { id, auth_hash })
        })
        .collect();
    let auth = AuthManagerLayerBuilder::new(Users(Arc::new(users)), sessions).build();
    Ok(axum::Router::new()
        .route(
            "/me",
            axum::routing::get(|session: AuthSession<Users>| async move {
                match session.user {
                    Some(_) => (StatusCode::OK, "ok"),
                    None => (StatusCode::UNAUTHORIZED, "unauthorized"),
                }
            }),
        )
        .route(
            "/login/{id}",
            axum::routing::post(|mut session: AuthSession<Users>, Path(id): Path<u64>| async move {
                match session.authenticate(id).await {
                    Ok(Some(user)) if session.login(&user).await.is_ok() => StatusCode::NO_CONTENT,
                    _ => StatusCode::UNAUTHORIZED,
                }
            }),
        )
        .layer(auth))
}

/// Signs `user` in through the app's own route; the session cookie it set, as a `Cookie` value.
async fn sign_in(app: &axum::Router, user: usize) -> Result<String, BoxError> {
    let request = axum::http::Request::post(format!("/login/{user}")).body(axum::body::Body::empty())?;
    let response = app.clone().oneshot(request).await?;
    let cookie = response
        .headers()
        .get(axum::http::header::SET_COOKIE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .ok_or_else(|| format!("signing user {user} in set no cookie ({})", response.status()))?;
    Ok(cookie.to_owned())
}
