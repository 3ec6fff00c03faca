//! [`AuthHandler`]: the `/auth` router. Its builder mounts providers; the router serves the
//! provider list, each provider's two steps (axum's method routing answers 404 and 405 with
//! `Allow`), and the JWKS document.
use std::fmt;
use std::sync::Arc;

use axum::extract::Request;
use axum::routing::{MethodRouter, get, post};
use http::header::{ALLOW, HeaderValue, RETRY_AFTER};
use http::{Method, StatusCode};

use super::authorization::complete::Start;
use super::authorization::cors;
use super::contract::IdentitySource;
use super::error::{FlowError, FlowResponse};
use super::error_page::{ErrorPage, respond};
use super::flow::{FlowRequest, Mount};
use super::form_post;
use super::limits::RateLimits;
use super::mounted::Flow;
use super::token_endpoint::TokenEndpoint;
use crate::store::contract::Store;
use crate::telemetry::event;

/// The default mount point of the router.
pub const DEFAULT_PREFIX: &str = "/auth";

/// The `/auth` router: build it with [`AuthHandler::builder`], serve [`AuthHandler::router`].
///
/// ```
/// # use auth_runtime::{SessionTypes, Sessions, SigningKey};
/// use auth_runtime::providers::{AuthHandler, FlowError, LinkProvider, FlowResponse};
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
///     Ok::<FlowResponse, FlowError>(FlowResponse::new("check your email".into()))
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
/// let auth = AuthHandler::builder(sessions.clone(), "https://app.example.com")
///     .provider("link", links, on_link_success)
///     .build()?;
/// let app: axum::Router = auth.router();
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AuthHandler {
    pub(super) inner: Arc<HandlerInner>,
}

pub(super) struct HandlerInner {
    pub(super) prefix: String,
    pub(super) providers: Vec<(Arc<Mount>, Box<dyn Flow>)>,
    pub(super) store: Arc<dyn Store>,
    pub(super) jwks: String,
    pub(super) on_error: Arc<ErrorPage>,
    pub(super) limits: Arc<RateLimits>,
    pub(super) token_endpoint: Option<Arc<TokenEndpoint>>,
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

impl AuthHandler {
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
            let mut jwks_route = get(move || ready_response(json_response(StatusCode::OK, jwks.clone())));
            let mut metadata_route = get(move || ready_response(metadata.metadata()));
            let mut token_route = post(move |request: Request| {
                let token = Arc::clone(&token);
                async move { token.token(request).await }
            });
            if let Some(server) = endpoint.authorization() {
                // A front end on another origin reads the public documents and exchanges its
                // code; only the registered clients' origins may call the token endpoint.
                jwks_route = jwks_route.layer(cors::public_documents());
                metadata_route = metadata_route.layer(cors::public_documents());
                token_route = token_route.layer(cors::token_endpoint(Arc::clone(server)));
                let server = Arc::clone(server);
                router = router.route(
                    &format!("{prefix}/authorize"),
                    get(move |request: Request| {
                        let server = Arc::clone(&server);
                        async move { server.authorize(request).await }
                    }),
                );
            }
            router = router
                .route(&format!("{prefix}/.well-known/jwks.json"), jwks_route)
                .route(
                    &format!("{prefix}/.well-known/oauth-authorization-server"),
                    metadata_route,
                )
                .route(&format!("{prefix}/token"), token_route);
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

fn ready_response(response: FlowResponse) -> std::future::Ready<FlowResponse> {
    std::future::ready(response)
}

fn json_response(status: StatusCode, body: String) -> FlowResponse {
    respond(status, "application/json", body)
}

impl HandlerInner {
    fn provider_list(&self) -> FlowResponse {
        let providers: Vec<serde_json::Value> = self
            .providers
            .iter()
            .map(|(mount, flow)| {
                let label = flow.label().unwrap_or_else(|| mount.name.clone());
                serde_json::json!({"name": mount.name, "label": label, "authorize": mount.authorize.as_str()})
            })
            .collect();
        json_response(
            StatusCode::OK,
            serde_json::json!({ "providers": providers }).to_string(),
        )
    }

    async fn step(&self, index: usize, kind: StepKind, request: Request) -> FlowResponse {
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
        if matches!(kind, StepKind::Callback)
            && request.method() == Method::POST
            && flow
                .form_post_origin()
                .is_some_and(|origin| request.is_from_origin(&origin))
        {
            // The provider's own cross-site form POST: posted again from this origin, with the
            // browser's cookies, before anything is read.
            return form_post::repost(&request);
        }
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
    async fn authorize(&self, flow: &dyn Flow, request: &FlowRequest) -> Result<FlowResponse, FlowError> {
        if flow.identity_source() == IdentitySource::Requester && request.method() != Method::POST {
            return Err(FlowError::UsePost);
        }
        request.check_single_values()?;
        let start = request.authorization_start()?;
        if flow.counts_identity_at_authorize() {
            request.count_authorize().await?;
        } else {
            request.count_client().await?;
        }
        let mut response = flow.authorize(request).await?;
        request.remember_landing_binding(&mut response)?;
        if let Some((server, Start::Own { clear: true })) = start {
            server.clear_cookie(&mut response);
        }
        Ok(response)
    }

    /// The error page of a failed step, and its event: the provider, the step and the kind of
    /// failure at INFO (a person's mistake, an expired link, a rate limit), the message too at
    /// WARN for what is the server's side (the store, the identity provider, issuing).
    fn failed(&self, provider: &str, step: StepKind, error: FlowError) -> FlowResponse {
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
    fn error_page(&self, provider: &str, error: FlowError) -> FlowResponse {
        let retry_after = match &error {
            FlowError::RateLimited { retry_after } | FlowError::Busy { retry_after } => Some(*retry_after),
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
