//! The app `cargo xtask load` measures (not for people: see the quickstart): `GET /me` answering
//! `ok`, bare or behind the session layer, on 127.0.0.1, printing `LISTENING <addr>`.
//!
//! `LOAD_MODE`:
//! - `bare` (no layer);
//! - `layer` (the layer and its cache over HS256 `Sessions`), `layer-uncached` (no cache: every
//!   request verifies the signature);
//! - `redis` (the layer over `Revocable` on a `RedisStore` at `LOAD_REDIS_URL`, with no cache, so
//!   every request is a miss that asks Redis), `redis-cached` (the same with the cache, which
//!   hears revocations from the store), `postgres` (`redis` over a `PostgresStore` at
//!   `LOAD_DATABASE_URL`);
//! - `opaque-redis` and `opaque-memory`: opaque session ids (the cookie holds a random id, the
//!   session is a record `session:<id>` in a `RedisStore` at `LOAD_REDIS_URL` or a `MemoryStore`)
//!   behind a `SessionVerifier` of a few lines, uncached: one store read per request. The ids are
//!   the lines of the file `LOAD_OPAQUE_IDS`, each saved for user `user-<line number>` before
//!   the target listens;
//! - `openauth` and `openauth-uncached`: OpenAuth access tokens (EdDSA, signed by the private key
//!   in the PEM file `LOAD_ED25519_PEM`, issuer `LOAD_ISSUER`, audience `web`), with and without
//!   the cache.
//!
//! `LOAD_SECRET` is the HS256 secret (32 bytes or more) the load generator signs its tokens with.
//! `LOAD_PRINT_TOKEN` set: a valid token is printed after the address (`TOKEN <token>`), for
//! driving the target by hand.
//!
//! Run with: cargo xtask load

use std::error::Error;
use std::sync::Arc;

use auth_runtime::revocation::{Revocable, Revocations};
use std::time::Duration;

use auth_runtime::store::{MemoryStore, PostgresStore, RedisStore, Store};
use auth_runtime::{
    Authenticated, SessionCache, SessionLayer, SessionTypes, SessionVerifier, Sessions, SigningKey, VerifierError,
};
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
        "layer-uncached" => routes.layer(SessionLayer::builder(uncached(sessions)).build()?),
        "redis" | "redis-cached" | "postgres" => {
            let store: Arc<dyn Store> = if mode == "postgres" {
                let url = std::env::var("LOAD_DATABASE_URL").map_err(|_| "LOAD_DATABASE_URL is required")?;
                Arc::new(PostgresStore::connect(url).await?)
            } else {
                Arc::new(RedisStore::connect(redis_url()?).await?)
            };
            let verifier = Revocable::new(sessions, Revocations::new(Arc::clone(&store)));
            let cache = if mode == "redis-cached" {
                SessionCache::builder(verifier).invalidations_from(store).build()
            } else {
                uncached(verifier)
            };
            routes.layer(SessionLayer::builder(cache).build()?)
        }
        "opaque-redis" | "opaque-memory" => {
            let store: Arc<dyn Store> = if mode == "opaque-redis" {
                Arc::new(RedisStore::connect(redis_url()?).await?)
            } else {
                Arc::new(MemoryStore::with_capacity(1_000_000))
            };
            let ids = std::env::var("LOAD_OPAQUE_IDS").map_err(|_| "LOAD_OPAQUE_IDS is required")?;
            for (n, id) in std::fs::read_to_string(ids)?.lines().enumerate() {
                let user = format!("user-{n}").into_bytes();
                store
                    .put(&format!("session:{id}"), user, Duration::from_secs(3600))
                    .await?;
            }
            routes.layer(SessionLayer::builder(uncached(OpaqueIds(store))).build()?)
        }
        "openauth" | "openauth-uncached" => {
            let pem = std::env::var("LOAD_ED25519_PEM").map_err(|_| "LOAD_ED25519_PEM is required")?;
            let issuer = std::env::var("LOAD_ISSUER").map_err(|_| "LOAD_ISSUER is required")?;
            let sessions: Sessions<LoadSession> = Sessions::builder()
                .signing_key(SigningKey::ed25519_pem(&std::fs::read(pem)?)?)
                .issuer(issuer)
                .audience("web")
                .build()?;
            if mode == "openauth" {
                routes.layer(SessionLayer::builder(SessionCache::new(sessions)).build()?)
            } else {
                routes.layer(SessionLayer::builder(uncached(sessions)).build()?)
            }
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

fn redis_url() -> Result<String, Box<dyn Error>> {
    Ok(std::env::var("LOAD_REDIS_URL").map_err(|_| "LOAD_REDIS_URL is required")?)
}

/// `verifier` behind a cache that keeps nothing: every request asks it.
fn uncached<V: SessionVerifier>(verifier: V) -> SessionCache<V> {
    SessionCache::builder(verifier).capacity(0).build()
}

/// Opaque session ids: the session is the record `session:<id>` in a store (the user's id).
struct OpaqueIds(Arc<dyn Store>);

impl SessionVerifier for OpaqueIds {
    type Session = LoadSession;
    type Output = Vec<u8>;

    async fn verify_session(&self, token: &str, _headers: &http::HeaderMap) -> Result<Vec<u8>, VerifierError> {
        match self.0.get(&format!("session:{token}")).await {
            Ok(Some(record)) => Ok(record),
            Ok(None) => Err(VerifierError::failed("unknown session id")),
            Err(error) => Err(VerifierError::unavailable(error.to_string())),
        }
    }

    fn map_session(&self, record: Vec<u8>) -> Result<Authenticated<LoadSession>, VerifierError> {
        let user_id =
            String::from_utf8(record).map_err(|_| VerifierError::failed("a session record that is not text"))?;
        Ok(Authenticated::new(LoadSession::User { user_id }))
    }
}
