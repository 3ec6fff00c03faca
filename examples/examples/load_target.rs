//! The app `cargo xtask load` measures (not for people: see the quickstart): `GET /me` answering
//! `ok`, bare or behind the session layer, on 127.0.0.1, printing `LISTENING <addr>`.
//!
//! `LOAD_MODE`: `bare` (no layer), `layer` (the layer and its cache over HS256 `Sessions`), or
//! `redis` (the layer over `Revocable` on a `RedisStore` at `LOAD_REDIS_URL`, with no cache, so
//! every request is a miss that asks Redis), or `postgres` (the same over a `PostgresStore` at
//! `LOAD_DATABASE_URL`). `LOAD_SECRET` is the HS256 secret (32 bytes or
//! more) the load generator signs its tokens with. `LOAD_PRINT_TOKEN` set: a valid token is printed
//! after the address (`TOKEN <token>`), for driving the target by hand.
//!
//! Run with: cargo xtask load

use std::error::Error;
use std::sync::Arc;

use auth_runtime::revocation::{Revocable, Revocations};
use auth_runtime::store::{PostgresStore, RedisStore, Store};
use auth_runtime::{SessionCache, SessionLayer, SessionTypes, Sessions, SigningKey};
use axum::Router;
use axum::routing::get;

/// The session the load generator signs (the same shape on both sides).
#[derive(SessionTypes, Debug, Clone, PartialEq)]
enum LoadSession {
    User { user_id: String },
}

fn sessions(secret: &[u8]) -> Result<Sessions<LoadSession>, Box<dyn Error>> {
    Ok(Sessions::builder()
        .signing_key(SigningKey::hs256(secret)?)
        .issuer("https://load.example")
        .audience("load")
        .subject_from(|session| match session {
            LoadSession::User { user_id } => Some(user_id.clone()),
        })
        .build()?)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    auth_examples::exit_with("load_target", run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    let mode = std::env::var("LOAD_MODE").unwrap_or_else(|_| "bare".to_owned());
    let secret = std::env::var("LOAD_SECRET").map_err(|_| "LOAD_SECRET is required")?;
    let sessions = sessions(secret.as_bytes())?;
    let sessions_for_print = sessions.clone();
    let routes = Router::new().route("/me", get(|| async { "ok" }));
    let app = match mode.as_str() {
        "bare" => routes,
        "layer" => routes.layer(SessionLayer::builder(SessionCache::new(sessions)).build()?),
        "redis" | "postgres" => {
            let store: Arc<dyn Store> = if mode == "redis" {
                let url = std::env::var("LOAD_REDIS_URL").map_err(|_| "LOAD_REDIS_URL is required")?;
                Arc::new(RedisStore::connect(url).await?)
            } else {
                let url = std::env::var("LOAD_DATABASE_URL").map_err(|_| "LOAD_DATABASE_URL is required")?;
                Arc::new(PostgresStore::connect(url).await?)
            };
            let verifier = Revocable::new(sessions, Revocations::new(store));
            let cache = SessionCache::builder(verifier).capacity(0).build();
            routes.layer(SessionLayer::builder(cache).build()?)
        }
        other => return Err(format!("unknown LOAD_MODE `{other}`").into()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("LISTENING {}", listener.local_addr()?);
    if std::env::var_os("LOAD_PRINT_TOKEN").is_some() {
        // For driving the target by hand (`wrk -H "Cookie: auth-token=<token>"`, `perf`).
        let token = sessions_for_print.create(&LoadSession::User {
            user_id: "user-0".into(),
        })?;
        println!("TOKEN {token}");
    }
    axum::serve(listener, app).await?;
    Ok(())
}
