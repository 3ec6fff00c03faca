//! Your own OpenAuth-compatible sign-in server, and an app on another origin that signs in
//! through it.
//!
//! Run with: cargo run --example issuer
//!
//! Two servers start:
//!
//! - the **issuer** at `http://localhost:3001`: the sign-in server. Its OAuth 2.1 endpoints are
//!   under `/auth` (`/auth/authorize`, `/auth/token`, `/auth/.well-known/jwks.json` and the
//!   metadata at `/auth/.well-known/oauth-authorization-server`), so OpenAuth's client works
//!   against it with `createClient({ clientID: "front-end", issuer: "http://localhost:3001/auth" })`.
//!   People sign in with a one-time code, printed in this terminal instead of emailed.
//! - the **front end** at `http://127.0.0.1:3002`: a single page on another origin. "Sign in"
//!   sends you to the issuer with a PKCE challenge; back on `/callback` the page checks `state`
//!   and `iss`, exchanges the code at the issuer's token endpoint with `fetch` (CORS), shows
//!   who signed in, and can refresh the tokens.
//!
//! `ISSUER_ADDR` and `FRONT_END_ADDR` move them (the front end is registered for its own
//! address, so both stay on this machine's loopback interface). The issuer keeps its state in
//! memory and makes a new key at every start: restart it and sign in again.
//!
//! The two apps are in `examples/src/issuer_app.rs`; the tests drive the same two apps with
//! OpenAuth's own client and in Chromium.

use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;

use auth_examples::issuer_app::{front_end, front_end_client, issuer_app, issuer_sessions};
use auth_examples::quickstart_app::{Message, Outbox};
use auth_runtime::providers::authorization::Clients;
use auth_runtime::store::MemoryStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    auth_examples::exit_with("issuer", run().await)
}

async fn listen(variable: &str, default: &str) -> Result<tokio::net::TcpListener, Box<dyn Error>> {
    let addr = std::env::var(variable).unwrap_or_else(|_| default.to_owned());
    Ok(tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|error| format!("cannot listen on {addr} ({variable}): {error}"))?)
}

async fn run() -> Result<(), Box<dyn Error>> {
    let issuer_listener = listen("ISSUER_ADDR", "127.0.0.1:3001").await?;
    let front_listener = listen("FRONT_END_ADDR", "127.0.0.1:3002").await?;
    // Two origins: `localhost` for the issuer, the IP literal for the front end.
    let issuer_url = format!("http://localhost:{}", issuer_listener.local_addr()?.port());
    let front_url = format!("http://127.0.0.1:{}", front_listener.local_addr()?.port());
    let outbox: Outbox = Arc::new(|message| {
        if let Message::Code { to, code } = message {
            println!("sign-in code for {to}: {code}");
        }
    });
    let clients = Clients::new().client(front_end_client(&front_url));
    let sessions = issuer_sessions(&issuer_url)?;
    let issuer = issuer_app(sessions, &issuer_url, clients, outbox, Arc::new(MemoryStore::new()))?;
    let front = front_end(&format!("{issuer_url}/auth"), &front_url);
    println!("issuer listening on {issuer_url}/  (OpenAuth issuer URL: {issuer_url}/auth)");
    println!("front end listening on {front_url}/  <- open this one and sign in");
    let issuer = axum::serve(
        issuer_listener,
        issuer.into_make_service_with_connect_info::<SocketAddr>(),
    );
    let front = axum::serve(front_listener, front.into_make_service());
    tokio::try_join!(issuer, front)?;
    Ok(())
}
