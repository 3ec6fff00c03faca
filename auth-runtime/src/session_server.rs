//! [`SessionServer`]: a [`SessionVerifier`] for sessions that live in a session server reached
//! over HTTP (better-auth, or any service that answers "whose session is this cookie?"):
//! Connectum's `verifySession: (token, headers) => auth.api.getSession({ headers })` and
//! `mapSession`, with the session layer's cache in front.
//!
//! Per verification (that is, per cache miss): the credential the layer found is forwarded to the
//! session endpoint, as the session cookie (`Cookie: <name>=<value>`) or as a Bearer token, and
//! nothing else from the request; the answer is
//! - a session (`200` with a JSON object): mapped to your enum by your closure, with the session's
//!   own expiry (`expiresAt`, an RFC 3339 time or milliseconds) bounding the cache entry, the user
//!   id as the subject and the session id as the session id (so `invalidate_subject` and
//!   `invalidate_session_id` work);
//! - no session (`200` with `null`, or `401`/`403`/`404`): a refusal (401 through the layer);
//! - anything else (a `5xx`, a redirect, a timeout, an unreadable answer): `BackendUnavailable`,
//!   503 through the layer and never cached, so the client tries again with the same cookie.
//!
//! The HTTP client follows no redirect, times out (5 s by default) and reads at most 64 KiB.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE, HeaderValue};
use url::Url;

use crate::clock::Clock;
use crate::http_client::{client, describe, read_limited, without_credentials};
use crate::session_types::SessionTypes;
#[cfg(feature = "tracing")]
use crate::telemetry::event;
use crate::verifier::{Authenticated, CacheKey, SessionVerifier, VerifierError};

/// How the credential is forwarded to the session endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Forward {
    /// As the cookie of this name (`better-auth.session_token`, say).
    Cookie(String),
    /// As `Authorization: Bearer <credential>` (better-auth's `bearer` plugin).
    Bearer,
}

type MapSession<S> = dyn Fn(&serde_json::Value) -> Result<S, String> + Send + Sync;

/// Verifies a request's session by asking a session server; see the [module docs](self).
pub struct SessionServer<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for SessionServer<S> {
    fn clone(&self) -> Self {
        SessionServer {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S> fmt::Debug for SessionServer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionServer")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("forward", &self.inner.forward)
            .finish_non_exhaustive()
    }
}

struct Inner<S> {
    endpoint: Url,
    forward: Forward,
    client: reqwest::Client,
    max_body: usize,
    map: Box<MapSession<S>>,
    expires_at: String,
    subject: String,
    session_id: String,
    clock: Clock,
}

/// Configures a [`SessionServer`]; start from [`SessionServer::better_auth`] or
/// [`SessionServer::builder`].
pub struct SessionServerBuilder<S> {
    endpoint: String,
    forward: Forward,
    timeout: Duration,
    max_body: usize,
    map: Box<MapSession<S>>,
    expires_at: String,
    subject: String,
    session_id: String,
    clock: Clock,
}

impl<S> fmt::Debug for SessionServerBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionServerBuilder")
            .field("endpoint", &self.endpoint)
            .field("forward", &self.forward)
            .finish_non_exhaustive()
    }
}

/// Why a [`SessionServer`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionServerConfigError {
    /// The endpoint is not an absolute `http(s)` URL without credentials (a `user:password@`
    /// would be sent with every session lookup and end up in error messages and logs).
    #[error("session endpoint `{0}` must be an absolute http(s) URL without user:password")]
    Endpoint(String),
    /// The cookie name is not a cookie name.
    #[error("`{0}` is not a cookie name")]
    CookieName(String),
    /// The HTTP client could not be built (its TLS setup failed).
    #[error("the HTTP client could not be built: {0}")]
    Client(#[source] reqwest::Error),
}

/// The old name of [`SessionServerConfigError`], a build error named like the other
/// `*ConfigError`s now.
#[deprecated(since = "0.3.0", note = "renamed `SessionServerConfigError`")]
pub type SessionServerError = SessionServerConfigError;

/// better-auth's session cookie, as it names it over plain HTTP.
pub const BETTER_AUTH_COOKIE: &str = "better-auth.session_token";

impl<S: SessionTypes> SessionServer<S> {
    /// better-auth at `base_url` (the `baseURL` it is configured with, like
    /// `https://app.example.com`): `GET <base_url>/api/auth/get-session` with its session cookie,
    /// `better-auth.session_token`, or `__Secure-better-auth.session_token` when `base_url` is
    /// HTTPS (as better-auth names it there). `map_session` gets its answer, `{"session": {...},
    /// "user": {...}}`; the expiry is `session.expiresAt`, the subject `user.id`, the session id
    /// `session.id`.
    ///
    /// Read the same cookie in the layer: `.cookie(CookieOptions::new().name(..))` with the name
    /// from [`cookie_name`](SessionServerBuilder::cookie_name)'s default, see the README.
    pub fn better_auth(
        base_url: &str,
        map_session: impl Fn(&serde_json::Value) -> Result<S, String> + Send + Sync + 'static,
    ) -> SessionServerBuilder<S> {
        let base = base_url.trim_end_matches('/');
        let cookie = if base.starts_with("https:") {
            format!("__Secure-{BETTER_AUTH_COOKIE}")
        } else {
            BETTER_AUTH_COOKIE.to_owned()
        };
        SessionServer::builder(
            &format!("{base}/api/auth/get-session"),
            Forward::Cookie(cookie),
            map_session,
        )
    }

    /// Any session server: `GET endpoint` with the credential forwarded as `forward` says;
    /// `map_session` gets the JSON answer. The expiry, subject and session id are read at the JSON
    /// pointers `/session/expiresAt`, `/user/id` and `/session/id` unless set otherwise.
    pub fn builder(
        endpoint: &str,
        forward: Forward,
        map_session: impl Fn(&serde_json::Value) -> Result<S, String> + Send + Sync + 'static,
    ) -> SessionServerBuilder<S> {
        SessionServerBuilder {
            endpoint: endpoint.to_owned(),
            forward,
            timeout: Duration::from_secs(5),
            max_body: 64 * 1024,
            map: Box::new(map_session),
            expires_at: "/session/expiresAt".to_owned(),
            subject: "/user/id".to_owned(),
            session_id: "/session/id".to_owned(),
            clock: Clock::system(),
        }
    }
}

impl<S> SessionServerBuilder<S> {
    /// The name of the cookie the credential is forwarded as (for a server that renamed it, or
    /// uses a cookie prefix).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.forward = Forward::Cookie(name.into());
        self
    }

    /// The name of the cookie the credential is forwarded as, if it is forwarded as a cookie: the
    /// name the session layer must read too.
    pub fn forwarded_cookie(&self) -> Option<&str> {
        match &self.forward {
            Forward::Cookie(name) => Some(name),
            Forward::Bearer => None,
        }
    }

    /// The time one call to the session server may take, connection included; 5 s by default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest answer read; 64 KiB by default.
    pub fn max_body(mut self, max_body: usize) -> Self {
        self.max_body = max_body;
        self
    }

    /// The JSON pointers (RFC 6901) of the session's expiry, its subject and its id in the answer.
    pub fn pointers(
        mut self,
        expires_at: impl Into<String>,
        subject: impl Into<String>,
        session_id: impl Into<String>,
    ) -> Self {
        self.expires_at = expires_at.into();
        self.subject = subject.into();
        self.session_id = session_id.into();
        self
    }

    /// Replaces the system clock (which refuses a session the server says has expired).
    pub fn clock(mut self, clock: impl Fn() -> std::time::SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Clock::custom(clock);
        self
    }

    /// Checks the configuration and builds the verifier.
    pub fn build(self) -> Result<SessionServer<S>, SessionServerConfigError> {
        let endpoint = Url::parse(&self.endpoint)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| SessionServerConfigError::Endpoint(self.endpoint.clone()))?;
        if !endpoint.username().is_empty() || endpoint.password().is_some() {
            return Err(SessionServerConfigError::Endpoint(without_credentials(&endpoint)));
        }
        if let Forward::Cookie(name) = &self.forward {
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid {
                return Err(SessionServerConfigError::CookieName(name.clone()));
            }
        }
        Ok(SessionServer {
            inner: Arc::new(Inner {
                endpoint,
                forward: self.forward,
                client: client(self.timeout.min(Duration::from_secs(3600)))
                    .map_err(SessionServerConfigError::Client)?,
                max_body: self.max_body,
                map: self.map,
                expires_at: self.expires_at,
                subject: self.subject,
                session_id: self.session_id,
                clock: self.clock,
            }),
        })
    }
}

impl<S: SessionTypes> SessionServer<S> {
    /// Asks the session server about `credential`: its JSON answer for a session, a refusal for
    /// none, `BackendUnavailable` when it cannot say.
    async fn ask(&self, credential: &str) -> Result<serde_json::Value, VerifierError> {
        let inner = &*self.inner;
        let (name, value) = match &inner.forward {
            Forward::Cookie(cookie) => (COOKIE, format!("{cookie}={credential}")),
            Forward::Bearer => (AUTHORIZATION, format!("Bearer {credential}")),
        };
        // A credential that cannot be a header value is no session anyone could have.
        let value = HeaderValue::from_str(&value)
            .map_err(|_| VerifierError::failed("the credential is not a valid header value"))?;
        let endpoint = inner.endpoint.as_str();
        let response = inner
            .client
            .get(inner.endpoint.clone())
            .header(name, value)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| VerifierError::unavailable(format!("session server {endpoint}: {}", describe(error))))?;
        let status = response.status();
        match status.as_u16() {
            200 => {}
            401 | 403 | 404 => {
                return Err(VerifierError::failed(format!(
                    "the session server knows no such session ({status})"
                )));
            }
            _ => {
                return Err(VerifierError::unavailable(format!(
                    "session server {endpoint} answered {status}"
                )));
            }
        }
        let body = read_limited(response, inner.max_body, endpoint)
            .await
            .map_err(VerifierError::unavailable)?;
        let answer: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|error| VerifierError::unavailable(format!("session server {endpoint}: not JSON: {error}")))?;
        match answer {
            serde_json::Value::Object(_) => Ok(answer),
            serde_json::Value::Null => Err(VerifierError::failed("the session server knows no such session")),
            _ => Err(VerifierError::unavailable(format!(
                "session server {endpoint}: not a session object"
            ))),
        }
    }
}

/// An expiry as session servers write it: an RFC 3339 time, or milliseconds since 1970 (seconds
/// for numbers too small to be milliseconds of this era).
fn expiry_seconds(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::String(text) => {
            let time = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
            u64::try_from(time.unix_timestamp()).ok()
        }
        serde_json::Value::Number(number) => {
            let number = number.as_u64()?;
            Some(if number > 100_000_000_000 {
                number / 1000
            } else {
                number
            })
        }
        _ => None,
    }
}

fn text_at(answer: &serde_json::Value, pointer: &str) -> Option<String> {
    match answer.pointer(pointer)? {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

impl<S: SessionTypes> SessionVerifier for SessionServer<S> {
    type Session = S;
    type Output = serde_json::Value;

    async fn verify_session(&self, token: &str, _headers: &HeaderMap) -> Result<serde_json::Value, VerifierError> {
        let answer = self.ask(token).await;
        #[cfg(feature = "tracing")]
        match &answer {
            Err(error @ VerifierError::BackendUnavailable(_)) => {
                event!(warn, SESSION_SERVER, endpoint = self.inner.endpoint.as_str(), error = %error, "session server unavailable");
            }
            Err(error) => {
                event!(debug, SESSION_SERVER, error = %error, "session server knows no such session");
            }
            Ok(_) => {}
        }
        answer
    }

    fn map_session(&self, answer: serde_json::Value) -> Result<Authenticated<S>, VerifierError> {
        let inner = &*self.inner;
        let expires_at = answer.pointer(&inner.expires_at).and_then(expiry_seconds);
        if let Some(expires_at) = expires_at {
            let now = inner.clock.unix_seconds().map_err(VerifierError::failed)?;
            if expires_at <= now {
                return Err(VerifierError::failed("the session server's session has expired"));
            }
        }
        let session = (inner.map)(&answer).map_err(VerifierError::failed)?;
        let mut authenticated = Authenticated::new(session);
        authenticated.expires_at = expires_at;
        authenticated.subject = text_at(&answer, &inner.subject);
        authenticated.session_id = text_at(&answer, &inner.session_id);
        Ok(authenticated)
    }

    /// The answer depends on the forwarded credential alone (nothing else from the request is
    /// sent), and never outlives the session's own expiry: cached by the credential.
    fn cache_key(&self) -> CacheKey {
        CacheKey::Token
    }
}
