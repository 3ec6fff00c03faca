//! The per-request decision: skip patterns, the landing route, the credential, CSRF, verification
//! through the cache, refresh from the refresh cookie, what a refusal answers (under the
//! [`InvalidTokenPolicy`]), and the authorization rules.

use std::borrow::Cow;
use std::sync::Arc;

use http::header::{CACHE_CONTROL, HeaderValue, RETRY_AFTER, SET_COOKIE};
use http::{Extensions, HeaderMap, Method, Uri, Version};

use super::authz::{Decision, Rules};
use super::canonical::is_canonical;
use super::cookie_refresh::LayerRefresh;
use super::csrf::{is_unsafe, same_origin};
use super::current::Erased;
use super::invalid_token::{InvalidTokenPolicy, refusal_event};
use super::layer::{Asked, CookieUpdate, Next, PRIVATE_NO_STORE, Shared, Undecided};
use super::refusal::{Format, Refusal};
use crate::cache::{Observed, Outcome, SessionHandle, Verified};
use crate::credentials::{Credential, TokenSource, find_credential};
use crate::refresh::{RefreshCookie, RefreshError};
use crate::telemetry::event;
use crate::verifier::{Authenticated, SessionVerifier, VerifierError};

/// Where reading a request's credential leaves it, before any verification.
enum CredentialStep<'a> {
    /// Decided already: a malformed or doubled credential, or a cross-site request refused.
    Decided(Next),
    /// No credential: a public request, unless the refresh cookie says otherwise.
    Anonymous,
    /// A token to verify (borrowed from the request where it can be), and where it came from.
    Verify(Cow<'a, str>, TokenSource),
}

impl<V: SessionVerifier> Shared<V> {
    /// The decision on a request, when it can be made without waiting on anything: a skipped
    /// path, a public request, a credential refused as it reads, or a token the cache's hot slots
    /// answer. Otherwise where it stopped, for [`decide`](Self::decide); nothing has been said or
    /// counted for the request then.
    pub(super) fn decide_now(&self, asked: Asked<'_>) -> Result<Next, Undecided> {
        // Only skip patterns and rules read the path: without them it is not looked up.
        let path = (self.rules.is_some() || !self.skip.is_empty()).then(|| access_path(asked.uri, asked.extensions));
        if let Some(path) = path
            && let Some(decided) = self.path_step(path, asked.headers)
        {
            return Ok(decided);
        }
        if self.is_landing(asked) {
            return Err(Undecided::Session);
        }
        let decision = match self.credential_step(asked) {
            CredentialStep::Decided(next) => next,
            CredentialStep::Anonymous if self.refresh.is_none() => Next::Continue(None, CookieUpdate::Keep),
            CredentialStep::Anonymous => return Err(Undecided::Session),
            CredentialStep::Verify(token, source) => match self.cache.verify_hot(&token) {
                // The slot's handle on the session and its copy of the token go on with the
                // request: nothing is copied, and the session's shared count is not touched.
                Some(verified) => accepted(verified, source, Outcome::Hit),
                None => return Err(Undecided::Verify(Arc::from(token), source)),
            },
        };
        Ok(match path {
            Some(path) => self.with_rules(path, decision, asked.headers),
            None => decision,
        })
    }

    /// The decision on a request [`decide_now`](Self::decide_now) left `undecided`: the landing
    /// route, the refresh cookie, or verification through the cache proper.
    pub(super) async fn decide(&self, asked: Asked<'_>, undecided: Undecided) -> Next {
        let decision = match undecided {
            Undecided::Session => self.decide_session(asked).await,
            Undecided::Verify(token, source) => {
                let verified = self.cache.verify_past_hot(&token, asked.headers).await;
                self.verified(asked, token, source, verified).await
            }
        };
        self.with_rules(access_path(asked.uri, asked.extensions), decision, asked.headers)
    }

    /// What the path alone decides: a path not in canonical form under authorization rules is
    /// refused, and a skipped path goes on without a session.
    fn path_step(&self, path: &str, headers: &HeaderMap) -> Option<Next> {
        // A path that is not in canonical form is never skipped: a router or proxy behind the
        // layer that normalizes it could route it elsewhere than the skip pattern says. Under
        // authorization rules it is refused before anything else.
        // Checked only where it matters, so a layer without rules pays for it only on a path a
        // skip pattern matches.
        if self.rules.is_some() && !is_canonical(path) {
            return Some(Next::Respond(
                Refusal::BadRequest.response("the request path is not in canonical form", Format::of(headers)),
            ));
        }
        let skipped = self.skip.iter().any(|pattern| pattern.matches(path));
        (skipped && (self.rules.is_some() || is_canonical(path))).then_some(Next::Continue(None, CookieUpdate::Keep))
    }

    /// The authorization rules' decision, when there are rules and the request goes on.
    fn with_rules(&self, path: &str, decision: Next, headers: &HeaderMap) -> Next {
        match (&self.rules, decision) {
            (Some(rules), Next::Continue(session, clear)) => self.authorize(rules, path, session, clear, headers),
            (_, decision) => decision,
        }
    }

    /// Whether this request is for the landing route, which reads `?token=`.
    fn is_landing(&self, asked: Asked<'_>) -> bool {
        self.landing.as_deref() == Some(asked.uri.path())
            && matches!(*asked.method, Method::GET | Method::HEAD | Method::POST)
    }

    /// The request's one credential, and the CSRF rule for one the browser sends on its own.
    fn credential_step<'a>(&self, asked: Asked<'a>) -> CredentialStep<'a> {
        let (uri, headers) = (asked.uri, asked.headers);
        match find_credential(headers, Some(uri), &self.sources, self.cookie.cookie_name()) {
            Ok(Credential::None) => CredentialStep::Anonymous,
            Ok(Credential::Found(token, source)) => match source.is_ambient().then(|| self.cross_site(asked)) {
                Some(Some(refused)) => CredentialStep::Decided(refused),
                _ => CredentialStep::Verify(token, source),
            },
            Err(error) => {
                event!(
                    debug,
                    SESSION,
                    reason = error.kind(),
                    path = uri.path(),
                    "credentials refused"
                );
                CredentialStep::Decided(self.invalid(&error.to_string(), Format::of(headers)))
            }
        }
    }

    /// The rules' decision on a request whose session (or absence of one) is known.
    fn authorize(
        &self,
        rules: &Rules<V::Session>,
        path: &str,
        session: Option<Erased>,
        clear: CookieUpdate,
        headers: &HeaderMap,
    ) -> Next {
        let typed = session
            .as_deref()
            .and_then(|session| session.as_any().downcast_ref::<Arc<Authenticated<V::Session>>>());
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
            Decision::Allow => return Next::Continue(session, clear),
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
    async fn decide_session(&self, asked: Asked<'_>) -> Next {
        let (method, uri, headers) = (asked.method, asked.uri, asked.headers);
        // `?token=` is read on a navigation, and on the same-origin POST of the page that asks
        // before a token not bound to this browser goes in.
        if self.is_landing(asked)
            // Boxed: the landing future is large and rare; every other request would carry its size.
            && let Some(response) = Box::pin(self.landing(method, uri, headers, Format::of(headers))).await
        {
            return Next::Respond(response);
        }
        match self.credential_step(asked) {
            CredentialStep::Decided(next) => next,
            CredentialStep::Anonymous => {
                let refreshed = self.refresh_from_cookie(asked).await;
                refreshed.unwrap_or(Next::Continue(None, CookieUpdate::Keep))
            }
            CredentialStep::Verify(token, source) => {
                let verified = self.cache.verify_observed(&token, headers).await;
                self.verified(asked, Arc::from(token), source, verified).await
            }
        }
    }

    /// What the cache's answer for `token` (found at `source`) decides: the session, or a
    /// refusal; a session cookie refused for what it is gives way to the refresh cookie.
    async fn verified(
        &self,
        asked: Asked<'_>,
        token: Arc<str>,
        source: TokenSource,
        (verified, outcome): Observed<V::Session>,
    ) -> Next {
        match verified {
            Ok(authenticated) => accepted(Verified::handle(authenticated, token), source, outcome),
            Err(error) => {
                refusal_event(&error, source.as_str(), &token);
                // A session cookie refused for what it is (expired, most often; not a backend
                // that could not answer) is replaced when the refresh cookie is there.
                if source == TokenSource::Cookie
                    && !matches!(*error, VerifierError::BackendUnavailable(_))
                    && let Some(refreshed) = self.refresh_from_cookie(asked).await
                {
                    return refreshed;
                }
                let format = Format::of(asked.headers);
                if source == TokenSource::Cookie {
                    self.refused_cookie(&error, asked.method, format)
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
    pub(super) fn cross_site(&self, asked: Asked<'_>) -> Option<Next> {
        let (method, uri, version, headers) = (asked.method, asked.uri, asked.version, asked.headers);
        if !self.csrf || !is_unsafe(method) {
            return None;
        }
        let format = Format::of(headers);
        let native_grpc = format == Format::Grpc && version == Version::HTTP_2;
        if native_grpc || same_origin(headers, uri, &self.origins, &self.site) {
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
    pub(super) async fn refresh_from_cookie(&self, asked: Asked<'_>) -> Option<Next> {
        let (uri, headers) = (asked.uri, asked.headers);
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
                Some(Next::Continue(None, CookieUpdate::Clear))
            }
            RefreshCookie::One(token) => {
                // The refresh cookie is a session cookie too: the same CSRF rule before it is used.
                if let Some(refused) = self.cross_site(asked) {
                    return Some(refused);
                }
                Some(self.refreshed(refresh, &token, asked).await)
            }
        }
    }

    /// The request's session from its refresh cookie (the CSRF rule has passed): a new pair
    /// (shared with the requests that carry the same refresh token), verified like any token.
    async fn refreshed(&self, refresh: &LayerRefresh, refresh_token: &str, asked: Asked<'_>) -> Next {
        let (uri, headers, extensions) = (asked.uri, asked.headers, asked.extensions);
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
                    Some(Verified::handle(authenticated, Arc::from(pair.access_token.as_str()))),
                    cookies,
                )
            }
            Err(error) => {
                refusal_event(&error, "refresh", &pair.access_token);
                match self.refused(&error, format) {
                    Next::Respond(mut response) => {
                        self.set_cookies(response.headers_mut(), &cookies);
                        Next::Respond(response)
                    }
                    Next::Continue(session, _) => Next::Continue(session, cookies),
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
                Next::Continue(None, CookieUpdate::Clear)
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
            return Next::Continue(None, CookieUpdate::Clear);
        }
        match self.refused(error, format) {
            Next::Continue(session, _) => Next::Continue(session, CookieUpdate::Clear),
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
            InvalidTokenPolicy::TreatAsPublic => Next::Continue(None, CookieUpdate::Keep),
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

/// A session the cache answered (with its token, found at `source`): the request goes on with it.
fn accepted<S: crate::session_types::SessionTypes>(
    verified: SessionHandle<S>,
    _source: TokenSource,
    _outcome: Outcome,
) -> Next {
    event!(
        debug,
        SESSION,
        source = _source.as_str(),
        cache = _outcome.as_str(),
        subject = verified.authenticated.subject.as_deref(),
        session_type = crate::session_types::SessionTypes::session_type(&verified.authenticated.session),
        "session accepted"
    );
    Next::Continue(Some(verified), CookieUpdate::Keep)
}
