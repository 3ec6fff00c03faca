//! One tower [`Layer`] for axum and tonic: reads the token, verifies it through the cache, and
//! hands the typed session to the handler, in the request extensions and through
//! [`use_session`] (SST's hook style, a task-local set around the inner service).
//!
//! Per request, in order:
//! 1. A path matching a skip pattern passes through untouched (no session is read).
//! 2. On the landing route, a `?token=` is verified, moved into the session cookie, and the
//!    browser redirected to the same URL without it. `?token=` is read nowhere else.
//! 3. The token is read: `Authorization: Bearer`, then the session cookie (configurable with
//!    `token_sources`). None: a public request.
//! 4. A cookie-authenticated request with an unsafe method (POST, PUT, PATCH, DELETE) must be
//!    same-origin (`Sec-Fetch-Site: same-origin`, or an `Origin` that is allowed or matches
//!    `Host`), else 403. Bearer requests are exempt: browsers never attach them on their own.
//! 5. The token is verified; a failure is 401 with a short JSON reason, or, under the lenient
//!    policy, a public request. A verifier whose backend could not answer
//!    ([`BackendUnavailable`](crate::VerifierError::BackendUnavailable): a store that is down)
//!    gets 503 with `Retry-After` instead, so the client keeps its token and tries again; no
//!    session is ever granted without the backend's answer.
//!
//! gRPC requests (`content-type: application/grpc...`) get `grpc-status` 16 (Unauthenticated),
//! 7 (PermissionDenied) and 14 (Unavailable) instead of 401, 403 and 503.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST, HeaderValue, ORIGIN, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Extensions, HeaderMap, Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use tower_layer::Layer;
use tower_service::Service;

use crate::SessionTypes;
use crate::cache::SessionCache;
use crate::cookie::CookieOptions;
use crate::extract::{Credential, DEFAULT_SOURCES, TokenSource, find_credential};
use crate::sessions::found;
use crate::verifier::{Authenticated, SessionVerifier, VerifierError};

tokio::task_local! {
    static CURRENT: Option<Arc<dyn ErasedSession>>;
}

/// The session of the request being served, as the middleware verified it: SST's `useSession()`.
///
/// `None` for a public request, and outside the middleware (including in tasks the handler
/// spawns: a task-local does not cross `tokio::spawn`; pass the session along instead).
pub fn use_session<S: SessionTypes + Clone>() -> Option<S> {
    use_authenticated::<S>().map(|authenticated| authenticated.session.clone())
}

/// [`use_session`] with the session's expiry, subject and id, without cloning it.
pub fn use_authenticated<S: SessionTypes>() -> Option<Arc<Authenticated<S>>> {
    CURRENT
        .try_with(|current| current.clone())
        .ok()
        .flatten()
        .and_then(downcast::<S>)
}

/// [`use_session`] for code that must not run without a session.
pub fn require_session<S: SessionTypes + Clone>() -> Result<S, NoSession> {
    use_session().ok_or(NoSession)
}

/// The session the middleware put in a request's extensions (for frameworks without extractors).
pub fn session_from_extensions<S: SessionTypes>(extensions: &Extensions) -> Option<Arc<Authenticated<S>>> {
    extensions
        .get::<CurrentSession>()
        .and_then(|current| downcast::<S>(Arc::clone(&current.0)))
}

/// There is no session: a public request, or code running outside the session middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no session for this request")]
pub struct NoSession;

/// A verified session with its type erased, so one task-local and one extension serve every
/// session enum, and `Require<T>` can narrow without naming the enum.
pub(crate) trait ErasedSession: Send + Sync {
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    #[cfg_attr(
        not(feature = "axum"),
        allow(dead_code, reason = "only the axum `Require<T>` extractor narrows")
    )]
    fn variant(&self) -> Option<&(dyn Any + Send + Sync)>;
}

impl<S: SessionTypes> ErasedSession for Authenticated<S> {
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    fn variant(&self) -> Option<&(dyn Any + Send + Sync)> {
        self.session.variant_any()
    }
}

fn downcast<S: SessionTypes>(erased: Arc<dyn ErasedSession>) -> Option<Arc<Authenticated<S>>> {
    erased.as_any().downcast::<Authenticated<S>>().ok()
}

/// The request extension holding the verified session.
#[derive(Clone)]
pub(crate) struct CurrentSession(pub(crate) Arc<dyn ErasedSession>);

/// What the layer does with a token that fails verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidTokenPolicy {
    /// 401 (gRPC: Unauthenticated) with the reason. The default.
    Reject,
    /// Treat the request as public, as if no token had been sent.
    TreatAsPublic,
}

/// The session middleware; see the [module documentation](self) for what it does per request.
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

struct Shared<V: SessionVerifier> {
    cache: SessionCache<V>,
    cookie: CookieOptions,
    sources: Vec<TokenSource>,
    invalid: InvalidTokenPolicy,
    skip: Vec<String>,
    landing: Option<String>,
    csrf: bool,
    origins: Vec<url::Origin>,
}

/// Configures a [`SessionLayer`].
pub struct SessionLayerBuilder<V: SessionVerifier> {
    shared: Shared<V>,
    origin_errors: Vec<crate::redirect::InvalidOrigin>,
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
                invalid: InvalidTokenPolicy::Reject,
                skip: Vec::new(),
                landing: None,
                csrf: true,
                origins: Vec::new(),
            },
            origin_errors: Vec::new(),
        }
    }

    /// The cache, for invalidation (`invalidate_token`, `invalidate_subject`, ...).
    pub fn cache(&self) -> &SessionCache<V> {
        &self.shared.cache
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

    /// What to do with a token that fails verification; [`InvalidTokenPolicy::Reject`] by default.
    pub fn invalid_token(mut self, policy: InvalidTokenPolicy) -> Self {
        self.shared.invalid = policy;
        self
    }

    /// Skips authentication for paths matching `pattern`, where `*` matches any run of
    /// characters: `/health`, `/assets/*`, or a gRPC method `grpc.health.v1.Health/*`.
    pub fn skip(mut self, pattern: impl Into<String>) -> Self {
        let pattern = pattern.into();
        let pattern = if pattern.starts_with('/') {
            pattern
        } else {
            format!("/{pattern}")
        };
        self.shared.skip.push(pattern);
        self
    }

    /// The one path where `?token=<jwt>` is accepted (the target of `Sessions::parameter`): the
    /// token is moved into the session cookie and the browser sent to the same URL without it.
    pub fn landing_route(mut self, path: impl Into<String>) -> Self {
        self.shared.landing = Some(path.into());
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
        match crate::redirect::parse_origin(origin) {
            Ok(origin) => self.shared.origins.push(origin),
            Err(error) => self.origin_errors.push(error),
        }
        self
    }

    /// Builds the layer; fails on an origin that is not `scheme://host[:port]` or bad cookie options.
    pub fn build(self) -> Result<SessionLayer<V>, crate::ConfigError> {
        if let Some(error) = self.origin_errors.into_iter().next() {
            return Err(crate::ConfigError::RedirectOrigin(error));
        }
        self.shared.cookie.validate()?;
        Ok(SessionLayer {
            shared: Arc::new(self.shared),
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

/// What the middleware decided for one request.
enum Decision {
    /// Run the inner service with this session, or none.
    Continue(Option<Arc<dyn ErasedSession>>),
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
            let decision = shared.decide(request.method(), request.uri(), request.headers()).await;
            let session = match decision {
                Decision::Respond(response) => return Ok(response.map(SessionBody::full)),
                Decision::Continue(session) => session,
            };
            if let Some(session) = &session {
                request.extensions_mut().insert(CurrentSession(Arc::clone(session)));
            }
            // `call` itself runs inside the scope too: a service may read the session
            // synchronously in `call`, before its future is first polled.
            let response = CURRENT.scope(session, async move { inner.call(request).await }).await?;
            Ok(response.map(SessionBody::inner))
        })
    }
}

impl<V: SessionVerifier> Shared<V> {
    async fn decide(&self, method: &Method, uri: &http::Uri, headers: &HeaderMap) -> Decision {
        let path = uri.path();
        if self.skip.iter().any(|pattern| wildcard_match(pattern, path)) {
            return Decision::Continue(None);
        }
        let grpc = is_grpc(headers);
        if self.landing.as_deref() == Some(path)
            // Boxed: the landing future is large and rare; every other request would carry its size.
            && let Some(response) = Box::pin(self.landing(uri, headers, grpc)).await
        {
            return Decision::Respond(response);
        }
        let credential = find_credential(headers, &self.sources, self.cookie.cookie_name(), || {
            self.cookie.find(headers)
        });
        let (token, source) = match credential {
            Ok(Credential::None) => return Decision::Continue(None),
            Ok(Credential::Found(token, source)) => (token, source),
            Err(error) => return self.invalid(&error.to_string(), grpc),
        };
        if source == TokenSource::Cookie && self.csrf && is_unsafe(method) && !same_origin(headers, &self.origins) {
            return Decision::Respond(refusal(
                Refusal::Forbidden,
                "cross-site request with the session cookie refused",
                grpc,
            ));
        }
        match self.cache.verify(&token, headers).await {
            Ok(authenticated) => Decision::Continue(Some(authenticated)),
            Err(error) => self.refused(&error, grpc),
        }
    }

    /// A verifier's refusal: [`invalid`](Self::invalid), except that a backend that could not
    /// answer is 503 (gRPC: Unavailable), so clients retry instead of dropping a good token. The
    /// cause stays out of the response: it describes the infrastructure, not the token.
    fn refused(&self, error: &VerifierError, grpc: bool) -> Decision {
        match (error, self.invalid) {
            (VerifierError::BackendUnavailable(_), InvalidTokenPolicy::Reject) => Decision::Respond(refusal(
                Refusal::Unavailable,
                "the session backend is unavailable; try again",
                grpc,
            )),
            _ => self.invalid(&error.to_string(), grpc),
        }
    }

    fn invalid(&self, reason: &str, grpc: bool) -> Decision {
        match self.invalid {
            InvalidTokenPolicy::Reject => Decision::Respond(refusal(Refusal::Unauthenticated, reason, grpc)),
            InvalidTokenPolicy::TreatAsPublic => Decision::Continue(None),
        }
    }

    /// The landing route with a `?token=`: verify it, set the cookie, redirect without it.
    /// `None` when the query has no token (the request then goes on as usual).
    async fn landing(&self, uri: &http::Uri, headers: &HeaderMap, grpc: bool) -> Option<Response<Bytes>> {
        let (token, location) = split_landing_token(uri)?;
        let set_cookie = match self.cache.verify(&token, headers).await {
            Ok(authenticated) => {
                let now = self.cache.now();
                let max_age = authenticated
                    .expires_at
                    .map(|expires_at| expires_at.saturating_sub(now));
                // A verifier may accept tokens a cookie cannot carry: refused, not silently dropped.
                match self.cookie.set_cookie_header(&token, max_age) {
                    Ok(set_cookie) => Some(set_cookie),
                    Err(error) => return Some(refusal(Refusal::Unauthenticated, &error.to_string(), grpc)),
                }
            }
            Err(error) => match self.refused(&error, grpc) {
                Decision::Respond(response) => return Some(response),
                // Lenient: drop the bad token from the URL, set nothing.
                Decision::Continue(_) => None,
            },
        };
        Some(
            found::<Bytes>(&location, set_cookie.as_deref())
                .unwrap_or_else(|error| refusal(Refusal::Unauthenticated, &error.to_string(), grpc)),
        )
    }
}

/// The `token` query parameter, and the same URL without it. `None` without a token.
fn split_landing_token(uri: &http::Uri) -> Option<(String, String)> {
    let mut token = None;
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(uri.query()?.as_bytes()) {
        if key == "token" {
            token = Some(value.into_owned());
        } else {
            kept.append_pair(&key, &value);
        }
    }
    let kept = kept.finish();
    let location = if kept.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{kept}", uri.path())
    };
    Some((token?, location))
}

/// Whether `pattern`, where `*` matches any run of characters, matches all of `text`.
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else { return false };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = parts.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(index) => rest = &rest[index + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"))
}

fn is_unsafe(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

/// `Sec-Fetch-Site: same-origin`, or an `Origin` that is allowed or names the `Host` requested.
fn same_origin(headers: &HeaderMap, allowed: &[url::Origin]) -> bool {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes() == b"same-origin")
    {
        return true;
    }
    let Some(origin) = headers.get(ORIGIN).and_then(|origin| origin.to_str().ok()) else {
        return false;
    };
    let Ok(origin) = url::Url::parse(origin) else {
        return false;
    };
    if allowed.contains(&origin.origin()) {
        return true;
    }
    let (Some(origin_host), Some(origin_port)) = (origin.host_str(), origin.port_or_known_default()) else {
        return false;
    };
    let Some(host) = headers.get(HOST).and_then(|host| host.to_str().ok()) else {
        return false;
    };
    // `Host` is `name[:port]`, where an IPv6 name is bracketed and has colons of its own.
    let (host_name, host_port) = match host.rsplit_once(':') {
        Some((name, port)) if !host.ends_with(']') => match port.parse::<u16>() {
            Ok(port) => (name, Some(port)),
            Err(_) => return false,
        },
        _ => (host, None),
    };
    host_name.eq_ignore_ascii_case(origin_host) && host_port.unwrap_or(origin_port) == origin_port
}

enum Refusal {
    Unauthenticated,
    Forbidden,
    Unavailable,
}

/// 401/403 with `{"error": ..., "reason": ...}`, or the gRPC trailers-only equivalent.
fn refusal(kind: Refusal, reason: &str, grpc: bool) -> Response<Bytes> {
    if grpc {
        let code = match kind {
            Refusal::Unauthenticated => "16",
            Refusal::Forbidden => "7",
            Refusal::Unavailable => "14",
        };
        let mut response = Response::new(Bytes::new());
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert("grpc-status", HeaderValue::from_static(code));
        let message = percent_encoding::utf8_percent_encode(reason, percent_encoding::NON_ALPHANUMERIC).to_string();
        if let Ok(message) = HeaderValue::from_str(&message) {
            headers.insert("grpc-message", message);
        }
        return response;
    }
    let (status, error) = match kind {
        Refusal::Unauthenticated => (StatusCode::UNAUTHORIZED, "invalid_token"),
        Refusal::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
        Refusal::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
    };
    let body = serde_json::json!({ "error": error, "reason": reason }).to_string();
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

pin_project_lite::pin_project! {
    /// The response body of [`SessionService`]: the inner service's, or the middleware's own
    /// short refusal or redirect.
    pub struct SessionBody<B> {
        #[pin]
        kind: BodyKind<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = BodyKindProjection]
    enum BodyKind<B> {
        Inner { #[pin] body: B },
        Full { data: Option<Bytes> },
    }
}

impl<B> SessionBody<B> {
    fn inner(body: B) -> Self {
        SessionBody {
            kind: BodyKind::Inner { body },
        }
    }

    fn full(data: Bytes) -> Self {
        SessionBody {
            kind: BodyKind::Full {
                data: (!data.is_empty()).then_some(data),
            },
        }
    }
}

impl<B: Body<Data = Bytes>> Body for SessionBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            BodyKindProjection::Inner { body } => body.poll_frame(cx),
            BodyKindProjection::Full { data } => Poll::Ready(data.take().map(|data| Ok(Frame::data(data)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Inner { body } => body.is_end_stream(),
            BodyKind::Full { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Inner { body } => body.size_hint(),
            BodyKind::Full { data } => SizeHint::with_exact(data.as_ref().map_or(0, |data| data.len() as u64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("valid value"));
        }
        map
    }

    #[test]
    fn origins_match_the_host_with_default_ports_and_ipv6() {
        let same = [
            ("http://127.0.0.1:3000", "127.0.0.1:3000"),
            ("https://app.example.com", "app.example.com"),
            ("https://app.example.com", "APP.example.com:443"),
            ("http://[::1]:8080", "[::1]:8080"),
            ("http://[::1]", "[::1]"),
        ];
        for (origin, host) in same {
            assert!(
                same_origin(&headers(&[("origin", origin), ("host", host)]), &[]),
                "{origin} vs {host}"
            );
        }
        let cross = [
            ("http://127.0.0.1:3001", "127.0.0.1:3000"),
            ("https://app.example.com", "app.example.com:80"),
            ("http://app.example.com", "app.example.com:443"),
            ("https://evil.example", "app.example.com"),
            ("https://app.example.com", "app.example.com:x"),
            ("null", "app.example.com"),
        ];
        for (origin, host) in cross {
            assert!(
                !same_origin(&headers(&[("origin", origin), ("host", host)]), &[]),
                "{origin} vs {host}"
            );
        }
    }

    #[test]
    fn wildcards_match_whole_paths() {
        assert!(wildcard_match("/health", "/health"));
        assert!(!wildcard_match("/health", "/healthz"));
        assert!(wildcard_match("/assets/*", "/assets/app.js"));
        assert!(wildcard_match("/pkg.Service/*", "/pkg.Service/Method"));
        assert!(!wildcard_match("/pkg.Service/*", "/pkg.Other/Method"));
        assert!(wildcard_match("/*/public/*", "/v1/public/x"));
        assert!(wildcard_match("/a*b*c", "/aXbYc"));
        assert!(!wildcard_match("/a*b*c", "/aXcYb"));
    }
}
