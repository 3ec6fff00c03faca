//! The opaque-sessions app (`cargo run --example opaque_sessions`): a `SessionVerifier` over a
//! server-side table of random ids, behind the session layer. The example's `main` serves it;
//! the tests start it on 127.0.0.1 the same way.

use std::collections::HashMap;
use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::opaque::{Admin, AppSession};
use auth_runtime::axum::Require;
use auth_runtime::{
    Authenticated, CookieOptions, SessionCache, SessionLayer, SessionVerifier, VerifierError, use_session,
};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use serde::Deserialize;

/// One row of the session table.
#[derive(Debug, Clone)]
pub struct SessionRow {
    user_id: String,
    admin: bool,
    expires_at: u64,
}

/// The server-side session table (a database in a real application).
#[derive(Default)]
pub struct SessionStore {
    rows: Mutex<HashMap<String, SessionRow>>,
}

const SESSION_SECONDS: u64 = 8 * 60 * 60;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

impl SessionStore {
    /// Creates a session row and returns its random id.
    pub fn create(&self, user_id: &str) -> Result<String, Box<dyn Error>> {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes)?;
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let row = SessionRow {
            user_id: user_id.to_owned(),
            admin: user_id == "admin",
            expires_at: now() + SESSION_SECONDS,
        };
        self.rows
            .lock()
            .map_err(|_| "session table poisoned")?
            .insert(id.clone(), row);
        Ok(id)
    }

    /// Deletes a session row.
    pub fn delete(&self, id: &str) {
        if let Ok(mut rows) = self.rows.lock() {
            rows.remove(id);
        }
    }
}

/// `verifySession`: look the id up; `mapSession`: turn the row into the typed session.
impl SessionVerifier for SessionStore {
    type Session = AppSession;
    type Output = (String, SessionRow);

    async fn verify_session(&self, token: &str, _headers: &HeaderMap) -> Result<Self::Output, VerifierError> {
        let rows = self
            .rows
            .lock()
            .map_err(|_| VerifierError::unavailable("session table poisoned"))?;
        match rows.get(token) {
            Some(row) if row.expires_at > now() => Ok((token.to_owned(), row.clone())),
            Some(_) => Err(VerifierError::failed("session expired")),
            None => Err(VerifierError::failed("unknown session id")),
        }
    }

    fn map_session(&self, (id, row): Self::Output) -> Result<Authenticated<AppSession>, VerifierError> {
        let session = if row.admin {
            AppSession::Admin(Admin {
                user_id: row.user_id.clone(),
            })
        } else {
            AppSession::User {
                user_id: row.user_id.clone(),
            }
        };
        let mut authenticated = Authenticated::new(session);
        authenticated.expires_at = Some(row.expires_at);
        authenticated.subject = Some(row.user_id);
        authenticated.session_id = Some(id);
        Ok(authenticated)
    }
}

#[derive(Clone)]
struct AppState {
    store: Arc<SessionStore>,
    cache: SessionCache<Arc<SessionStore>>,
    cookie: CookieOptions,
}

#[derive(Deserialize)]
struct Login {
    name: String,
}

/// The app's routes behind a session layer that verifies through the store.
pub fn app(store: Arc<SessionStore>) -> Result<Router, Box<dyn Error>> {
    let cookie = CookieOptions::new().name("sid");
    let cache = SessionCache::new(Arc::clone(&store));
    let layer = SessionLayer::builder(cache.clone()).cookie(cookie.clone()).build()?;
    let state = AppState { store, cache, cookie };
    Ok(Router::new()
        .route("/login", get(login))
        .route("/me", get(me))
        .route("/admin", get(admin))
        .route("/logout", get(logout))
        .layer(layer)
        .with_state(state))
}

async fn login(State(state): State<AppState>, Query(login): Query<Login>) -> Response {
    let set_cookie = state
        .store
        .create(&login.name)
        .map_err(|error| error.to_string())
        .and_then(|id| {
            state
                .cookie
                .set_cookie_header(&id, Some(SESSION_SECONDS))
                .map_err(|error| error.to_string())
        });
    match set_cookie {
        Ok(set_cookie) => (
            StatusCode::FOUND,
            [(header::LOCATION, "/me".to_owned()), (header::SET_COOKIE, set_cookie)],
        )
            .into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error).into_response(),
    }
}

async fn me() -> Response {
    match use_session::<AppSession>() {
        Some(session) => serde_json::to_string(&session).unwrap_or_default().into_response(),
        None => (StatusCode::UNAUTHORIZED, "no session").into_response(),
    }
}

async fn admin(Require(admin): Require<Admin>) -> String {
    format!("hello, administrator {}", admin.user_id)
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let id = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("sid="))
        .map(str::to_owned);
    if let Some(id) = id {
        state.store.delete(&id);
        // The row is gone; without this the cache would keep answering for up to its TTL.
        state.cache.invalidate_token(&id);
    }
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, "/me".to_owned()),
            (header::SET_COOKIE, state.cookie.clear_cookie_header()),
        ],
    )
        .into_response()
}
