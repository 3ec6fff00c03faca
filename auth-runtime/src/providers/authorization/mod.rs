//! The authorization server: OAuth 2.1's authorization code grant with PKCE for registered
//! clients, so that other apps (a single-page front end, a mobile app, another service) sign
//! people in through this one, as they do through OpenAuth's `issuer`.
//!
//! Turn it on with [`AuthHandlerBuilder::clients`](super::AuthHandlerBuilder::clients) next to
//! [`refresh_tokens`](super::AuthHandlerBuilder::refresh_tokens) (the pairs the clients get).
//! The handler then also serves:
//!
//! | route | what it does |
//! |---|---|
//! | `GET {prefix}/authorize` | checks the client and its redirect URI, then starts the chosen provider or shows the provider picker |
//! | `POST {prefix}/token` | `grant_type=authorization_code` (and `refresh_token`): the code for a pair |
//! | `GET {prefix}/.well-known/oauth-authorization-server` | the metadata (RFC 8414) |
//!
//! **How a sign-in runs.** `/authorize` keeps the request (client, redirect URI, `state`, PKCE
//! challenge) in the store under a random id, for [`AUTHORIZATION_LIFETIME`], and puts the id in
//! the `auth-authorization` cookie (`HttpOnly`, scoped to the prefix). The picker's forms and
//! links carry the same id as the `authorization` parameter: a provider's flow works for the
//! authorization only when its first step carries the id that this browser's cookie holds.
//! A flow started without it (the app's own sign-in page) clears the cookie, so an abandoned
//! authorization never captures a later sign-in. When the flow succeeds, the session its
//! `on_success` signs in with ([`Sessions::cookie`](crate::Sessions::cookie) or
//! [`parameter`](crate::Sessions::parameter), unchanged) becomes a code instead: the browser is
//! sent to the redirect URI with `code`, `state` (as it came) and `iss` (RFC 9207), and nothing
//! is set on this origin.
//!
//! **The code** is 256 random bits, kept as its SHA-256 for [`CODE_LIFETIME`] (60 s), and works
//! once: for its client, its redirect URI, and the PKCE verifier whose S256 hash is its challenge
//! (`plain` is refused). Presented a second time, it revokes the family the first exchange
//! started (RFC 6749 section 4.1.2). Access tokens are issued with `aud` = the client id, as
//! OpenAuth does; the app's own sessions keep their audience.
//!
//! **Errors.** Before the client and its redirect URI are known good, an error is a page
//! (`on_error` with the provider `authorize`), never a redirect: an unknown client, a missing or
//! unregistered redirect URI. After, the redirect URI gets `error`, `error_description`, `state`
//! and `iss` (RFC 6749 section 4.1.2.1).

mod authorize;
mod clients;
pub(super) mod complete;
pub(super) mod cors;
pub(super) mod grant;
mod picker;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use serde::{Deserialize, Serialize};
use url::Url;

use super::error::{FlowError, FlowResponse};
use super::limits::RateLimits;
use crate::cookie::CookieOptions;
use crate::refresh::Refresher;
use crate::store::contract::Store;

pub(crate) use self::clients::Registry;
pub use self::clients::{Client, ClientConfigError, ClientSecretHash, Clients, MIN_CLIENT_SECRET_LEN};
pub use self::picker::{PickerPage, ProviderChoice, default_picker};

/// How long an authorization request waits for the person to sign in: 1 hour.
pub const AUTHORIZATION_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// How long an authorization code works: 60 seconds.
pub const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// The parameter that ties a provider's first step to the authorization in progress.
pub const AUTHORIZATION_PARAMETER: &str = "authorization";
/// The longest `state` an authorization request may carry, in bytes.
pub const MAX_STATE_LEN: usize = 1024;

/// The store key prefix of an authorization request in progress (by its random id).
const REQUEST_PREFIX: &str = "authorization:";
/// The store key prefix of an issued code (by its SHA-256).
const CODE_PREFIX: &str = "authorization-code:";
/// The store key prefix of a redeemed code's marker: the family its exchange started.
const USED_CODE_PREFIX: &str = "authorization-code-used:";
/// How long a redeemed code's marker stays: a replay within it revokes what the code bought.
const USED_CODE_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// What the `allow` hook sees of an authorization request, after the registry accepted the
/// client and its redirect URI.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AllowRequest {
    /// The registered client.
    pub client: Client,
    /// The redirect URI, one of the client's.
    pub redirect_uri: String,
    /// The provider the request names, if any.
    pub provider: Option<String>,
    /// The request's headers (the browser's, at `GET /authorize`).
    pub headers: HeaderMap,
}

/// The `allow` hook: `true` lets the authorization go on.
pub(crate) type Allow = dyn Fn(AllowRequest) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync;

/// Erases an `allow` hook.
pub(crate) fn allow_hook<F, Fut>(hook: F) -> Box<Allow>
where
    F: Fn(AllowRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    Box::new(move |request| Box::pin(hook(request)))
}

/// The picker: the page that lists the providers.
pub(crate) type Picker = dyn Fn(&PickerPage) -> FlowResponse + Send + Sync;

/// 32 random bytes, base64url: an authorization's id, a code.
fn random_id() -> Result<String, FlowError> {
    crate::random::random_id::<32>().map_err(|error| FlowError::Issue(crate::sessions::IssueError::Random(error)))
}

/// An authorization request waiting for the person to sign in.
#[derive(Serialize, Deserialize)]
struct Pending {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    challenge: String,
}

/// An issued code's record, under the code's hash.
#[derive(Serialize, Deserialize)]
struct IssuedCode {
    /// When the code stops working (Unix seconds, by the sessions' clock): the store's expiry
    /// says so too, this holds even where a store keeps records a little longer.
    expires_at: u64,
    client_id: String,
    redirect_uri: String,
    challenge: String,
    session: serde_json::Value,
}

/// A redeemed code's marker: the family the exchange started, and until when it could live.
#[derive(Serialize, Deserialize)]
struct UsedCode {
    family: String,
    expires_at: u64,
}

/// The authorization server of one handler.
pub(crate) struct AuthorizationServer {
    pub(super) registry: Registry,
    pub(super) refresher: Arc<dyn Refresher>,
    pub(super) store: Arc<dyn Store>,
    pub(super) limits: Arc<RateLimits>,
    /// The issuer: the base URL and prefix (`iss`, and the metadata's `issuer`).
    pub(super) issuer: String,
    /// The `auth-authorization` cookie.
    pub(super) cookie: CookieOptions,
    pub(super) allow: Option<Box<Allow>>,
    pub(super) picker: Box<Picker>,
    /// The providers the picker offers, in the order they were mounted.
    pub(super) choices: Vec<ProviderChoice>,
    pub(super) on_error: Arc<super::error_page::ErrorPage>,
}

impl fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("issuer", &self.issuer)
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl AuthorizationServer {
    /// Whether a browser on `origin` may call the token endpoint.
    pub(crate) fn allows_origin(&self, origin: &[u8]) -> bool {
        self.registry.allows_origin(origin)
    }

    /// The metadata entries the authorization server adds (RFC 8414).
    pub(crate) fn metadata(&self, endpoint_base: &str) -> serde_json::Value {
        serde_json::json!({
            "authorization_endpoint": format!("{endpoint_base}/authorize"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "authorization_response_iss_parameter_supported": true,
        })
    }

    /// `url` with `parameters` added to its query (what it had is kept).
    fn redirect_with(url: &str, parameters: &[(&str, &str)]) -> Option<Url> {
        let mut url = Url::parse(url).ok()?;
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in parameters {
                query.append_pair(name, value);
            }
        }
        Some(url)
    }
}
