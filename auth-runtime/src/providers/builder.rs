//! Configuring an [`AuthHandler`]: its prefix and store, the providers it mounts with their
//! `on_success`, rate limits, refresh tokens and the error page.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use url::Url;

use super::authorization::{
    AUTHORIZATION_LIFETIME, Allow, AllowRequest, AuthorizationServer, ClientConfigError, Clients, Picker, PickerPage,
    ProviderChoice, allow_hook, default_picker,
};
use super::contract::{IdentitySource, Provider};
use super::error::{FlowError, FlowResponse};
use super::error_page::{ErrorPage, default_error_page};
use super::flow::{FLOW_TOKEN_TYPE, MAX_FLOW_LIFETIME, Mount};
use super::handler::{AuthHandler, DEFAULT_PREFIX, HandlerInner};
use super::limits::RateLimits;
use super::mounted::{Flow, Mounted};
use super::token_endpoint::TokenEndpoint;
use crate::cookie::CookieError;
use crate::rate_limit::{ClientAddress, RateLimit};
use crate::refresh::{RefreshTokens, Refresher};
use crate::session_types::SessionTypes;
use crate::sessions::Sessions;
use crate::store::contract::{Store, shared};
use crate::store::memory::MemoryStore;

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
        "with the OpenAuth profile or clients, the Sessions' issuer must be `{expected}` (the base URL and prefix), not `{issuer}`"
    )]
    ///
    /// The same holds with clients registered: `iss` in their redirects, the metadata's `issuer`
    /// and the tokens' `iss` are one value.
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
    /// Clients were registered without the tokens to issue them.
    #[error("clients need tokens to exchange their codes for: add `refresh_tokens(...)`")]
    ClientsWithoutTokens,
    /// A client's registration is not valid.
    #[error(transparent)]
    Client(#[from] ClientConfigError),
}

/// Configures an [`AuthHandler`].
pub struct AuthHandlerBuilder<S> {
    sessions: Sessions<S>,
    base_url: String,
    prefix: String,
    store: Option<Arc<dyn Store>>,
    providers: Vec<(String, Box<dyn Flow>)>,
    on_error: Option<Arc<ErrorPage>>,
    limits: RateLimits,
    refresh: Option<(Arc<dyn Refresher>, bool)>,
    clients: Option<Clients>,
    allow: Option<Box<Allow>>,
    picker: Option<Box<Picker>>,
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
    /// Starts a handler whose flows sign with `sessions`' key (taken by value, like every builder
    /// that keeps a `Sessions`: it is a cheap clone) and whose links and redirect URIs
    /// start with `base_url` (the public origin of this service, like `https://app.example.com`).
    pub fn builder<S: SessionTypes>(sessions: Sessions<S>, base_url: impl Into<String>) -> AuthHandlerBuilder<S> {
        AuthHandlerBuilder {
            sessions,
            base_url: base_url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            store: None,
            providers: Vec::new(),
            on_error: None,
            limits: RateLimits::default(),
            refresh: None,
            clients: None,
            allow: None,
            picker: None,
        }
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
        self.store = Some(shared(store));
        self
    }

    /// Mounts `provider` at `{prefix}/{name}`; `on_success` turns its claims into the response
    /// that starts the session (usually [`Sessions::cookie`] or [`Sessions::parameter`]).
    pub fn provider<P, F, Fut>(mut self, name: impl Into<String>, provider: P, on_success: F) -> Self
    where
        P: Provider,
        F: Fn(P::Claims) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<FlowResponse, FlowError>> + Send + 'static,
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
    /// A refused authorization request that cannot go back to its client (an unknown client, a
    /// redirect URI it has not registered) comes here too, as provider `authorize`.
    pub fn on_error(mut self, on_error: impl Fn(&str, FlowError) -> FlowResponse + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(on_error));
        self
    }

    /// Makes this handler an authorization server for `clients` (OAuth 2.1's authorization code
    /// grant with PKCE; see [`authorization`](super::authorization)): `GET <prefix>/authorize`,
    /// codes exchanged at `POST <prefix>/token` for pairs of the
    /// [`refresh_tokens`](Self::refresh_tokens), which are required, and whose `Sessions`' issuer
    /// must be the base URL and prefix.
    pub fn clients(mut self, clients: Clients) -> Self {
        self.clients = Some(clients);
        self
    }

    /// OpenAuth's `allow`, SST's `onAuthorize`: called for every authorization request the
    /// registry accepted (a registered client, one of its redirect URIs); `false` refuses it
    /// (`unauthorized_client`, sent to the redirect URI). It can refuse what the registry allows,
    /// never allow what the registry refuses.
    pub fn allow<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(AllowRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.allow = Some(allow_hook(hook));
        self
    }

    /// Shows the provider picker with `picker` instead of [`default_picker`] (SST's `onIndex`).
    pub fn picker(mut self, picker: impl Fn(&PickerPage) -> FlowResponse + Send + Sync + 'static) -> Self {
        self.picker = Some(Box::new(picker));
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
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryStore::new()));
        let on_error = self.on_error.unwrap_or_else(|| Arc::new(default_error_page));
        let limits = Arc::new(self.limits);
        let at = |name: &str, step: &str| {
            let mut url = base.clone();
            url.set_path(&format!("{base_path}{prefix}/{name}/{step}"));
            url
        };
        let authorization = match (self.clients, &self.refresh) {
            (None, _) => None,
            (Some(_), None) => return Err(HandlerConfigError::ClientsWithoutTokens),
            (Some(clients), Some((refresher, _))) => {
                let choices = self
                    .providers
                    .iter()
                    .map(|(name, flow)| ProviderChoice {
                        name: name.clone(),
                        label: flow.label().unwrap_or_else(|| name.clone()),
                        action: at(name, "authorize").to_string(),
                        field: (flow.identity_source() == IdentitySource::Requester)
                            .then(|| limits.identity_claim.clone()),
                    })
                    .collect();
                let cookie = self
                    .sessions
                    .cookie_options()
                    .clone()
                    .name("auth-authorization")
                    .path(format!("{base_path}{prefix}"))
                    .max_age(AUTHORIZATION_LIFETIME);
                cookie.validate()?;
                Some(Arc::new(AuthorizationServer {
                    registry: clients.build()?,
                    refresher: Arc::clone(refresher),
                    store: Arc::clone(&store),
                    limits: Arc::clone(&limits),
                    issuer: endpoint_base.clone(),
                    cookie,
                    allow: self.allow,
                    picker: self.picker.unwrap_or_else(|| Box::new(default_picker)),
                    choices,
                    on_error: Arc::clone(&on_error),
                }))
            }
        };
        let token_endpoint = match self.refresh {
            Some((refresher, openauth)) => {
                if (openauth || authorization.is_some()) && refresher.issuer() != endpoint_base {
                    return Err(HandlerConfigError::Issuer {
                        issuer: refresher.issuer().to_owned(),
                        expected: endpoint_base,
                    });
                }
                let jwks_uri = format!("{endpoint_base}/.well-known/jwks.json");
                Some(Arc::new(TokenEndpoint::new(
                    refresher,
                    &endpoint_base,
                    &jwks_uri,
                    authorization.clone(),
                )))
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
            let (authorize, callback) = (at(&name, "authorize"), at(&name, "callback"));
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
                authorization: authorization.clone(),
            };
            providers.push((Arc::new(mount), flow));
        }
        let jwks = serde_json::to_string(&self.sessions.jwks()).map_err(HandlerConfigError::Jwks)?;
        Ok(AuthHandler {
            inner: Arc::new(HandlerInner {
                prefix,
                providers,
                store,
                jwks,
                on_error,
                limits,
                token_endpoint,
            }),
        })
    }
}
