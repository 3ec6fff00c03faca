//! The session of the request being served: the request extension the layer always sets (so an
//! extractor can tell "no session" from "no layer"), and the task-local behind [`use_session`].

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::Extensions;

use crate::cache::Verified;
use crate::session_types::SessionTypes;
use crate::telemetry::event;
use crate::verifier::Authenticated;

tokio::task_local! {
    pub(crate) static CURRENT: Current;
}

/// What the layer puts in scope for the request being served: the session and the token it was
/// verified from (after a refresh, the new access token), or `None` for a public request. One
/// task-local, set once per request.
pub(crate) type Current = Option<Erased>;

/// The token the session layer verified for the request being served (after a refresh from the
/// refresh cookie, the new access token); `None` for a public request or outside the layer.
/// What a downstream call forwards on the caller's behalf.
pub fn use_credential() -> Option<Arc<str>> {
    CURRENT
        .try_with(|current| current.as_ref().map(|verified| Arc::clone(verified.credential())))
        .ok()
        .flatten()
}

/// Whether this process has said at ERROR that session code ran outside the layer.
static OUTSIDE_REPORTED: AtomicBool = AtomicBool::new(false);

/// The session of the request being served, as the middleware verified it: SST's `useSession()`.
///
/// `None` for a public request. Outside the middleware (a route or service the layer does not
/// wrap, or a task the handler spawned: a task-local does not cross `tokio::spawn`; pass the
/// session along instead) it is `None` too, and the first time in a process that is said at
/// ERROR, since it is a programming error, not an anonymous request. Code that must tell the two
/// apart uses [`require_session`].
pub fn use_session<S: SessionTypes + Clone>() -> Option<S> {
    use_authenticated::<S>().map(|authenticated| authenticated.session.clone())
}

/// [`use_session`] with the session's expiry, subject and id, without cloning it.
pub fn use_authenticated<S: SessionTypes>() -> Option<Arc<Authenticated<S>>> {
    match current::<S>() {
        Ok(session) => session,
        Err(_) => {
            if !OUTSIDE_REPORTED.swap(true, Ordering::Relaxed) {
                event!(
                    error,
                    SESSION,
                    "use_session() ran outside the session layer (a route or service it does not wrap, or a \
                     spawned task), so it answers None as for a public request; use require_session() to \
                     tell the two apart"
                );
            } else {
                event!(debug, SESSION, "use_session() ran outside the session layer");
            }
            None
        }
    }
}

/// [`use_session`] for code that must not run without a session, telling a public request
/// ([`NoSession::Anonymous`]: answer 401, gRPC `Unauthenticated`) from code the layer does not
/// wrap ([`NoSession::LayerMissing`]: a programming error; answer 500, gRPC `Internal`), as the
/// axum extractors do.
pub fn require_session<S: SessionTypes + Clone>() -> Result<S, NoSession> {
    let authenticated = current::<S>()?.ok_or(NoSession::Anonymous)?;
    Ok(authenticated.session.clone())
}

/// The session the middleware put in a request's extensions (for frameworks without extractors):
/// `Ok(None)` for a public request, and [`NoSession::LayerMissing`] when the layer did not run
/// for the request.
pub fn session_from_extensions<S: SessionTypes>(
    extensions: &Extensions,
) -> Result<Option<Arc<Authenticated<S>>>, NoSession> {
    let session = current_session(extensions).map_err(|LayerMissing| NoSession::LayerMissing)?;
    Ok(session.and_then(|session| downcast::<S>(&**session)))
}

/// The session of the task being served: `Ok(None)` for a public request (or a session of
/// another type than `S`), an error outside the layer's scope.
fn current<S: SessionTypes>() -> Result<Option<Arc<Authenticated<S>>>, NoSession> {
    CURRENT
        .try_with(|current| current.as_deref().and_then(downcast::<S>))
        .map_err(|_| NoSession::LayerMissing)
}

/// Why there is no session for the code asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoSession {
    /// The layer ran, and the request is public: answer 401 (gRPC `Unauthenticated`).
    #[error("no session for this request")]
    Anonymous,
    /// The session layer did not run for this code: the route or service is outside it, or the
    /// code runs in a task spawned from the handler. A programming error (answer 500, gRPC
    /// `Internal`), never an anonymous request.
    #[error(
        "the session layer did not run for this code; is `SessionLayer` installed on this route, and is this not a spawned task?"
    )]
    LayerMissing,
}

/// A verified session and its token with the session's type erased, so one task-local and one
/// extension serve every session enum, and `Require<T>` can narrow without naming the enum.
/// Implemented by [`Verified`], held behind an `Arc` of its own (a
/// [`SessionHandle`](crate::cache::SessionHandle)): the layer clones that handle for the request,
/// and only code that reads the typed session or the token clones those.
pub(crate) trait ErasedSession: Send + Sync {
    /// The typed session, an `Arc<Authenticated<S>>`.
    fn as_any(&self) -> &(dyn Any + Send + Sync);
    #[cfg_attr(
        not(feature = "axum"),
        allow(dead_code, reason = "only the axum `Require<T>` extractor narrows")
    )]
    fn variant(&self) -> Option<&(dyn Any + Send + Sync)>;
    /// The token the session was verified from.
    fn credential(&self) -> &Arc<str>;
}

impl<S: SessionTypes> ErasedSession for Verified<S> {
    fn as_any(&self) -> &(dyn Any + Send + Sync) {
        &self.authenticated
    }

    fn variant(&self) -> Option<&(dyn Any + Send + Sync)> {
        self.authenticated.session.variant_any()
    }

    fn credential(&self) -> &Arc<str> {
        &self.token
    }
}

/// A session as the request carries it.
pub(crate) type Erased = Arc<dyn ErasedSession>;

/// The typed session behind `erased`, when it is an `S`.
pub(crate) fn downcast<S: SessionTypes>(erased: &dyn ErasedSession) -> Option<Arc<Authenticated<S>>> {
    erased.as_any().downcast_ref::<Arc<Authenticated<S>>>().cloned()
}

/// The request extension the layer sets on every request it passes on: the verified session,
/// or `None` for a public (or skipped) request.
#[derive(Clone)]
pub(crate) struct CurrentSession(pub(crate) Option<Erased>);

/// The session layer did not run for this request: a programming error (the route is outside
/// the layer), never an anonymous request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LayerMissing;

/// The request's session as the layer left it: `Ok(None)` for a public request.
pub(crate) fn current_session(extensions: &Extensions) -> Result<Option<&Erased>, LayerMissing> {
    extensions
        .get::<CurrentSession>()
        .map(|current| current.0.as_ref())
        .ok_or(LayerMissing)
}
