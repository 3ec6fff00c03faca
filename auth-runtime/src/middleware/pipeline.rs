//! The per-request decision: skip patterns, the landing route, the credential, CSRF, verification
//! through the cache, refresh from the refresh cookie, what a refusal answers (under the
//! [`InvalidTokenPolicy`]), and the authorization rules.

use std::sync::Arc;

use http::header::{CACHE_CONTROL, HeaderValue, RETRY_AFTER, SET_COOKIE};
use http::{Extensions, HeaderMap, Method, Uri, Version};

use super::authz::{Decision, Rules};
use super::canonical::is_canonical;
use super::cookie_refresh::LayerRefresh;
use super::csrf::{is_unsafe, same_origin};
use super::current::ErasedSession;
use super::invalid_token::{InvalidTokenPolicy, refusal_event};
use super::layer::{CookieUpdate, Next, PRIVATE_NO_STORE, Shared};
use super::refusal::{Format, Refusal};
use crate::credentials::{Credential, TokenSource, find_credential};
use crate::refresh::{RefreshCookie, RefreshError};
use crate::telemetry::event;
use crate::verifier::{Authenticated, SessionVerifier, VerifierError};

impl<V: SessionVerifier> Shared<V> {
    pub(super) async fn decide(
        &self,
        method: &Method,
        uri: &Uri,
        version: Version,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Next {
        let path = access_path(uri, extensions);
        // A path that is not in canonical form is never skipped: a router or proxy behind the
        // layer that normalizes it could route it elsewhere than the skip pattern says. Under
        // authorization rules it is refused before anything else.
        // Checked only where it matters, so a layer without rules pays for it only on a path a
        // skip pattern matches.
        if self.rules.is_some() && !is_canonical(path) {
            return Next::Respond(
                Refusal::BadRequest.response("the request path is not in canonical form", Format::of(headers)),
            );
        }
        let skipped = self.skip.iter().any(|pattern| pattern.matches(path));
        if skipped && (self.rules.is_some() || is_canonical(path)) {
            return Next::Continue(None, CookieUpdate::Keep, None);
        }
        let decision = self.decide_session(method, uri, version, headers, extensions).await;
        match (&self.rules, decision) {
            (Some(rules), Next::Continue(session, clear, token)) => {
                self.authorize(rules, path, session, clear, token, headers)
            }
            (_, decision) => decision,
        }
    }

    /// The rules' decision on a request whose session (or absence of one) is known.
    fn authorize(
        &self,
        rules: &Rules<V::Session>,
        path: &str,
        session: Option<Arc<dyn ErasedSession>>,
        clear: CookieUpdate,
        token: Option<Arc<str>>,
        headers: &HeaderMap,
    ) -> Next {
        let typed = session
            .clone()
            .and_then(|session| session.as_any().downcast::<Authenticated<V::Session>>().ok());
        let subject = typed
            .as_ref()
            .and_then(|authenticated| authenticated.subject.as_deref());
        // `decide` refused a path that is not canonical before anything else.
        let decision = rules.evaluate_canonical(
            path,
            typed.as_ref().map(|authenticated| &authenticated.session),
            subject,
        );
        let format = Format::of(headers);
        let mut response = match decision {
            Decision::Allow => return Next::Continue(session, clear, token),
            Decision::NotCanonical => Refusal::BadRequest.response("the request path is not in canonical form", format),
            Decision::Deny if typed.is_some() => {
                Refusal::Forbidden.response("not allowed by the authorization rules", format)
            }
            Decision::Deny => Refusal::Unauthenticated.response("a session is required", format),
        };
        self.set_cookies(response.headers_mut(), &clear);
        Next::Respond(response)
    }

    /// The session of a request the layer covers: the landing route, the credential, CSRF, and
    /// verification through the cache.
    async fn decide_session(
        &self,
        method: &Method,
        uri: &Uri,
        version: Version,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Next {
        let path = uri.path();
        let format = Format::of(headers);
        // `?token=` is read on a navigation, and on the same-origin POST of the page that asks
        // before a token not bound to this browser goes in.
        if self.landing.as_deref() == Some(path)
            && matches!(*method, Method::GET | Method::HEAD | Method::POST)
            // Boxed: the landing future is large and rare; every other request would carry its size.
            && let Some(response) = Box::pin(self.landing(method, uri, headers, format)).await
        {
            return Next::Respond(response);
        }
        let credential = find_credential(headers, Some(uri), &self.sources, self.cookie.cookie_name());
        let (token, source) = match credential {
            Ok(Credential::None) => {
                if let Some(refreshed) = self
                    .refresh_from_cookie(method, uri, version, headers, extensions)
                    .await
                {
                    return refreshed;
                }
                return Next::Continue(None, CookieUpdate::Keep, None);
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
        if source.is_ambient()
            && let Some(refused) = self.cross_site(method, uri, version, headers, format)
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
                Next::Continue(Some(authenticated), CookieUpdate::Keep, Some(token))
            }
            Err(error) => {
                refusal_event(&error, source.as_str(), &token);
                // A session cookie refused for what it is (expired, most often; not a backend
                // that could not answer) is replaced when the refresh cookie is there.
                if source == TokenSource::Cookie
                    && !matches!(*error, VerifierError::BackendUnavailable(_))
                    && let Some(refreshed) = self
                        .refresh_from_cookie(method, uri, version, headers, extensions)
                        .await
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
    ///
    /// A native gRPC call (HTTP/2, `content-type: application/grpc...` but not gRPC-Web) is not
    /// checked: it sends no `Origin`, and a browser cannot send that content type to another
    /// origin without a CORS preflight, which a gRPC service does not answer. gRPC-Web, which a
    /// page on another site can send, is checked like any request.
    pub(super) fn cross_site(
        &self,
        method: &Method,
        uri: &Uri,
        version: Version,
        headers: &HeaderMap,
        format: Format,
    ) -> Option<Next> {
        let native_grpc = format == Format::Grpc && version == Version::HTTP_2;
        if !self.csrf || !is_unsafe(method) || native_grpc || same_origin(headers, uri, &self.origins, &self.site) {
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
        Some(Next::Respond(
            Refusal::Forbidden.response("cross-site request with the session cookie refused", format),
        ))
    }

    /// The request's session from its refresh cookie, when the layer refreshes and the request
    /// carries one: `None` without it. A request that carries the cookie more than once (a
    /// sibling host can set one of the same name) is treated as carrying none of them: it goes
    /// on signed out and the cookies are cleared, never guessed between.
    pub(super) async fn refresh_from_cookie(
        &self,
        method: &Method,
        uri: &Uri,
        version: Version,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Option<Next> {
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
                Some(Next::Continue(None, CookieUpdate::Clear, None))
            }
            RefreshCookie::One(token) => {
                // The refresh cookie is a session cookie too: the same CSRF rule before it is used.
                if let Some(refused) = self.cross_site(method, uri, version, headers, Format::of(headers)) {
                    return Some(refused);
                }
                Some(self.refreshed(refresh, &token, uri, headers, extensions).await)
            }
        }
    }

    /// The request's session from its refresh cookie (the CSRF rule has passed): a new pair
    /// (shared with the requests that carry the same refresh token), verified like any token.
    async fn refreshed(
        &self,
        refresh: &LayerRefresh,
        refresh_token: &str,
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Next {
        let format = Format::of(headers);
        let (pair, cookies) = match refresh.refresh(refresh_token, headers, extensions).await {
            Ok(refreshed) => refreshed,
            Err(error) => return self.refresh_refused(&error, uri, format),
        };
        let cookies = CookieUpdate::SetPair(Arc::new(cookies));
        let (verified, _outcome) = self.cache.verify_observed(&pair.access_token, headers).await;
        match verified {
            Ok(authenticated) => {
                event!(
                    debug,
                    SESSION,
                    subject = authenticated.subject.as_deref(),
                    "session refreshed"
                );
                Next::Continue(
                    Some(authenticated),
                    cookies,
                    Some(Arc::from(pair.access_token.as_str())),
                )
            }
            Err(error) => {
                refusal_event(&error, "refresh", &pair.access_token);
                match self.refused(&error, format) {
                    Next::Respond(mut response) => {
                        self.set_cookies(response.headers_mut(), &cookies);
                        Next::Respond(response)
                    }
                    Next::Continue(session, _, token) => Next::Continue(session, cookies, token),
                }
            }
        }
    }

    /// What a refresh that did not happen answers: a refresh token that is no longer good signs
    /// the request out and clears the cookies; a limit is `429` with `Retry-After`, and a store
    /// that could not answer `503`, both keeping the cookies; a client address that cannot be
    /// told (a configuration error, logged at ERROR where it is read) is `500`.
    fn refresh_refused(&self, error: &RefreshError, uri: &Uri, format: Format) -> Next {
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
                Next::Respond(response)
            }
            RefreshError::ClientAddressUnknown => {
                Next::Respond(Refusal::Misconfigured.response("the session could not be refreshed", format))
            }
            error if error.is_invalid_grant() => {
                event!(
                    debug,
                    SESSION,
                    reason = error.kind(),
                    path = uri.path(),
                    "refresh cookie refused"
                );
                Next::Continue(None, CookieUpdate::Clear, None)
            }
            _error => {
                event!(
                    warn,
                    SESSION,
                    reason = _error.kind(),
                    "session refresh failed; cookies kept"
                );
                Next::Respond(Refusal::Unavailable.response("the session could not be refreshed; try again", format))
            }
        }
    }

    /// A refused session cookie: refused as any token, and cleared, so the browser stops sending
    /// it; under [`InvalidTokenPolicy::SignOutPages`] a page navigation goes on signed out. A
    /// backend that could not answer says nothing about the token: that cookie is kept.
    pub(super) fn refused_cookie(&self, error: &VerifierError, method: &Method, format: Format) -> Next {
        if matches!(error, VerifierError::BackendUnavailable(_)) {
            return self.refused(error, format);
        }
        // A page navigation: a `GET` or `HEAD` that asks for HTML (and is not gRPC).
        if self.invalid == InvalidTokenPolicy::SignOutPages
            && format == Format::Html
            && matches!(*method, Method::GET | Method::HEAD)
        {
            return Next::Continue(None, CookieUpdate::Clear, None);
        }
        match self.refused(error, format) {
            Next::Continue(session, _, token) => Next::Continue(session, CookieUpdate::Clear, token),
            Next::Respond(mut response) => {
                if let Some(clear) = &self.clear_cookie {
                    response.headers_mut().append(SET_COOKIE, clear.clone());
                    response
                        .headers_mut()
                        .insert(CACHE_CONTROL, HeaderValue::from_static(PRIVATE_NO_STORE));
                }
                Next::Respond(response)
            }
        }
    }

    /// A verifier's refusal: [`invalid`](Self::invalid), except that a backend that could not
    /// answer is 503 (gRPC: Unavailable), so clients retry instead of dropping a good token. The
    /// cause stays out of the response: it describes the infrastructure, not the token.
    pub(crate) fn refused(&self, error: &VerifierError, format: Format) -> Next {
        match (error, self.invalid) {
            (VerifierError::BackendUnavailable(_), InvalidTokenPolicy::Reject | InvalidTokenPolicy::SignOutPages) => {
                Next::Respond(Refusal::Unavailable.response("the session backend is unavailable; try again", format))
            }
            _ => self.invalid(&error.to_string(), format),
        }
    }

    pub(super) fn invalid(&self, reason: &str, format: Format) -> Next {
        match self.invalid {
            InvalidTokenPolicy::Reject | InvalidTokenPolicy::SignOutPages => {
                Next::Respond(Refusal::InvalidToken.response(reason, format))
            }
            InvalidTokenPolicy::TreatAsPublic => Next::Continue(None, CookieUpdate::Keep, None),
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
