//! What the layer does with a credential it refused (the policy; the pipeline applies it), and
//! the event that says why.

use crate::telemetry::event;
use crate::verifier::VerifierError;

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

/// The event of a refused credential: its kind, where it came from, the `kid` its header names
/// (escaped, cut short), never the token. A backend that could not answer is a warning.
pub(crate) fn refusal_event(error: &VerifierError, source: &'static str, token: &str) {
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
