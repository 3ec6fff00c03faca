//! What the layer does with a credential it refused: the policy, the answer (or a page served
//! signed out), clearing a refused cookie, and the event that says why.

use http::Method;
use http::header::{CACHE_CONTROL, HeaderValue, SET_COOKIE};

use super::layer::{ClearCookie, Decision, PRIVATE_NO_STORE, Shared};
use super::refusal::{Format, Refusal};
use crate::telemetry::event;
use crate::verifier::{SessionVerifier, VerifierError};

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

impl<V: SessionVerifier> Shared<V> {
    /// A refused session cookie: refused as any token, and cleared, so the browser stops sending
    /// it; under [`InvalidTokenPolicy::SignOutPages`] a page navigation goes on signed out. A
    /// backend that could not answer says nothing about the token: that cookie is kept.
    pub(super) fn refused_cookie(&self, error: &VerifierError, method: &Method, format: Format) -> Decision {
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

    pub(super) fn invalid(&self, reason: &str, format: Format) -> Decision {
        match self.invalid {
            InvalidTokenPolicy::Reject | InvalidTokenPolicy::SignOutPages => {
                Decision::Respond(Refusal::InvalidToken.response(reason, format))
            }
            InvalidTokenPolicy::TreatAsPublic => Decision::Continue(None, ClearCookie::No),
        }
    }
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
    let kid = crate::token::compact::read_header(header).ok()?.kid?;
    Some(crate::telemetry::shown(&kid))
}
