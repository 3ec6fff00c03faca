//! [`AuthHandler`]: SST's `AuthHandler({ providers })` as an axum router, and the [`Provider`]
//! trait its sign-in flows implement.
//!
//! The router answers:
//!
//! | route | what it does |
//! |---|---|
//! | `GET {prefix}` | lists the providers and their authorize URLs (JSON) |
//! | `GET`/`POST {prefix}/{provider}/authorize` | the provider's first step: a page or a redirect |
//! | `GET`/`POST {prefix}/{provider}/callback` | the provider's return step: success or an error |
//! | `GET /.well-known/jwks.json` | the public verification keys of the sessions |
//!
//! A flow that succeeds hands its claims to the `on_success` callback given with the provider,
//! which answers with [`Sessions::cookie`] or [`Sessions::parameter`]. A flow that fails hands a
//! [`FlowError`] to the handler's `on_error`. What a flow must remember between its steps lives in
//! the [`Store`] (single use, attempt counts, PKCE verifiers) and in a short-lived `HttpOnly`
//! flow cookie scoped to `{prefix}/{provider}` that holds only a random identifier.
//!
//! Links and redirect URIs are built from the configured base URL, never from the request's
//! `Host` header: a forged `Host` must not put an attacker's origin into a sign-in email.

pub mod code;
pub mod link;
#[cfg(feature = "oidc")]
pub mod oidc;

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Request};
use axum::routing::{any, get};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, SET_COOKIE};
use http::{HeaderMap, Method, StatusCode, Uri};
use url::Url;

use crate::cookie::{CookieError, CookieOptions};
use crate::sessions::IssueOptions;
use crate::store::{MemoryStore, Store, StoreError};
use crate::token::{Verified, VerifyError};
use crate::{IssueError, SessionTypes, Sessions};

pub use self::code::{CodeInvalid, CodeProvider, CodeRequest};
pub use self::link::{Link, LinkProvider};

/// The response type of every step: axum's.
pub type Response = axum_core::response::Response;

/// The boxed future a callback returns once erased.
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The default mount point of the router.
pub const DEFAULT_PREFIX: &str = "/auth";

/// The most bytes of claims (names and values) an authorize request may carry.
pub const MAX_CLAIMS_LEN: usize = 2048;

/// The largest request body a step reads (a form with a code or an email is a few hundred bytes).
const MAX_BODY: usize = 16 * 1024;

/// The longest a flow token (a magic link) may live, whatever a provider asks for.
const MAX_FLOW_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The `typ` of the handler's own tokens (magic links): never a session's.
const FLOW_TOKEN_TYPE: &str = "auth-flow+jwt";

/// What a person typed into a sign-in form or put in the authorize URL (`email=...`): every
/// query and form parameter of the authorize request, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct UserClaims(pub BTreeMap<String, String>);

impl UserClaims {
    /// The claim called `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Whether there are no claims.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// How a provider's callback step ended.
#[derive(Debug)]
pub enum Step<C> {
    /// The flow goes on: show this page or follow this redirect (a form to try the code again).
    Respond(Response),
    /// The person proved who they are: these claims go to the provider's `on_success`.
    Success(C),
}

/// A sign-in flow in two steps: `authorize` renders a page or redirects, `callback` ends in
/// success with claims or an error.
///
/// Implement it for a provider of your own; [`LinkProvider`], [`CodeProvider`] and (with the
/// `oidc` feature) `oidc::OidcProvider` are the built-in ones.
pub trait Provider: Send + Sync + 'static {
    /// What a successful sign-in proves, handed to the `on_success` callback.
    type Claims: Send + 'static;

    /// The first step, at `{prefix}/{provider}/authorize`.
    fn authorize(&self, request: &FlowRequest) -> impl Future<Output = Result<Response, FlowError>> + Send;

    /// The return step, at `{prefix}/{provider}/callback`.
    fn callback(&self, request: &FlowRequest) -> impl Future<Output = Result<Step<Self::Claims>, FlowError>> + Send;
}

/// Why a sign-in flow stopped. `on_error` receives it with the provider's name; every variant is
/// one reason a caller can match on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// The sign-in link's time ran out.
    #[error("the sign-in link has expired; ask for a new one")]
    LinkExpired,
    /// The sign-in link is not one this server signed for this provider.
    #[error("the sign-in link is not valid: {0}")]
    LinkInvalid(#[source] VerifyError),
    /// The sign-in link was followed before: links work once.
    #[error("the sign-in link was already used; ask for a new one")]
    LinkUsed,
    /// The one-time code's time ran out, or it was already used.
    #[error("the code has expired or was already used; ask for a new one")]
    CodeExpired,
    /// Too many wrong codes: the code is void.
    #[error("too many wrong codes; ask for a new one")]
    TooManyAttempts,
    /// The callback came without this browser's flow cookie (another browser, or cookies off).
    #[error("no sign-in is in progress in this browser; start again")]
    MissingState,
    /// The callback's `state` is not the one this browser's flow started with.
    #[error("the sign-in response does not belong to this browser's sign-in (state mismatch)")]
    StateMismatch,
    /// The flow's remembered state is gone: it expired or was already completed.
    #[error("the sign-in has expired or was already completed; start again")]
    StateExpired,
    /// A required parameter is missing, or was given more than once.
    #[error("the request needs exactly one `{0}` parameter")]
    MissingParameter(&'static str),
    /// The authorize step got no claims to sign in with (no `email=`, for example).
    #[error("the sign-in request carries no claims (for example `email`)")]
    NoClaims,
    /// The authorize step got more than [`MAX_CLAIMS_LEN`] bytes of claims.
    #[error("the sign-in request's parameters are too long (limit {MAX_CLAIMS_LEN} bytes)")]
    ClaimsTooLarge,
    /// The identity provider answered the callback with an OAuth error (`access_denied`, ...).
    #[error("the identity provider refused the sign-in: {error}")]
    Denied {
        /// The OAuth `error` code.
        error: String,
        /// The provider's `error_description`, if any.
        description: Option<String>,
    },
    /// The identity provider could not be reached, or its answer (token response, ID token)
    /// failed validation.
    #[error("the identity provider's answer was not accepted: {0}")]
    Upstream(#[source] Box<dyn StdError + Send + Sync>),
    /// The request body could not be read or was too large.
    #[error("the request body could not be read (limit {MAX_BODY} bytes)")]
    Body,
    /// The store did not answer; the flow fails closed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The flow token or the session could not be issued.
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// An error from a callback or a provider of your own.
    #[error("{0}")]
    Other(#[source] Box<dyn StdError + Send + Sync>),
}

impl FlowError {
    /// Wraps an error from a callback or a provider of your own.
    pub fn other(error: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        FlowError::Other(error.into())
    }

    /// The HTTP status the default error page answers with: 400 for what the person can fix by
    /// starting again, 502 for the identity provider, 503 for the store, 500 otherwise.
    pub fn status(&self) -> StatusCode {
        match self {
            FlowError::Upstream(_) => StatusCode::BAD_GATEWAY,
            FlowError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            FlowError::Issue(_) | FlowError::Other(_) => StatusCode::INTERNAL_SERVER_ERROR,
            FlowError::Body => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// The default `on_error`: a plain-text page with the status of [`FlowError::status`]. Server-side
/// failures get a generic message; their detail is for your logs, not the browser.
pub fn default_error_page(provider: &str, error: FlowError) -> Response {
    let status = error.status();
    let message = if status.is_server_error() {
        format!("sign-in with `{provider}` failed; try again later")
    } else {
        error.to_string()
    };
    let mut response = respond(status, "text/plain; charset=utf-8", message);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The flow's magic-link token: the claims, for one provider (its audience).
#[derive(crate::SessionTypes)]
#[session(crate = "crate")]
pub(crate) enum FlowToken {
    Link { claims: BTreeMap<String, String> },
}

/// One request to a provider step, with what the step may use: its parameters, the flow
/// cookie, the store, and the provider's callback URL.
pub struct FlowRequest {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    params: Vec<(String, String)>,
    mount: Arc<Mount>,
    store: Arc<dyn Store>,
}

impl fmt::Debug for FlowRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowRequest")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("provider", &self.mount.name)
            .finish_non_exhaustive()
    }
}

impl FlowRequest {
    /// The request method (`GET` or `POST`).
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The query parameters, then the form fields of a `POST`.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The one parameter called `name`; `None` if it is missing or given more than once, so a
    /// second `state=` or `code=` can never be the one that counts.
    pub fn param(&self, name: &str) -> Option<&str> {
        let mut values = self.params.iter().filter(|(key, _)| key == name);
        match (values.next(), values.next()) {
            (Some((_, value)), None) => Some(value),
            _ => None,
        }
    }

    /// Every parameter as claims (names given more than once keep their first value).
    pub fn claims(&self) -> UserClaims {
        let mut claims = BTreeMap::new();
        for (name, value) in &self.params {
            claims.entry(name.clone()).or_insert_with(|| value.clone());
        }
        UserClaims(claims)
    }

    /// [`claims`](Self::claims), refusing a request without any ([`FlowError::NoClaims`]) or with
    /// more than [`MAX_CLAIMS_LEN`] bytes of them ([`FlowError::ClaimsTooLarge`]): they end up in
    /// a link, a store record and an email.
    pub fn required_claims(&self) -> Result<UserClaims, FlowError> {
        let claims = self.claims();
        if claims.is_empty() {
            return Err(FlowError::NoClaims);
        }
        let len: usize = claims.0.iter().map(|(name, value)| name.len() + value.len()).sum();
        if len > MAX_CLAIMS_LEN {
            return Err(FlowError::ClaimsTooLarge);
        }
        Ok(claims)
    }

    /// The provider's name, as mounted.
    pub fn provider(&self) -> &str {
        &self.mount.name
    }

    /// The absolute URL of this provider's callback step, from the configured base URL.
    pub fn callback_url(&self) -> &Url {
        &self.mount.callback
    }

    /// The store the handler was built with.
    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// A store key private to this provider: `{provider}:{kind}:{id}`.
    pub fn store_key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.mount.name)
    }

    /// The value of this browser's flow cookie, if it sent exactly one and it looks like an id
    /// this handler hands out (1 to 128 base64url characters): it becomes part of a store key.
    pub fn flow_state(&self) -> Option<String> {
        let mut values = self.mount.flow_cookie.find(&self.headers);
        let is_id = |value: &String| {
            (1..=128).contains(&value.len())
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        match values.len() {
            1 => values.pop().filter(is_id),
            _ => None,
        }
    }

    /// Sets the flow cookie (`HttpOnly`, scoped to this provider's path) on `response`.
    pub fn set_flow_state(&self, response: &mut Response, value: &str, ttl: Duration) -> Result<(), FlowError> {
        let header = self.mount.flow_cookie.set_cookie(value, ttl.as_secs().max(1));
        response
            .headers_mut()
            .append(SET_COOKIE, HeaderValue::from_str(&header).map_err(IssueError::from)?);
        Ok(())
    }

    /// Deletes the flow cookie on `response`.
    pub fn clear_flow_state(&self, response: &mut Response) {
        if let Ok(header) = HeaderValue::from_str(&self.mount.flow_cookie.clear_cookie()) {
            response.headers_mut().append(SET_COOKIE, header);
        }
    }

    /// Seconds since the Unix epoch, by the sessions' clock.
    pub fn now(&self) -> Result<u64, FlowError> {
        Ok(self.mount.tokens.now()?)
    }

    pub(crate) fn sign_link(&self, claims: &UserClaims, ttl: Duration) -> Result<crate::IssuedToken, FlowError> {
        let token = FlowToken::Link {
            claims: claims.0.clone(),
        };
        let options = IssueOptions {
            lifetime: Some(ttl),
            ..IssueOptions::default()
        };
        Ok(self.mount.tokens.issue(&token, &options)?)
    }

    pub(crate) fn verify_link(&self, token: &str) -> Result<Verified<FlowToken>, VerifyError> {
        self.mount.tokens.verify(token)
    }
}

/// What the handler knows about one mounted provider.
struct Mount {
    name: String,
    authorize: Url,
    callback: Url,
    flow_cookie: CookieOptions,
    /// Flow tokens bound to this provider: their audience is its callback URL.
    tokens: Sessions<FlowToken>,
}

/// A provider with its `on_success`, type-erased so providers of different claims share a router.
trait Flow: Send + Sync {
    fn authorize<'a>(&'a self, request: &'a FlowRequest) -> BoxFuture<'a, Result<Response, FlowError>>;
    fn callback<'a>(&'a self, request: &'a FlowRequest) -> BoxFuture<'a, Result<Response, FlowError>>;
}

struct Mounted<P, F> {
    provider: P,
    on_success: F,
}

impl<P, F, Fut> Flow for Mounted<P, F>
where
    P: Provider,
    F: Fn(P::Claims) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response, FlowError>> + Send + 'static,
{
    fn authorize<'a>(&'a self, request: &'a FlowRequest) -> BoxFuture<'a, Result<Response, FlowError>> {
        Box::pin(self.provider.authorize(request))
    }

    fn callback<'a>(&'a self, request: &'a FlowRequest) -> BoxFuture<'a, Result<Response, FlowError>> {
        Box::pin(async move {
            match self.provider.callback(request).await? {
                Step::Respond(response) => Ok(response),
                Step::Success(claims) => {
                    let mut response = (self.on_success)(claims).await?;
                    request.clear_flow_state(&mut response);
                    Ok(response)
                }
            }
        })
    }
}

type ErrorPage = dyn Fn(&str, FlowError) -> Response + Send + Sync;

/// The `/auth` router: build it with [`AuthHandler::builder`], serve [`AuthHandler::router`].
///
/// ```
/// # use auth_runtime::{SessionTypes, Sessions, SigningKey};
/// use auth_runtime::providers::{AuthHandler, FlowError, LinkProvider, Response};
///
/// #[derive(SessionTypes, Debug, Clone, PartialEq)]
/// enum AppSession {
///     User { email: String },
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sessions: Sessions<AppSession> = Sessions::builder()
///     .signing_key(SigningKey::generate_ed25519()?)
///     .issuer("https://app.example.com")
///     .audience("app")
///     .build()?;
///
/// let links = LinkProvider::new(|link| async move {
///     // Send `link.url` by email; here it is printed.
///     println!("sign in at {}", link.url);
///     Ok::<Response, FlowError>(Response::new("check your email".into()))
/// });
/// let on_link_success = {
///     let sessions = sessions.clone();
///     move |claims: auth_runtime::providers::UserClaims| {
///         let sessions = sessions.clone();
///         async move {
///             let email = claims.get("email").ok_or(FlowError::NoClaims)?.to_owned();
///             Ok(sessions.cookie(&AppSession::User { email }, "/")?)
///         }
///     }
/// };
/// let auth = AuthHandler::builder(&sessions, "https://app.example.com")
///     .provider("link", links, on_link_success)
///     .build()?;
/// let app: axum::Router = auth.router();
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AuthHandler {
    inner: Arc<HandlerInner>,
}

struct HandlerInner {
    prefix: String,
    providers: Vec<(Arc<Mount>, Box<dyn Flow>)>,
    store: Arc<dyn Store>,
    jwks: String,
    on_error: Box<ErrorPage>,
}

impl fmt::Debug for AuthHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self
            .inner
            .providers
            .iter()
            .map(|(mount, _)| mount.name.as_str())
            .collect();
        f.debug_struct("AuthHandler")
            .field("prefix", &self.inner.prefix)
            .field("providers", &names)
            .finish_non_exhaustive()
    }
}

/// Why an [`AuthHandler`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerConfigError {
    /// The base URL is not an absolute `http` or `https` URL without query or fragment.
    #[error("base URL `{0}` must be an absolute http(s) URL without query or fragment, like `https://app.example.com`")]
    BaseUrl(String),
    /// The prefix is not a path like `/auth`.
    #[error("prefix `{0}` must start with `/`, not end with `/`, and hold only URL path characters")]
    Prefix(String),
    /// A provider name is not lowercase letters, digits, `-` and `_`.
    #[error("provider name `{0}` must be 1 to 32 lowercase letters, digits, `-` or `_`")]
    ProviderName(String),
    /// Two providers were mounted under one name.
    #[error("two providers are named `{0}`")]
    DuplicateProvider(String),
    /// No provider was mounted.
    #[error("no provider; add one with `provider(name, provider, on_success)`")]
    NoProviders,
    /// The flow cookie could not be derived from the session cookie options.
    #[error(transparent)]
    Cookie(#[from] CookieError),
    /// The public keys could not be serialized.
    #[error("the JWK set could not be serialized: {0}")]
    Jwks(#[source] serde_json::Error),
}

/// Configures an [`AuthHandler`].
pub struct AuthHandlerBuilder<S> {
    sessions: Sessions<S>,
    base_url: String,
    prefix: String,
    store: Option<Arc<dyn Store>>,
    providers: Vec<(String, Box<dyn Flow>)>,
    on_error: Option<Box<ErrorPage>>,
}

impl<S> fmt::Debug for AuthHandlerBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthHandlerBuilder")
            .field("base_url", &self.base_url)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl AuthHandler {
    /// Starts a handler whose flows sign with `sessions`' key and whose links and redirect URIs
    /// start with `base_url` (the public origin of this service, like `https://app.example.com`).
    pub fn builder<S: SessionTypes>(sessions: &Sessions<S>, base_url: impl Into<String>) -> AuthHandlerBuilder<S> {
        AuthHandlerBuilder {
            sessions: sessions.clone(),
            base_url: base_url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            store: None,
            providers: Vec::new(),
            on_error: None,
        }
    }

    /// The router: mount it beside your app's routes, outside the session layer (its routes are
    /// for people who are not signed in yet).
    pub fn router(&self) -> axum::Router {
        let list = Arc::clone(&self.inner);
        let step = Arc::clone(&self.inner);
        let jwks = self.inner.jwks.clone();
        let prefix = &self.inner.prefix;
        axum::Router::new()
            .route(prefix, get(move || ready_response(list.provider_list())))
            .route(
                &format!("{prefix}/{{provider}}/{{step}}"),
                any(
                    move |Path((provider, name)): Path<(String, String)>, request: Request| {
                        let inner = Arc::clone(&step);
                        async move { inner.step(&provider, &name, request).await }
                    },
                ),
            )
            .route(
                "/.well-known/jwks.json",
                get(move || ready_response(json_response(StatusCode::OK, jwks.clone()))),
            )
    }
}

fn ready_response(response: Response) -> std::future::Ready<Response> {
    std::future::ready(response)
}

fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn json_response(status: StatusCode, body: String) -> Response {
    respond(status, "application/json", body)
}

fn plain_response(status: StatusCode, body: &'static str) -> Response {
    respond(status, "text/plain; charset=utf-8", body)
}

impl HandlerInner {
    fn provider_list(&self) -> Response {
        let providers: Vec<serde_json::Value> = self
            .providers
            .iter()
            .map(|(mount, _)| serde_json::json!({"name": mount.name, "authorize": mount.authorize.as_str()}))
            .collect();
        json_response(
            StatusCode::OK,
            serde_json::json!({ "providers": providers }).to_string(),
        )
    }

    async fn step(&self, provider: &str, step: &str, request: Request) -> Response {
        let Some((mount, flow)) = self.providers.iter().find(|(mount, _)| mount.name == provider) else {
            return plain_response(StatusCode::NOT_FOUND, "no such sign-in provider");
        };
        let authorize = match step {
            "authorize" => true,
            "callback" => false,
            _ => return plain_response(StatusCode::NOT_FOUND, "no such sign-in step"),
        };
        if request.method() != Method::GET && request.method() != Method::POST {
            return plain_response(StatusCode::METHOD_NOT_ALLOWED, "use GET or POST");
        }
        let request = match self.read(mount, request).await {
            Ok(request) => request,
            Err(error) => return (self.on_error)(provider, error),
        };
        let result = if authorize {
            flow.authorize(&request).await
        } else {
            flow.callback(&request).await
        };
        result.unwrap_or_else(|error| {
            let mut response = (self.on_error)(provider, error);
            request.clear_flow_state(&mut response);
            response
        })
    }

    async fn read(&self, mount: &Arc<Mount>, request: Request) -> Result<FlowRequest, FlowError> {
        let (parts, body) = request.into_parts();
        let mut params: Vec<(String, String)> = parts
            .uri
            .query()
            .map(|query| url::form_urlencoded::parse(query.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let is_form = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        if parts.method == Method::POST && is_form {
            let body = axum::body::to_bytes(body, MAX_BODY)
                .await
                .map_err(|_| FlowError::Body)?;
            params.extend(url::form_urlencoded::parse(&body).into_owned());
        }
        Ok(FlowRequest {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            params,
            mount: Arc::clone(mount),
            store: Arc::clone(&self.store),
        })
    }
}

impl<S: SessionTypes> AuthHandlerBuilder<S> {
    /// Mounts the router somewhere other than `/auth`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Keeps flow state in `store` instead of a new [`MemoryStore`] (share one store between
    /// instances of a service).
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Mounts `provider` at `{prefix}/{name}`; `on_success` turns its claims into the response
    /// that starts the session (usually [`Sessions::cookie`] or [`Sessions::parameter`]).
    pub fn provider<P, F, Fut>(mut self, name: impl Into<String>, provider: P, on_success: F) -> Self
    where
        P: Provider,
        F: Fn(P::Claims) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response, FlowError>> + Send + 'static,
    {
        self.providers
            .push((name.into(), Box::new(Mounted { provider, on_success })));
        self
    }

    /// Answers failed flows with `on_error(provider, reason)` instead of [`default_error_page`].
    pub fn on_error(mut self, on_error: impl Fn(&str, FlowError) -> Response + Send + Sync + 'static) -> Self {
        self.on_error = Some(Box::new(on_error));
        self
    }

    /// Checks the configuration and builds the handler.
    pub fn build(self) -> Result<AuthHandler, HandlerConfigError> {
        let base = Url::parse(&self.base_url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .filter(|url| url.host().is_some() && url.query().is_none() && url.fragment().is_none())
            .filter(|url| url.username().is_empty() && url.password().is_none())
            .ok_or_else(|| HandlerConfigError::BaseUrl(self.base_url.clone()))?;
        let prefix = self.prefix;
        let valid_prefix = prefix.len() > 1
            && prefix.starts_with('/')
            && !prefix.ends_with('/')
            && !prefix.contains("//")
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~'));
        if !valid_prefix {
            return Err(HandlerConfigError::Prefix(prefix));
        }
        if self.providers.is_empty() {
            return Err(HandlerConfigError::NoProviders);
        }
        let base_path = base.path().trim_end_matches('/').to_owned();
        let mut providers: Vec<(Arc<Mount>, Box<dyn Flow>)> = Vec::new();
        for (name, flow) in self.providers {
            let valid_name = (1..=32).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
            if !valid_name {
                return Err(HandlerConfigError::ProviderName(name));
            }
            if providers.iter().any(|(mount, _)| mount.name == name) {
                return Err(HandlerConfigError::DuplicateProvider(name));
            }
            let at = |step: &str| {
                let mut url = base.clone();
                url.set_path(&format!("{base_path}{prefix}/{name}/{step}"));
                url
            };
            let (authorize, callback) = (at("authorize"), at("callback"));
            let flow_cookie = self
                .sessions
                .cookie_options()
                .clone()
                .name(format!("auth-flow-{name}"))
                .path(format!("{base_path}{prefix}/{name}"))
                .max_age(MAX_FLOW_LIFETIME);
            flow_cookie.validate()?;
            let tokens = self
                .sessions
                .sibling(FLOW_TOKEN_TYPE, callback.to_string(), MAX_FLOW_LIFETIME);
            let mount = Mount {
                name,
                authorize,
                callback,
                flow_cookie,
                tokens,
            };
            providers.push((Arc::new(mount), flow));
        }
        let jwks = serde_json::to_string(&self.sessions.jwks()).map_err(HandlerConfigError::Jwks)?;
        Ok(AuthHandler {
            inner: Arc::new(HandlerInner {
                prefix,
                providers,
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                jwks,
                on_error: self.on_error.unwrap_or_else(|| Box::new(default_error_page)),
            }),
        })
    }
}

/// Erases a user callback `Fn(A) -> impl Future<Output = Result<Response, FlowError>>`.
pub(crate) type Callback<A> = Box<dyn Fn(A) -> BoxFuture<'static, Result<Response, FlowError>> + Send + Sync>;

pub(crate) fn callback<A, F, Fut>(f: F) -> Callback<A>
where
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response, FlowError>> + Send + 'static,
{
    Box::new(move |argument| Box::pin(f(argument)))
}

/// A flow's lifetime, between 1 second and [`MAX_FLOW_LIFETIME`].
pub(crate) fn clamp_ttl(ttl: Duration) -> Duration {
    ttl.clamp(Duration::from_secs(1), MAX_FLOW_LIFETIME)
}

/// 32 random bytes, base64url: flow identifiers nobody can guess.
pub(crate) fn random_id() -> Result<String, FlowError> {
    Ok(crate::sessions::random_id::<32>()?)
}
