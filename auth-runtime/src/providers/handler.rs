//! [`AuthHandler`]: the `/auth` router. Its builder mounts providers; the router serves the
//! provider list, each provider's two steps (axum's method routing answers 404 and 405 with
//! `Allow`), and the JWKS document.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::routing::{MethodRouter, get, post};
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderValue, RETRY_AFTER, X_CONTENT_TYPE_OPTIONS};
use http::{Method, StatusCode};
use url::Url;

use super::contract::{BoxFuture, IdentitySource, Provider, Step};
use super::error::{FlowError, Response};
use super::flow::{FLOW_TOKEN_TYPE, FlowRequest, MAX_FLOW_LIFETIME, Mount};
use super::limits::RateLimits;
use super::token_endpoint::TokenEndpoint;
use crate::binding::with_flow_binding;
use crate::cookie::CookieError;
use crate::rate_limit::{ClientAddress, RateLimit};
use crate::refresh::{RefreshTokens, Refresher};
use crate::session_types::SessionTypes;
use crate::sessions::Sessions;
use crate::store::contract::Store;
use crate::store::memory::MemoryStore;
use crate::telemetry::event;

/// The default mount point of the router.
pub const DEFAULT_PREFIX: &str = "/auth";

/// The longest error message the default page shows: a message can quote what the request
/// carried (an identity provider's `error`, a token's issuer), which is attacker text.
const MAX_ERROR_MESSAGE: usize = 200;

/// The default `on_error`: a plain-text page with the status of [`FlowError::status`]. Server-side
/// failures get a generic message; their detail is for your logs, not the browser. The message
/// is cut to 200 characters with control characters replaced, and the page is sent with
/// `X-Content-Type-Options: nosniff`, so quoted request text can never be read as HTML.
pub fn default_error_page(provider: &str, error: FlowError) -> Response {
    let status = error.status();
    let message = if status.is_server_error() {
        format!("sign-in with `{provider}` failed; try again later")
    } else {
        shortened(&error.to_string())
    };
    let mut response = respond(status, "text/plain; charset=utf-8", message);
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `message` cut to [`MAX_ERROR_MESSAGE`] characters, control characters shown as `?`.
fn shortened(message: &str) -> String {
    let mut shown: String = message
        .chars()
        .take(MAX_ERROR_MESSAGE)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if message.chars().nth(MAX_ERROR_MESSAGE).is_some() {
        shown.push('…');
    }
    shown
}

/// A provider with its `on_success`, type-erased so providers of different claims share a router.
trait Flow: Send + Sync {
    fn identity_source(&self) -> IdentitySource;
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
    fn identity_source(&self) -> IdentitySource {
        self.provider.identity_source()
    }

    fn authorize<'a>(&'a self, request: &'a FlowRequest) -> BoxFuture<'a, Result<Response, FlowError>> {
        Box::pin(self.provider.authorize(request))
    }

    fn callback<'a>(&'a self, request: &'a FlowRequest) -> BoxFuture<'a, Result<Response, FlowError>> {
        Box::pin(async move {
            match self.provider.callback(request).await? {
                Step::Respond(response) => Ok(response),
                Step::Success(claims) => {
                    // `Sessions::parameter` in `on_success` binds its token to the browser's
                    // landing nonce, when the sign-in started with one. `on_success` is called
                    // inside the scope too: it may sign before it returns its future.
                    let binding = request.landing_binding();
                    let bound = binding.is_some();
                    let success = async { (self.on_success)(claims).await };
                    let mut response = with_flow_binding(binding, success).await?;
                    event!(info, SIGN_IN, provider = request.provider(), bound, "signed in");
                    request.clear_flow_state(&mut response);
                    if bound {
                        request.clear_landing_binding(&mut response);
                    }
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
    limits: Arc<RateLimits>,
    token_endpoint: Option<Arc<TokenEndpoint>>,
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
    /// No provider was mounted (and no token endpoint).
    #[error("no provider; add one with `provider(name, provider, on_success)`")]
    NoProviders,
    /// Under the OpenAuth profile the tokens' issuer must be where the token endpoint is: the
    /// base URL and prefix, which OpenAuth's client is given as its `issuer`.
    #[error(
        "with the OpenAuth profile the Sessions' issuer must be `{expected}` (the base URL and prefix), not `{issuer}`"
    )]
    Issuer {
        /// The `Sessions`' issuer.
        issuer: String,
        /// The base URL and prefix.
        expected: String,
    },
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
    limits: RateLimits,
    refresh: Option<(Arc<dyn Refresher>, bool)>,
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
            limits: RateLimits::default(),
            refresh: None,
        }
    }

    /// The router: mount it beside your app's routes, outside the session layer (its routes are
    /// for people who are not signed in yet).
    pub fn router(&self) -> axum::Router {
        let list = Arc::clone(&self.inner);
        let jwks = self.inner.jwks.clone();
        let prefix = &self.inner.prefix;
        let mut router = axum::Router::new()
            .route(prefix, get(move || ready_response(list.provider_list())))
            .route(
                "/.well-known/jwks.json",
                get(move || ready_response(json_response(StatusCode::OK, jwks.clone()))),
            );
        if let Some(endpoint) = &self.inner.token_endpoint {
            // OpenAuth's client finds everything under its issuer, the base URL and prefix.
            let jwks = self.inner.jwks.clone();
            let metadata = Arc::clone(endpoint);
            let token = Arc::clone(endpoint);
            router = router
                .route(
                    &format!("{prefix}/.well-known/jwks.json"),
                    get(move || ready_response(json_response(StatusCode::OK, jwks.clone()))),
                )
                .route(
                    &format!("{prefix}/.well-known/oauth-authorization-server"),
                    get(move || ready_response(metadata.metadata())),
                )
                .route(
                    &format!("{prefix}/token"),
                    post(move |request: Request| {
                        let token = Arc::clone(&token);
                        async move { token.token(request).await }
                    }),
                );
        }
        for (index, (mount, _)) in self.inner.providers.iter().enumerate() {
            let name = &mount.name;
            router = router
                .route(
                    &format!("{prefix}/{name}/authorize"),
                    self.step_route(index, StepKind::Authorize),
                )
                .route(
                    &format!("{prefix}/{name}/callback"),
                    self.step_route(index, StepKind::Callback),
                );
        }
        router
    }

    /// `GET` and `POST` of one step of provider `index`; other methods get axum's 405.
    fn step_route(&self, index: usize, kind: StepKind) -> MethodRouter {
        let inner = Arc::clone(&self.inner);
        let step = move |request: Request| {
            let inner = Arc::clone(&inner);
            async move { inner.step(index, kind, request).await }
        };
        get(step.clone()).post(step)
    }
}

/// Which of a provider's two steps a route serves.
#[derive(Debug, Clone, Copy)]
enum StepKind {
    Authorize,
    Callback,
}

impl StepKind {
    #[cfg_attr(not(feature = "tracing"), allow(dead_code, reason = "only events show it"))]
    fn as_str(self) -> &'static str {
        match self {
            StepKind::Authorize => "authorize",
            StepKind::Callback => "callback",
        }
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

    async fn step(&self, index: usize, kind: StepKind, request: Request) -> Response {
        let Some((mount, flow)) = self.providers.get(index) else {
            // Routes are made from this list, so every index is in it.
            return respond(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                "no such sign-in provider",
            );
        };
        let request = match FlowRequest::read(mount, &self.store, &self.limits, request).await {
            Ok(request) => request,
            Err(error) => return self.failed(&mount.name, kind, error),
        };
        if request.method() == Method::POST
            && let Err(error) = request.check_same_origin()
        {
            return self.failed(&mount.name, kind, error);
        }
        if let Err(error) = request.check_parameters() {
            return self.failed(&mount.name, kind, error);
        }
        let result = match kind {
            StepKind::Authorize => self.authorize(flow.as_ref(), &request).await,
            StepKind::Callback => flow.callback(&request).await,
        };
        match result {
            Ok(response) => {
                event!(
                    debug,
                    SIGN_IN,
                    provider = mount.name.as_str(),
                    step = kind.as_str(),
                    status = response.status().as_u16(),
                    "sign-in step answered"
                );
                response
            }
            Err(error) => {
                // A request that is not the flow's own (a forged callback, another site's POST
                // or navigation) ends nothing: the person's flow in progress keeps its cookie.
                let foreign = matches!(
                    error,
                    FlowError::StateMismatch | FlowError::CrossSite | FlowError::UsePost
                );
                let mut response = self.failed(&mount.name, kind, error);
                if !foreign {
                    request.clear_flow_state(&mut response);
                }
                response
            }
        }
    }

    /// The authorize step: a flow whose account the requester names starts only with a `POST`
    /// (the same-origin check has run), every parameter given once; then the limits count it.
    async fn authorize(&self, flow: &dyn Flow, request: &FlowRequest) -> Result<Response, FlowError> {
        if flow.identity_source() == IdentitySource::Requester && request.method() != Method::POST {
            return Err(FlowError::UsePost);
        }
        request.check_single_values()?;
        request.count_authorize().await?;
        let mut response = flow.authorize(request).await?;
        request.remember_landing_binding(&mut response)?;
        Ok(response)
    }

    /// The error page of a failed step, and its event: the provider, the step and the kind of
    /// failure at INFO (a person's mistake, an expired link, a rate limit), the message too at
    /// WARN for what is the server's side (the store, the identity provider, issuing).
    fn failed(&self, provider: &str, step: StepKind, error: FlowError) -> Response {
        #[cfg(feature = "tracing")]
        if error.status().is_server_error() {
            event!(warn, SIGN_IN, provider, step = step.as_str(), error = error.kind(), detail = %error, "sign-in step failed");
        } else {
            event!(
                info,
                SIGN_IN,
                provider,
                step = step.as_str(),
                error = error.kind(),
                "sign-in step refused"
            );
        }
        let _ = step;
        self.error_page(provider, error)
    }

    /// `on_error`'s page, with `Retry-After` on a rate limit whatever the page says.
    fn error_page(&self, provider: &str, error: FlowError) -> Response {
        let retry_after = match &error {
            FlowError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        };
        let use_post = matches!(error, FlowError::UsePost);
        let mut response = (self.on_error)(provider, error);
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        if use_post && response.status() == StatusCode::METHOD_NOT_ALLOWED {
            response.headers_mut().insert(ALLOW, HeaderValue::from_static("POST"));
        }
        response
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

    /// How many authorize requests (links and codes sent) one identity may make per window;
    /// [`DEFAULT_REQUESTS_PER_IDENTITY`](super::DEFAULT_REQUESTS_PER_IDENTITY) by default.
    pub fn limit_requests_per_identity(mut self, limit: RateLimit) -> Self {
        self.limits.requests_per_identity = limit;
        self
    }

    /// How many authorize requests one client address may make per window;
    /// [`DEFAULT_REQUESTS_PER_CLIENT`](super::DEFAULT_REQUESTS_PER_CLIENT) by default.
    pub fn limit_requests_per_client(mut self, limit: RateLimit) -> Self {
        self.limits.requests_per_client = limit;
        self
    }

    /// How many codes one identity may submit per window, across all its code flows;
    /// [`DEFAULT_CODE_TRIES_PER_IDENTITY`](super::DEFAULT_CODE_TRIES_PER_IDENTITY) by default.
    pub fn limit_code_tries_per_identity(mut self, limit: RateLimit) -> Self {
        self.limits.code_tries_per_identity = limit;
        self
    }

    /// The claim that names the person signing in, which the per-identity limits count by;
    /// `email` by default.
    pub fn identity_claim(mut self, claim: impl Into<String>) -> Self {
        self.limits.identity_claim = claim.into();
        self
    }

    /// Where the per-client limit reads the client's address; [`ClientAddress::Peer`] by
    /// default, which needs the app served with
    /// `into_make_service_with_connect_info::<SocketAddr>()`. A request whose address cannot
    /// be told is refused (`500`, and an ERROR event that says how to fix it), never counted as
    /// no one: behind a proxy, name the header it sets with [`ClientAddress::TrustedHeader`].
    pub fn client_address(mut self, source: ClientAddress) -> Self {
        self.limits.client_address = source;
        self
    }

    /// Serves `POST <prefix>/token` (the refresh token grant, RFC 6749 section 6) for `tokens`,
    /// with the metadata OpenAuth's client reads (`<prefix>/.well-known/oauth-authorization-server`)
    /// and the public keys again at `<prefix>/.well-known/jwks.json`. Answers are JSON:
    /// `{"access_token", "refresh_token", "token_type": "Bearer", "expires_in"}`, or 400
    /// `invalid_grant` for a refresh token that is unknown, expired, reused or revoked (sign in
    /// again), 503 `temporarily_unavailable` when the store cannot answer (keep the tokens).
    pub fn refresh_tokens(mut self, tokens: RefreshTokens<S>) -> Self
    where
        S: SessionTypes,
    {
        let openauth = tokens.is_openauth();
        self.refresh = Some((Arc::new(tokens), openauth));
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
        if self.providers.is_empty() && self.refresh.is_none() {
            return Err(HandlerConfigError::NoProviders);
        }
        let base_path = base.path().trim_end_matches('/').to_owned();
        let endpoint_base = {
            let mut url = base.clone();
            url.set_path(&format!("{base_path}{prefix}"));
            url.as_str().trim_end_matches('/').to_owned()
        };
        let token_endpoint = match self.refresh {
            Some((refresher, openauth)) => {
                if openauth && refresher.issuer() != endpoint_base {
                    return Err(HandlerConfigError::Issuer {
                        issuer: refresher.issuer().to_owned(),
                        expected: endpoint_base,
                    });
                }
                let jwks_uri = format!("{endpoint_base}/.well-known/jwks.json");
                Some(Arc::new(TokenEndpoint::new(refresher, &endpoint_base, &jwks_uri)))
            }
            None => None,
        };
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
            let landing_cookie = self
                .sessions
                .cookie_options()
                .clone()
                .name("auth-landing")
                .path(format!("{base_path}{prefix}"))
                .max_age(MAX_FLOW_LIFETIME);
            landing_cookie.validate()?;
            let tokens = self
                .sessions
                .sibling(FLOW_TOKEN_TYPE, callback.to_string(), MAX_FLOW_LIFETIME);
            let mount = Mount {
                name,
                authorize,
                callback,
                flow_cookie,
                landing_cookie,
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
                limits: Arc::new(self.limits),
                token_endpoint,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An identity provider's `error` parameter is attacker text: the default page quotes at
    /// most 200 characters of it, never a control character, and forbids content sniffing.
    #[test]
    fn the_default_error_page_does_not_echo_long_attacker_text() {
        let error = FlowError::Denied {
            error: format!("<script>{}\r\n", "A".repeat(10_000)),
            description: None,
        };
        let response = default_error_page("oidc", error);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(response.headers()[CONTENT_TYPE], "text/plain; charset=utf-8");
        let body = shortened(&"A".repeat(10_000));
        assert_eq!(body.chars().count(), MAX_ERROR_MESSAGE + 1);
        assert_eq!(shortened("a\r\nb"), "a??b");
    }
}
