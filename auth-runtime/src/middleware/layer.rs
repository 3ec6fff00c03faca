//! [`SessionLayer`] and its service: the per-request decision (skip, landing route, credential,
//! CSRF, verification through the cache) and running the inner service with the session set.
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, HeaderValue, SET_COOKIE};
use http::{Extensions, HeaderMap, Method, Request, Response, Uri, Version};
use tower_layer::Layer;
use tower_service::Service;

use super::authz::Rules;
use super::body::SessionBody;
use super::cookie_refresh::LayerRefresh;
use super::csrf::SiteScheme;
use super::current::{CURRENT, Current, CurrentSession, Erased};
use super::future::{ResponseFuture, Waited};
use super::invalid_token::InvalidTokenPolicy;
use super::skip::Pattern;
use crate::cache::SessionCache;
use crate::cookie::CookieOptions;
use crate::credentials::{CredentialSource, TokenSource};
use crate::landing::confirm::{ConfirmPage, LandingBinding};
use crate::verifier::SessionVerifier;

/// The session middleware; see the [module documentation](crate::middleware) for what it does per
/// request.
pub struct SessionLayer<V: SessionVerifier> {
    pub(crate) shared: Arc<Shared<V>>,
}

impl<V: SessionVerifier> Clone for SessionLayer<V> {
    fn clone(&self) -> Self {
        SessionLayer {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// What every clone of the layer and its services share.
pub(crate) struct Shared<V: SessionVerifier> {
    pub(crate) cache: SessionCache<V>,
    pub(crate) cookie: CookieOptions,
    pub(crate) sources: Vec<CredentialSource>,
    pub(crate) invalid: InvalidTokenPolicy,
    pub(crate) skip: Vec<Pattern>,
    pub(crate) landing: Option<String>,
    /// Authorization rules, evaluated once the session is known.
    pub(crate) rules: Option<Rules<V::Session>>,
    pub(crate) landing_binding: LandingBinding,
    pub(crate) landing_page: Box<ConfirmPage<V::Session>>,
    /// The landing nonce cookie, made at build when there is a landing route.
    pub(crate) landing_cookie: Option<CookieOptions>,
    /// The `Set-Cookie` that deletes the landing nonce cookie, made once at build.
    pub(crate) clear_landing_cookie: Option<HeaderValue>,
    pub(crate) csrf: bool,
    pub(crate) origins: Vec<url::Origin>,
    /// How the scheme the service is served on is known (see `csrf.rs`); settled at build.
    pub(crate) site: SiteScheme,
    /// The `Set-Cookie` that deletes the session cookie, made once at build.
    pub(crate) clear_cookie: Option<HeaderValue>,
    /// Transparent refresh with a refresh cookie, when configured.
    pub(crate) refresh: Option<LayerRefresh>,
}

impl<V: SessionVerifier> SessionLayer<V> {
    /// The cache, for invalidation (`invalidate_token`, `invalidate_subject`, ...).
    pub fn cache(&self) -> &SessionCache<V> {
        &self.shared.cache
    }

    pub(crate) fn shared(&self) -> &Shared<V> {
        &self.shared
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
pub(crate) const PRIVATE_NO_STORE: &str = "private, no-store";

/// What happens next to a request the middleware has looked at.
pub(crate) enum Next {
    /// Run the inner service with this session (and the token it was verified from, for calls
    /// the service makes on the caller's behalf), or none, and update the cookies on its response.
    Continue(Option<Erased>, CookieUpdate),
    /// Answer without running it.
    Respond(Response<Bytes>),
}

/// Where [`decide_now`](Shared::decide_now) stopped, for [`decide`](Shared::decide) to go on
/// from: nothing it found is looked for again.
pub(crate) enum Undecided {
    /// The landing route, or a request without a credential the refresh cookie may sign in.
    Session,
    /// A token the hot slots did not answer, to verify through the cache proper.
    Verify(Arc<str>, TokenSource),
}

/// The parts of a request the layer reads to decide on it.
#[derive(Clone, Copy)]
pub(crate) struct Asked<'a> {
    pub(crate) method: &'a Method,
    pub(crate) uri: &'a Uri,
    pub(crate) version: Version,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) extensions: &'a Extensions,
}

impl<'a> Asked<'a> {
    fn of<B>(request: &'a Request<B>) -> Self {
        Asked {
            method: request.method(),
            uri: request.uri(),
            version: request.version(),
            headers: request.headers(),
            extensions: request.extensions(),
        }
    }
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
    type Future = ResponseFuture<Inner::Future, ResBody, Inner::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let decided = self.shared.decide_now(Asked::of(&request));
        match decided {
            Ok(Next::Respond(response)) => ResponseFuture::answered(response),
            Ok(Next::Continue(session, CookieUpdate::Keep)) => {
                let current = continue_with(&mut request, session);
                // `call` itself runs inside the scope too: a service may read the session
                // synchronously in `call`, before its future is first polled.
                let future = CURRENT.sync_scope(current.clone(), || self.inner.call(request));
                ResponseFuture::scoped(CURRENT.scope(current, future))
            }
            decided => ResponseFuture::waited(self.wait(request, decided)),
        }
    }
}

impl<Inner, V: SessionVerifier> SessionService<Inner, V> {
    /// The request's response when the layer must wait to decide (`decided` says where
    /// `decide_now` stopped), or must change the response's cookies.
    fn wait<ReqBody, ResBody>(
        &mut self,
        mut request: Request<ReqBody>,
        decided: Result<Next, Undecided>,
    ) -> Waited<ResBody, Inner::Error>
    where
        Inner: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
        Inner::Future: Send,
        ReqBody: Send + 'static,
    {
        // The clone is not ready; the instance `poll_ready` readied goes into the future.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            let decision = match decided {
                Ok(decision) => decision,
                Err(undecided) => shared.decide(Asked::of(&request), undecided).await,
            };
            let (session, cookies) = match decision {
                Next::Respond(response) => return Ok(response.map(SessionBody::full)),
                Next::Continue(session, cookies) => (session, cookies),
            };
            let current = continue_with(&mut request, session);
            let mut response = CURRENT.scope(current, async move { inner.call(request).await }).await?;
            shared.set_cookies(response.headers_mut(), &cookies);
            Ok(response.map(SessionBody::inner))
        })
    }
}

/// Puts `session` in the request's extensions and returns what goes in the task-local scope.
fn continue_with<ReqBody>(request: &mut Request<ReqBody>, session: Option<Erased>) -> Current {
    // Always set, `None` for a public request: an extractor that finds no extension at all knows
    // the layer is missing, a programming error it reports as such.
    request.extensions_mut().insert(CurrentSession(session.clone()));
    session
}

impl<V: SessionVerifier> Shared<V> {
    /// Writes what `cookies` says onto a response: nothing, the deletion of the session cookie
    /// (and of the refresh cookie, when the layer refreshes), or a refresh's new pair.
    pub(crate) fn set_cookies(&self, headers: &mut HeaderMap, cookies: &CookieUpdate) {
        match cookies {
            CookieUpdate::Keep => {}
            CookieUpdate::Clear => {
                let refresh = self.refresh.as_ref().and_then(|refresh| refresh.clear_cookie.as_ref());
                for clear in self.clear_cookie.iter().chain(refresh) {
                    headers.append(SET_COOKIE, clear.clone());
                }
                headers.insert(CACHE_CONTROL, HeaderValue::from_static(PRIVATE_NO_STORE));
            }
            CookieUpdate::SetPair(pair) => {
                for cookie in pair.iter() {
                    headers.append(SET_COOKIE, cookie.clone());
                }
                // A refreshed pair must never land in a shared cache, whatever the handler said.
                headers.insert(CACHE_CONTROL, HeaderValue::from_static(PRIVATE_NO_STORE));
            }
        }
    }
}

/// What the layer writes onto the response's cookies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CookieUpdate {
    /// Nothing.
    Keep,
    /// Delete the session cookie (and the refresh cookie, when the layer refreshes).
    Clear,
    /// A refresh happened: set the new access and refresh cookies, which every response to this
    /// request must carry (the old refresh token is retired).
    SetPair(Arc<[HeaderValue; 2]>),
}
