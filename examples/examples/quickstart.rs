//! The quickstart: a small web app that signs people in with a magic link, a one-time code or a
//! password, and keeps them signed in with a typed session cookie.
//!
//! Run with: cargo run --example quickstart
//!
//! Then open the printed URL and sign in with any email address. The app does not send email:
//! the sign-in link and the codes are printed in the terminal. "Sign in with a password" leads to
//! the password provider's pages: register (a code proves the address), sign in, reset a
//! forgotten password; `/me` offers "Change your password". Following the link (or entering the
//! code) sets the `auth-token` cookie for a typed `AppSession::User` and redirects to `/me`, which
//! reads the session with the `use_authenticated()` hook: a page in a browser, the session as
//! JSON for an API client (401 when there is none; the session layer's refusals are pages for a
//! browser too); `POST /logout` revokes the session (a copy of the cookie no longer works) and
//! clears the cookie. The sign-in flows are the `AuthHandler` router at
//! `/auth` (`GET /auth` lists them), and `GET /.well-known/jwks.json` publishes the public key.
//!
//! Two developer shortcuts show the constructors directly, with no proof of identity (remove them
//! in a real app): `/login?name=alice` (the cookie; `&via=parameter` sends the token in `?token=`
//! to `/me`, the landing route, where the session layer moves it into the cookie) and
//! `/token?name=alice` (a bare token for `curl -H "Authorization: Bearer <token>" .../me`).
//!
//! Everything is embedded and durable: the sign-in flows, revocations and a development Ed25519
//! key (made by the first start) live in one SQLite file, `.quickstart/auth.sqlite` at the
//! workspace root (ignored by git; `QUICKSTART_DATA` names another folder). A restart keeps the
//! person signed in and a logged-out session revoked; delete the folder to start afresh. Set
//! `QUICKSTART_ADDR` to listen elsewhere than 127.0.0.1:3000.
//!
//! Several instances behind one address (README, "Running several instances") share a database
//! and a key: `QUICKSTART_DATABASE_URL=postgres://user@host/db` keeps the flows, revocations,
//! cache invalidations and the development key in PostgreSQL (`QUICKSTART_REDIS_URL=redis://...`
//! in Redis), `QUICKSTART_SIGNING_KEY=key.pem` signs with that Ed25519 key (PKCS#8 PEM) instead,
//! and `QUICKSTART_BASE_URL` is the address people open.
//!
//! Each sign-in step and each refusal is logged in the terminal as it happens (the crate's
//! `tracing` events, printed by `tracing-subscriber`).
//!
//! The app itself is in `examples/src/quickstart_app.rs` (the tests serve the same app), and its
//! session type, `AppSession` with its `#[derive(SessionTypes)]`, in `examples/src/quickstart.rs`,
//! where `cargo xtask schema` exports it from.

use std::error::Error;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use auth_examples::quickstart_app::{Message, Outbox, app_with_stores, development_key, sessions_with_key};
use auth_runtime::password::{MemoryPasswordStore, PasswordStore};
use auth_runtime::providers::password::PasswordMail;
use auth_runtime::store::{PostgresStore, RedisStore, SqliteStore, Store};

/// Prints the crate's events in the terminal: every sign-in step and refusal at DEBUG for
/// `auth_runtime`, INFO for everything else (README, "Logs and metrics").
fn log_to_the_terminal() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("auth_runtime", tracing::Level::DEBUG)
        .with_default(tracing::Level::INFO);
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().compact())
        .with(filter)
        .init();
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    log_to_the_terminal();
    auth_examples::exit_with("quickstart", run().await)
}

/// The store, and where password accounts are kept.
type Stores = (Arc<dyn Store>, Arc<dyn PasswordStore>);

/// PostgreSQL or Redis when their variable says so; otherwise the SQLite file in the data folder.
/// The SQL stores keep password accounts in a table of their own; with Redis they are kept in
/// memory (Redis is for records that expire, not for accounts), which is said at start.
async fn open_store() -> Result<Stores, Box<dyn Error>> {
    if let Ok(url) = std::env::var("QUICKSTART_DATABASE_URL") {
        let store = PostgresStore::connect(url)
            .await
            .map_err(|error| format!("QUICKSTART_DATABASE_URL: {error}"))?;
        let store = Arc::new(store);
        return Ok((store.clone(), store));
    }
    if let Ok(url) = std::env::var("QUICKSTART_REDIS_URL") {
        let store = RedisStore::connect(url)
            .await
            .map_err(|error| format!("QUICKSTART_REDIS_URL: {error}"))?;
        println!("password accounts are kept in memory: they end when this process does");
        return Ok((Arc::new(store), Arc::new(MemoryPasswordStore::new())));
    }
    let data = std::env::var_os("QUICKSTART_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../.quickstart"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&data).map_err(|error| format!("cannot create {}: {error}", data.display()))?;
    let file = data.join("auth.sqlite");
    let store = SqliteStore::connect(&file).await?;
    println!("quickstart state in {}", file.display());
    let store = Arc::new(store);
    Ok((store.clone(), store))
}

async fn run() -> Result<(), Box<dyn Error>> {
    let addr = std::env::var("QUICKSTART_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|error| format!("cannot listen on {addr}: {error}"))?;
    let port = listener.local_addr()?.port();
    let base_url = std::env::var("QUICKSTART_BASE_URL").unwrap_or_else(|_| format!("http://localhost:{port}"));
    let outbox: Outbox = Arc::new(|message| match message {
        Message::Link { to, url } => println!("sign-in link for {to}: {url}"),
        Message::Code { to, code } => println!("sign-in code for {to}: {code}"),
        Message::Password(PasswordMail::VerifyEmail { to, code }) => println!("code to verify {to}: {code}"),
        Message::Password(PasswordMail::ResetCode { to, code }) => println!("password reset code for {to}: {code}"),
        Message::Password(mail) => println!("email to {}: {mail:?}", mail.to()),
    });
    let (store, credentials) = open_store().await?;
    let pem = match std::env::var_os("QUICKSTART_SIGNING_KEY") {
        Some(path) => std::fs::read(&path).map_err(|error| format!("cannot read {path:?}: {error}"))?,
        None => development_key(store.as_ref()).await?,
    };
    let sessions = sessions_with_key(&pem)?;
    let app = app_with_stores(sessions, &base_url, outbox, store, credentials)?;
    println!("quickstart listening on {base_url}/  (Ctrl-C to stop)");
    // With each connection's peer address (`ConnectInfo`): the sign-in limits count requests per
    // client address, and refuse a request whose address they cannot tell.
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
}
