//! Opaque session ids kept server-side, checked through the verifier trait (Connectum style).
//!
//! Run with: cargo run --example opaque_sessions
//!
//! The cookie holds a random id, not a JWT; the session layer asks `SessionStore` (standing in
//! for a database table) what the id means on each request, through the cache. `/login?name=ada`
//! creates a session (`name=admin` an admin one), `/me` shows it via `use_session()`, `/admin` is
//! for admins only, and `/logout` deletes the row *and* the cached entry, so the id stops working
//! at once. Set `OPAQUE_ADDR` to listen elsewhere than 127.0.0.1:3001.
//!
//! The app itself is in `examples/src/opaque_app.rs` (the tests serve the same app), and its
//! session type, `AppSession` with its `#[derive(SessionTypes)]`, in `examples/src/opaque.rs`,
//! where `cargo xtask schema` exports it from.

use std::error::Error;
use std::sync::Arc;

use auth_examples::opaque_app::{SessionStore, app};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    auth_examples::exit_with("opaque_sessions", run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    let addr = std::env::var("OPAQUE_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|error| format!("cannot listen on {addr}: {error}"))?;
    println!(
        "opaque sessions example on http://localhost:{}/login?name=ada",
        listener.local_addr()?.port()
    );
    axum::serve(listener, app(Arc::new(SessionStore::default()))?).await?;
    Ok(())
}
