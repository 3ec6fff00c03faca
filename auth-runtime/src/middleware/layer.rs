//! [`SessionLayer`] and its service: the per-request decision (skip, landing route, credential,
//! CSRF, verification through the cache) and running the inner service with the session set.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, HeaderValue, RETRY_AFTER, SET_COOKIE};
use http::uri::Scheme;
use http::{Extensions, HeaderMap, Method, Request, Response, Uri};
use tower_layer::Layer;
use tower_service::Service;

use super::authz::{Rules, RulesError, Verdict, is_canonical};
use super::body::SessionBody;
use super::confirm::{ConfirmPage, LandingBinding, LandingConfirmation, default_landing_page, landing_cookie};
use super::csrf::{SiteScheme, is_unsafe, same_origin};
use super::current::{CURRENT, CurrentSession, ErasedSession};
use super::refresh::LayerRefresh;
use super::refusal::{Format, Refusal};
use super::skip::Pattern;
use crate::cache::SessionCache;
use crate::cookie::{CookieError, CookieOptions};
use crate::credentials::{Credential, DEFAULT_SOURCES, TokenSource, find_credential};
use crate::redirect::{InvalidOrigin, parse_origin};
use crate::refresh::{RefreshCookie, RefreshError, RefreshTokens};
use crate::telemetry::event;
use crate::verifier::{Authenticated, SessionVerifier, VerifierError};

/// What the layer does with a token that fails verification.
///
/// Whatever the policy, a session cookie whose token was refused is cleared on that response
/// (`Max-Age=0`, the cookie's own attributes), so a browser stops sending a cookie that can never
/// pass again (after a key change, an expiry, a revocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvalidTokenPolicy {
    /// 401 (gRPC: Unauthenticated) with the reason, except that a page a browser navigates to
    /// (`GET`/`HEAD` that accepts `text/html`) with a refused session cookie is served signed
    /// out: the person sees the page, not an error they can only fix by clearing cookies. A
    /// refused Bearer token is always 401. The default.
    #[default]
    SignOutPages,
    /// 401 (gRPC: Unauthenticated) with the reason, on every request.
    Reject,
    /// Treat the request as public, as if no token had been sent.
    TreatAsPublic,
}

/// The session middleware; see the [module documentation](crate::middleware) for what it does per
/// request.
pub struct SessionLayer<V: SessionVerifier> {
    shared: Arc<Shared<V>>,
}

impl<V: SessionVerifier> Clone for SessionLayer<V> {
    fn clone(&self) -> Self {
        SessionLayer {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// What every clone of the layer and its services share.
pub(super) struct Shared<V: SessionVerifier> {
    pub(super) cache: SessionCache<V>,
    pub(super) cookie: CookieOptions,
    sources: Vec<TokenSource>,
    invalid: InvalidTokenPolicy,
    skip: Vec<Pattern>,
    landing: Option<String>,
    /// Authorization rules, evaluated once the session is known.
    rules: Option<Rules<V::Session>>,
    pub(super) landing_binding: LandingBinding,
    pub(super) landing_page: Box<ConfirmPage<V::Session>>,
    /// The landing nonce cookie, made at build when there is a landing route.
    pub(super) landing_cookie: Option<CookieOptions>,
    /// The `Set-Cookie` that deletes the landing nonce cookie, made once at build.
    pub(super) clear_landing_cookie: Option<HeaderValue>,
    csrf: bool,
    pub(super) origins: Vec<url::Origin>,
    /// How the scheme the service is served on is known (see `csrf.rs`); settled at build.
    pub(super) site: SiteScheme,
    /// The `Set-Cookie` that deletes the session cookie, made once at build.
    clear_cookie: Option<HeaderValue>,
    /// Transparent refresh with a refresh cookie, when configured.
    refresh: Option<LayerRefresh>,
}

/// Why a [`SessionLayer`] could not be built: the error of [`SessionLayerBuilder::build`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayerConfigError {
    /// An origin given to [`allow_origin`](SessionLayerBuilder::allow_origin) is not an origin.
    #[error(transparent)]
    Origin(#[from] InvalidOrigin),
    /// The cookie options break a browser rule.
    #[error(transparent)]
    Cookie(#[from] CookieError),
    /// The authorization rules hold a rule that guards nothing ([`Rules::check`]).
    #[error(transparent)]
    Rules(#[from] RulesError),
}

/// Configures a [`SessionLayer`].
pub struct SessionLayerBuilder<V: SessionVerifier> {
    shared: Shared<V>,
    origin_errors: Vec<InvalidOrigin>,
    /// The configured scheme; without one, `build` takes it from the cookie options.
    scheme: Option<Scheme>,
}

impl<V: SessionVerifier> SessionLayer<V> {
    /// A layer verifying through `cache` (build one with [`SessionCache::new`] or
    /// [`SessionCache::builder`]; a `Sessions` or any other [`SessionVerifier`] goes inside).
    pub fn builder(cache: SessionCache<V>) -> SessionLayerBuilder<V> {
        SessionLayerBuilder {
            shared: Shared {
                cache,
                cookie: CookieOptions::default(),
                sources: DEFAULT_SOURCES.to_vec(),
                invalid: InvalidTokenPolicy::default(),
                skip: Vec::new(),
                landing: None,
                rules: None,
                landing_binding: LandingBinding::default(),
                landing_page: Box::new(default_landing_page),
                landing_cookie: None,
                clear_landing_cookie: None,
                csrf: true,
                origins: Vec::new(),
                // Replaced in `build`, once the cookie options are final.
                site: SiteScheme::FromCookie { secure: true },
                clear_cookie: None,
                refresh: None,
            },
            origin_errors: Vec::new(),
            scheme: None,
        }
    }

    /// The cache, for invalidation (`invalidate_token`, `invalidate_subject`, ...).
    pub fn cache(&self) -> &SessionCache<V> {
        &self.shared.cache
    }

    pub(super) fn shared(&self) -> &Shared<V> {
        &self.shared
    }
}

impl<V: SessionVerifier> SessionLayerBuilder<V> {
    /// The session cookie to read (and to set on the landing route); the defaults otherwise.
    /// Pass `sessions.cookie_options().clone()` to match what `Sessions::cookie` issues.
    pub fn cookie(mut self, cookie: CookieOptions) -> Self {
        self.shared.cookie = cookie;
        self
    }

    /// Where tokens are read from, in order; `[Bearer, Cookie]` by default. `[Cookie]` alone
    /// ignores `Authorization` headers (a browser-only app), `[Bearer]` alone ignores cookies (an
    /// API that must not be reachable with ambient credentials).
    pub fn token_sources(mut self, sources: &[TokenSource]) -> Self {
        self.shared.sources = sources.to_vec();
        self
    }

    /// What to do with a token that fails verification; [`InvalidTokenPolicy::SignOutPages`] by
    /// default.
    pub fn invalid_token(mut self, policy: InvalidTokenPolicy) -> Self {
        self.shared.invalid = policy;
        self
    }

    /// Skips authentication for paths matching `pattern`, where `*` matches any run of
    /// characters: `/health`, `/assets/*`, or a gRPC method `grpc.health.v1.Health/*`. A path
    /// not in canonical form (`//`, `.` or `..` segments, encoded `/`) is never skipped, and under
    /// authorization rules is refused with `400` first. Under axum's `nest`, patterns match the
    /// path the client asked for (axum's `OriginalUri`), not the path inside the nest.
    pub fn skip(mut self, pattern: impl Into<String>) -> Self {
        self.shared.skip.push(Pattern::new(&pattern.into(), false));
        self
    }

    /// The one path where `?token=<jwt>` is accepted (the target of `Sessions::parameter`): the
    /// token is moved into the session cookie and the browser sent to the same URL without it.
    ///
    /// Only in the browser that started the sign-in, by default: the token's `nonce` must match
    /// the browser's landing cookie (see [`SessionLayer::sign_in_redirect`] and
    /// [`SessionLayer::landing_nonce`]). Any other browser is asked first (see
    /// [`landing_binding`](Self::landing_binding)).
    pub fn landing_route(mut self, path: impl Into<String>) -> Self {
        self.shared.landing = Some(path.into());
        self
    }

    /// Evaluates `rules` for every request the layer covers (skipped paths are outside it), once
    /// the session is known: 401 without a session and 403 with one when they deny, 400 for a
    /// path not in canonical form. See [`Rules`].
    pub fn authorize(mut self, rules: Rules<V::Session>) -> Self {
        self.shared.rules = Some(rules);
        self
    }

    /// What the landing route does with a valid token not bound to this browser;
    /// [`LandingBinding::Confirm`] by default.
    pub fn landing_binding(mut self, binding: LandingBinding) -> Self {
        self.shared.landing_binding = binding;
        self
    }

    /// The page that asks before a token not bound to this browser signs it in, instead of
    /// [`default_landing_page`]. It must hold a form that `POST`s to
    /// [`action`](LandingConfirmation::action), and must not submit itself. The default page's
    /// protective headers (`Cache-Control: no-store`, `Referrer-Policy: same-origin`,
    /// `X-Content-Type-Options`, `frame-ancestors 'none'`, `X-Frame-Options`) are added where the
    /// page did not set them.
    pub fn landing_page(
        mut self,
        page: impl Fn(&LandingConfirmation<'_, V::Session>) -> Response<Bytes> + Send + Sync + 'static,
    ) -> Self {
        self.shared.landing_page = Box::new(page);
        self
    }

    /// Whether cookie-authenticated unsafe requests must be same-origin; on by default.
    pub fn csrf_protection(mut self, enabled: bool) -> Self {
        self.shared.csrf = enabled;
        self
    }

    /// An origin (`https://app.example.com`) whose `Origin` header counts as same-origin besides
    /// the request's own `Host`: the front end's, when it is served from another host.
    pub fn allow_origin(mut self, origin: &str) -> Self {
        match parse_origin(origin) {
            Ok(origin) => self.shared.origins.push(origin),
            Err(error) => self.origin_errors.push(error),
        }
        self
    }

    /// Refreshes browsers' sessions on their own: a request whose session cookie is missing or
    /// refused (an expired access token, most often) but that carries the refresh cookie of
    /// `tokens` gets a new pair, in both cookies on that response, and goes on with the new
    /// session. Requests that carry one refresh token at once share one refresh. A refresh token
    /// that is no longer good (expired, reused, revoked) deletes both cookies and the request goes
    /// on signed out; a store that cannot answer is a 503 and the cookies are kept. An unsafe
    /// method from another site is refused (403) before anything is refreshed.
    ///
    /// The layer's verifier must accept `tokens`' access tokens (the same `Sessions`, or a
    /// [`Revocable`](crate::revocation::Revocable) around it, which also refuses a revoked
    /// family's access tokens at once).
    pub fn refresh_tokens(mut self, tokens: RefreshTokens<V::Session>) -> Self {
        self.shared.refresh = Some(LayerRefresh::new(Arc::new(tokens)));
        self
    }

    /// The scheme this service is served on (`Scheme::HTTPS` behind a TLS-terminating proxy, say),
    /// which an `Origin` must use to count as same-origin with the request's `Host`. By default
    /// an HTTP/2 request's own `:scheme`, else HTTPS when the session cookie is `Secure` (plain
    /// HTTP too for loopback hosts), either one when it is not.
    pub fn site_scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = Some(scheme);
        self
    }

    /// Builds the layer; fails on an origin that is not `scheme://host[:port]` or bad cookie options.
    pub fn build(self) -> Result<SessionLayer<V>, LayerConfigError> {
        if let Some(error) = self.origin_errors.into_iter().next() {
            return Err(LayerConfigError::Origin(error));
        }
        self.shared.cookie.validate()?;
        let mut shared = self.shared;
        // Validated options always make a valid header; `None` would only skip the clearing.
        shared.clear_cookie = HeaderValue::from_str(&shared.cookie.clear_cookie_header()).ok();
        if let Some(path) = &shared.landing {
            let cookie = landing_cookie(&shared.cookie, path);
            cookie.validate()?;
            shared.clear_landing_cookie = HeaderValue::from_str(&cookie.clear_cookie_header()).ok();
            shared.landing_cookie = Some(cookie);
        }
        shared.site = match self.scheme {
            Some(scheme) => SiteScheme::Configured(scheme),
            None => SiteScheme::FromCookie {
                secure: shared.cookie.is_secure(),
            },
        };
        if let Some(rules) = &shared.rules {
            rules.check()?;
            // Development builds say what they enforce, once, at start-up.
            #[cfg(debug_assertions)]
            event!(info, AUTHZ, skip = ?shared.skip, "authorization rules, first match wins:\n{}", rules.table());
            let _ = rules;
        }
        Ok(SessionLayer {
            shared: Arc::new(shared),
        })
    }
}

impl<Inner, V: SessionVerifier> Layer<Inner> for SessionLayer<V> {
    type Service = SessionService<Inner, V>;

    fn layer(&self, inner: Inner) -> Self::Service {
        SessionService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service [`SessionLayer`] wraps around an inner service.
pub struct SessionService<Inner, V: SessionVerifier> {
    inner: Inner,
    shared: Arc<Shared<V>>,
}

impl<Inner: Clone, V: SessionVerifier> Clone for SessionService<Inner, V> {
    fn clone(&self) -> Self {
        SessionService {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<Inner: fmt::Debug, V: SessionVerifier> fmt::Debug for SessionService<Inner, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// The `Cache-Control` of every response on which the layer sets a cookie (it replaces the
/// handler's): no cache may keep a response that carries a credential.
const PRIVATE_NO_STORE: &str = "private, no-store";

/// What the middleware decided for one request.
pub(super) enum Decision {
    /// Run the inner service with this session, or none; clear the session cookie on its
    /// response when the flag is set.
    Continue(Option<Arc<dyn ErasedSession>>, ClearCookie),
    /// Answer without running it.
    Respond(Response<Bytes>),
}

impl<Inner, V, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<Inner, V>
where
    Inner: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    Inner::Future: Send,
    V: SessionVerifier,
    ReqBody: Send + 'static,
{
    type Response = Response<SessionBody<ResBody>>;
    type Error = Inner::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone is not ready; the instance `poll_ready` readied goes into the future.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            let decision = shared
                .decide(request.method(), request.uri(), request.headers(), request.extensions())
                .await;
            let (session, clear) = match decision {
                Decision::Respond(response) => return Ok(response.map(SessionBody::full)),
                Decision::Continue(session, clear) => (session, clear),
            };
            // Always set, `None` for a public request: an extractor that finds no extension at
            // all knows the layer is missing, a programming error it reports as such.
            request.extensions_mut().insert(CurrentSession(session.clone()));
            // `call` itself runs inside the scope too: a service may read the session
            // synchronously in `call`, before its future is first polled.
            let mut response = CURRENT.scope(session, async move { inner.call(request).await }).await?;
            shared.set_cookies(response.headers_mut(), &clear);
            Ok(response.map(SessionBody::inner))
        })
    }
}

impl<V: SessionVerifier> Shared<V> {
    async fn decide(&self, method: &Method, uri: &Uri, headers: &HeaderMap, extensions: &Extensions) -> Decision {
        let path = access_path(uri, extensions);
        // A path that is not in canonical form is never skipped: a router or proxy behind the
        // layer that normalizes it could route it elsewhere than the skip pattern says. Under
        // authorization rules it is refused before anything else.
        // Checked only where it matters, so a layer without rules pays for it only on a path a
        // skip pattern matches.
        if self.rules.is_some() && !is_canonical(path) {
            return Decision::Respond(
                Refusal::BadRequest.response("the request path is not in canonical form", Format::of(headers)),
            );
        }
        let skipped = self.skip.iter().any(|pattern| pattern.matches(path));
        if skipped && (self.rules.is_some() || is_canonical(path)) {
            return Decision::Continue(None, ClearCookie::No);
        }
        let decision = self.decide_session(method, uri, headers, extensions).await;
        match (&self.rules, decision) {
            (Some(rules), Decision::Continue(session, clear)) => self.authorize(rules, path, session, clear, headers),
            (_, decision) => decision,
        }
    }

    /// The rules' verdict on a request whose session (or absence of one) is known.
    fn authorize(
        &self,
        rules: &Rules<V::Session>,
        path: &str,
        session: Option<Arc<dyn ErasedSession>>,
        clear: ClearCookie,
        headers: &HeaderMap,
    ) -> Decision {
        let typed = session
            .clone()
            .and_then(|session| session.as_any().downcast::<Authenticated<V::Session>>().ok());
        let subject = typed
            .as_ref()
            .and_then(|authenticated| authenticated.subject.as_deref());
        // `decide` refused a path that is not canonical before anything else.
        let verdict = rules.evaluate_canonical(
            path,
            typed.as_ref().map(|authenticated| &authenticated.session),
            subject,
        );
        let format = Format::of(headers);
        let mut response = match verdict {
            Verdict::Allow => return Decision::Continue(session, clear),
            Verdict::NotCanonical => Refusal::BadRequest.response("the request path is not in canonical form", format),
            Verdict::Deny if typed.is_some() => {
                Refusal::Forbidden.response("not allowed by the authorization rules", format)
            }
            Verdict::Deny => Refusal::Unauthenticated.response("a session is required", format),
        };
        self.set_cookies(response.headers_mut(), &clear);
        Decision::Respond(response)
    }

    /// Writes what `cookies` says onto a response: nothing, the deletion of the session cookie
    /// (and of the refresh cookie, when the layer refreshes), or a refresh's new pair.
    fn set_cookies(&self, headers: &mut HeaderMap, cookies: &ClearCookie) {
        match cookies {
            ClearCookie::No => {}
            ClearCookie::Yes => {
                let refresh = self.refresh.as_ref().and_then(|refresh| refresh.clear_cookie.as_ref());
                for clear in self.clear_cookie.iter().chain(refresh) {
                    headers.append(SET_COOKIE, clear.clone());
                }
                headers.insert(CACHE_CONTROL, HeaderValue::from_static(PRIVATE_NO_STORE));
            }
            ClearCookie::Refreshed(pair) => {
                for cookie in pair.iter() {
                    headers.append(SET_COOKIE, cookie.clone());
                }
                // A refreshed pair must never land in a shared cache, whatever the handler said.
                headers.insert(CACHE_CONTROL, HeaderValue::from_static(PRIVATE_NO_STORE));
            }
        }
    }

    /// The session of a request the layer covers: the landing route, the credential, CSRF, and
    /// verification through the cache.
    async fn decide_session(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Decision {
        let path = uri.path();
        let format = Format::of(headers);
        // `?token=` is read on a navigation, and on the same-origin POST of the page that asks
        // before a token not bound to this browser goes in.
        if self.landing.as_deref() == Some(path)
            && matches!(*method, Method::GET | Method::HEAD | Method::POST)
            // Boxed: the landing future is large and rare; every other request would carry its size.
            && let Some(response) = Box::pin(self.landing(method, uri, headers, format)).await
        {
            return Decision::Respond(response);
        }
        let credential = find_credential(headers, &self.sources, self.cookie.cookie_name(), || {
            self.cookie.find(headers)
        });
        let (token, source) = match credential {
            Ok(Credential::None) => {
                if let Some(refreshed) = self.refresh_from_cookie(method, uri, headers, extensions).await {
                    return refreshed;
                }
                return Decision::Continue(None, ClearCookie::No);
            }
            Ok(Credential::Found(token, source)) => (token, source),
            Err(error) => {
                event!(
                    debug,
                    SESSION,
                    reason = error.kind(),
                    path = uri.path(),
                    "credentials refused"
                );
                return self.invalid(&error.to_string(), format);
            }
        };
        if source == TokenSource::Cookie
            && let Some(refused) = self.cross_site(method, uri, headers, format)
        {
            return refused;
        }
        let (verified, _outcome) = self.cache.verify_observed(&token, headers).await;
        match verified {
            Ok(authenticated) => {
                event!(
                    debug,
                    SESSION,
                    source = source.as_str(),
                    cache = _outcome.as_str(),
                    subject = authenticated.subject.as_deref(),
                    session_type = crate::session_types::SessionTypes::session_type(&authenticated.session),
                    "session accepted"
                );
                Decision::Continue(Some(authenticated), ClearCookie::No)
            }
            Err(error) => {
                refusal_event(&error, source.as_str(), &token);
                // A session cookie refused for what it is (expired, most often; not a backend
                // that could not answer) is replaced when the refresh cookie is there.
                if source == TokenSource::Cookie
                    && !matches!(*error, VerifierError::BackendUnavailable(_))
                    && let Some(refreshed) = self.refresh_from_cookie(method, uri, headers, extensions).await
                {
                    return refreshed;
                }
                if source == TokenSource::Cookie {
                    self.refused_cookie(&error, method, format)
                } else {
                    self.refused(&error, format)
                }
            }
        }
    }

    /// The CSRF rule for a request that carries a session (or refresh) cookie: an unsafe method
    /// must come from this site, or it is refused with 403 before the cookie is used.
    fn cross_site(&self, method: &Method, uri: &Uri, headers: &HeaderMap, format: Format) -> Option<Decision> {
        if !self.csrf || !is_unsafe(method) || same_origin(headers, uri, &self.origins, &self.site) {
            return None;
        }
        event!(
            info,
            SESSION,
            method = method.as_str(),
            path = uri.path(),
            origin = headers
                .get(http::header::ORIGIN)
                .and_then(|value| value.to_str().ok())
                .map(crate::telemetry::shown),
            sec_fetch_site = headers
                .get("sec-fetch-site")
                .and_then(|value| value.to_str().ok())
                .map(crate::telemetry::shown),
            "cross-site request with the session cookie refused"
        );
        Some(Decision::Respond(
            Refusal::Forbidden.response("cross-site request with the session cookie refused", format),
        ))
    }

    /// The request's session from its refresh cookie, when the layer refreshes and the request
    /// carries one: `None` without it. A request that carries the cookie more than once (a
    /// sibling host can set one of the same name) is treated as carrying none of them: it goes
    /// on signed out and the cookies are cleared, never guessed between.
    async fn refresh_from_cookie(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Option<Decision> {
        let refresh = self.refresh.as_ref()?;
        match refresh.token(headers) {
            RefreshCookie::Absent => None,
            RefreshCookie::Several => {
                event!(
                    info,
                    SESSION,
                    path = uri.path(),
                    "the refresh cookie was sent more than once; none is used, and they are cleared"
                );
                Some(Decision::Continue(None, ClearCookie::Yes))
            }
            RefreshCookie::One(token) => Some(self.refreshed(refresh, &token, method, uri, headers, extensions).await),
        }
    }

    /// The request's session from its refresh cookie: a new pair (shared with the requests that
    /// carry the same refresh token), verified like any token.
    async fn refreshed(
        &self,
        refresh: &LayerRefresh,
        refresh_token: &str,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Decision {
        let format = Format::of(headers);
        // The refresh cookie is a session cookie too: the same CSRF rule before it is used.
        if let Some(refused) = self.cross_site(method, uri, headers, format) {
            return refused;
        }
        let (pair, cookies) = match refresh.refresh(refresh_token, headers, extensions).await {
            Ok(refreshed) => refreshed,
            Err(error) => return self.refresh_refused(&error, uri, format),
        };
        let cookies = ClearCookie::Refreshed(Arc::new(cookies));
        let (verified, _outcome) = self.cache.verify_observed(&pair.access_token, headers).await;
        match verified {
            Ok(authenticated) => {
                event!(
                    debug,
                    SESSION,
                    subject = authenticated.subject.as_deref(),
                    "session refreshed"
                );
                Decision::Continue(Some(authenticated), cookies)
            }
            Err(error) => {
                refusal_event(&error, "refresh", &pair.access_token);
                match self.refused(&error, format) {
                    Decision::Respond(mut response) => {
                        self.set_cookies(response.headers_mut(), &cookies);
                        Decision::Respond(response)
                    }
                    Decision::Continue(session, _) => Decision::Continue(session, cookies),
                }
            }
        }
    }

    /// What a refresh that did not happen answers: a refresh token that is no longer good signs
    /// the request out and clears the cookies; a limit is `429` with `Retry-After`, and a store
    /// that could not answer `503`, both keeping the cookies; a client address that cannot be
    /// told (a configuration error, logged at ERROR where it is read) is `500`.
    fn refresh_refused(&self, error: &RefreshError, uri: &Uri, format: Format) -> Decision {
        let _ = uri;
        match error {
            RefreshError::RateLimited { retry_after } => {
                event!(
                    info,
                    SESSION,
                    path = uri.path(),
                    retry_after,
                    "refresh rate limited; cookies kept"
                );
                let mut response = Refusal::TooManyRequests.response("too many refreshes; try again later", format);
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(*retry_after));
                Decision::Respond(response)
            }
            RefreshError::ClientAddressUnknown => {
                Decision::Respond(Refusal::Misconfigured.response("the session could not be refreshed", format))
            }
            error if error.is_invalid_grant() => {
                event!(
                    debug,
                    SESSION,
                    reason = error.kind(),
                    path = uri.path(),
                    "refresh cookie refused"
                );
                Decision::Continue(None, ClearCookie::Yes)
            }
            _error => {
                event!(
                    warn,
                    SESSION,
                    reason = _error.kind(),
                    "session refresh failed; cookies kept"
                );
                Decision::Respond(
                    Refusal::Unavailable.response("the session could not be refreshed; try again", format),
                )
            }
        }
    }

    /// A refused session cookie: refused as any token, and cleared, so the browser stops sending
    /// it; under [`InvalidTokenPolicy::SignOutPages`] a page navigation goes on signed out. A
    /// backend that could not answer says nothing about the token: that cookie is kept.
    fn refused_cookie(&self, error: &VerifierError, method: &Method, format: Format) -> Decision {
        if matches!(error, VerifierError::BackendUnavailable(_)) {
            return self.refused(error, format);
        }
        // A page navigation: a `GET` or `HEAD` that asks for HTML (and is not gRPC).
        if self.invalid == InvalidTokenPolicy::SignOutPages
            && format == Format::Html
            && matches!(*method, Method::GET | Method::HEAD)
        {
            return Decision::Continue(None, ClearCookie::Yes);
        }
        match self.refused(error, format) {
            Decision::Continue(session, _) => Decision::Continue(session, ClearCookie::Yes),
            Decision::Respond(mut response) => {
                if let Some(clear) = &self.clear_cookie {
                    response.headers_mut().append(SET_COOKIE, clear.clone());
                    response
                        .headers_mut()
                        .insert(CACHE_CONTROL, HeaderValue::from_static(PRIVATE_NO_STORE));
                }
                Decision::Respond(response)
            }
        }
    }

    /// A verifier's refusal: [`invalid`](Self::invalid), except that a backend that could not
    /// answer is 503 (gRPC: Unavailable), so clients retry instead of dropping a good token. The
    /// cause stays out of the response: it describes the infrastructure, not the token.
    pub(super) fn refused(&self, error: &VerifierError, format: Format) -> Decision {
        match (error, self.invalid) {
            (VerifierError::BackendUnavailable(_), InvalidTokenPolicy::Reject | InvalidTokenPolicy::SignOutPages) => {
                Decision::Respond(
                    Refusal::Unavailable.response("the session backend is unavailable; try again", format),
                )
            }
            _ => self.invalid(&error.to_string(), format),
        }
    }

    fn invalid(&self, reason: &str, format: Format) -> Decision {
        match self.invalid {
            InvalidTokenPolicy::Reject | InvalidTokenPolicy::SignOutPages => {
                Decision::Respond(Refusal::InvalidToken.response(reason, format))
            }
            InvalidTokenPolicy::TreatAsPublic => Decision::Continue(None, ClearCookie::No),
        }
    }
}

/// The path skip patterns and authorization rules are matched against: the path the client
/// asked for. Under axum's `nest` the inner router sees the path without the nest's prefix; axum
/// keeps the original as `OriginalUri`, which is used when present, so `/admin/*` means the same
/// on a layer inside a nest as outside it.
fn access_path<'a>(uri: &'a Uri, extensions: &'a Extensions) -> &'a str {
    #[cfg(feature = "axum")]
    if let Some(axum::extract::OriginalUri(original)) = extensions.get::<axum::extract::OriginalUri>() {
        return original.path();
    }
    let _ = extensions;
    uri.path()
}

/// The event of a refused credential: its kind, where it came from, the `kid` its header names
/// (escaped, cut short), never the token. A backend that could not answer is a warning.
pub(super) fn refusal_event(error: &VerifierError, source: &'static str, token: &str) {
    if let VerifierError::BackendUnavailable(_) = error {
        event!(warn, SESSION, source, error = %error, "session backend unavailable; answered 503");
    } else {
        event!(
            debug,
            SESSION,
            reason = error.kind(),
            source,
            kid = header_kid(token).as_deref(),
            "token refused"
        );
    }
    let _ = (error, source, token);
}

/// The `kid` a token's header names, shown safely; `None` if it names none or is unreadable.
#[cfg_attr(not(feature = "tracing"), allow(dead_code, reason = "only events show it"))]
fn header_kid(token: &str) -> Option<String> {
    // Bounded: a refused token may be megabytes long, and this is only for an event.
    let header = token.split('.').next().filter(|header| header.len() <= 2048)?;
    let kid = crate::token::verify::read_header(header).ok()?.kid?;
    Some(crate::telemetry::shown(&kid))
}

/// Whether a response gets the `Set-Cookie` that deletes the session cookie, or a refresh's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ClearCookie {
    Yes,
    No,
    /// A refresh happened: the new access and refresh cookies, which every response to this
    /// request must carry (the old refresh token is retired).
    Refreshed(Arc<[HeaderValue; 2]>),
}
