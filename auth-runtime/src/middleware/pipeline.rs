//! The per-request decision: skip patterns, the landing route, the credential, CSRF, verification
//! through the cache, and the authorization rules.

use std::sync::Arc;

use http::{Extensions, HeaderMap, Method, Uri};

use super::authz::{Rules, Verdict, is_canonical};
use super::csrf::{is_unsafe, same_origin};
use super::current::ErasedSession;
use super::invalid_token::refusal_event;
use super::layer::{ClearCookie, Decision, Shared};
use super::refusal::{Format, Refusal};
use crate::credentials::{Credential, TokenSource, find_credential};
use crate::telemetry::event;
use crate::verifier::{Authenticated, SessionVerifier, VerifierError};

impl<V: SessionVerifier> Shared<V> {
    pub(super) async fn decide(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Decision {
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
    pub(super) fn cross_site(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        format: Format,
    ) -> Option<Decision> {
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
