//! The session of the request being served: the request extension the layer always sets (so an
//! extractor can tell "no session" from "no layer"), and the task-local behind [`use_session`].

use std::any::Any;
use std::sync::Arc;

use http::Extensions;

use crate::session_types::SessionTypes;
use crate::verifier::Authenticated;

tokio::task_local! {
    pub(crate) static CURRENT: Option<Arc<dyn ErasedSession>>;
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
/// `None` for a public request, and when the layer did not run.
pub fn session_from_extensions<S: SessionTypes>(extensions: &Extensions) -> Option<Arc<Authenticated<S>>> {
    current_session(extensions)
        .ok()
        .flatten()
        .and_then(|session| downcast::<S>(Arc::clone(session)))
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

/// The request extension the layer sets on every request it passes on: the verified session,
/// or `None` for a public (or skipped) request.
#[derive(Clone)]
pub(crate) struct CurrentSession(pub(crate) Option<Arc<dyn ErasedSession>>);

/// The session layer did not run for this request: a programming error (the route is outside
/// the layer), never an anonymous request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LayerMissing;

/// The request's session as the layer left it: `Ok(None)` for a public request.
pub(crate) fn current_session(extensions: &Extensions) -> Result<Option<&Arc<dyn ErasedSession>>, LayerMissing> {
    extensions
        .get::<CurrentSession>()
        .map(|current| current.0.as_ref())
        .ok_or(LayerMissing)
}
