//! axum extractors for the session the [`SessionLayer`](crate::SessionLayer) verified.
//!
//! - [`Session<S>`]: the typed session; 401 when the request is public.
//! - `Option<Session<S>>`: the session if there is one (axum 0.8's `OptionalFromRequestParts`).
//! - [`Require<T>`]: the value of the newtype variant holding `T`; 401 with no session, 403 with a
//!   session of another type. It names only `T`, not the enum.
//!
//! On a route the layer does not cover, every extractor answers 500 `session_layer_missing`: a
//! missing layer is a programming error, never an anonymous request. Refusals have the layer's
//! JSON shape and names.

use std::any::type_name;
use std::sync::Arc;

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::middleware::current::{Erased, LayerMissing, current_session, downcast};
use crate::middleware::refusal::{Format, Refusal};
use crate::session_types::SessionTypes;
use crate::verifier::Authenticated;

/// The request's typed session; extracting it fails with 401 on a public request.
#[derive(Debug, Clone, PartialEq)]
pub struct Session<S>(pub S);

/// The request's session with its expiry, subject and id; 401 on a public request.
#[derive(Debug, Clone)]
pub struct AuthenticatedSession<S>(pub Arc<Authenticated<S>>);

/// The value of the session's newtype variant holding `T`: 401 with no session, 403 with a
/// session of another type.
#[derive(Debug, Clone, PartialEq)]
pub struct Require<T>(pub T);

/// Why a session extractor refused the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionRejection {
    /// A public request: 401.
    #[error("no session")]
    Missing,
    /// The session layer is not installed on this route: 500, a programming error.
    #[error("the session layer did not run for this request; is `SessionLayer` installed on this route?")]
    LayerMissing,
    /// A session of another type than the route requires.
    #[error("session is not of the required type `{expected}`")]
    WrongType {
        /// The Rust type the route asked for.
        expected: &'static str,
    },
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        let kind = match self {
            SessionRejection::Missing => Refusal::Unauthenticated,
            SessionRejection::LayerMissing => Refusal::LayerMissing,
            SessionRejection::WrongType { .. } => Refusal::Forbidden,
        };
        kind.response(&self.to_string(), Format::Json).map(Body::from)
    }
}

impl From<LayerMissing> for SessionRejection {
    fn from(_: LayerMissing) -> Self {
        SessionRejection::LayerMissing
    }
}

/// The request's session, type-checked against `S`: 401 when public, 500 without the layer.
fn authenticated<S: SessionTypes>(parts: &Parts) -> Result<Option<Arc<Authenticated<S>>>, SessionRejection> {
    Ok(current_session(&parts.extensions)?.and_then(|session| downcast(&**session)))
}

impl<S: SessionTypes + Clone, State: Send + Sync> FromRequestParts<State> for Session<S> {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &State) -> Result<Self, SessionRejection> {
        authenticated::<S>(parts)?
            .map(|authenticated| Session(authenticated.session.clone()))
            .ok_or(SessionRejection::Missing)
    }
}

impl<S: SessionTypes + Clone, State: Send + Sync> OptionalFromRequestParts<State> for Session<S> {
    type Rejection = SessionRejection;

    /// `None` for a public request; still 500 without the layer, which no route should be.
    async fn from_request_parts(parts: &mut Parts, _state: &State) -> Result<Option<Self>, SessionRejection> {
        Ok(authenticated::<S>(parts)?.map(|authenticated| Session(authenticated.session.clone())))
    }
}

impl<S: SessionTypes, State: Send + Sync> FromRequestParts<State> for AuthenticatedSession<S> {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &State) -> Result<Self, SessionRejection> {
        authenticated::<S>(parts)?
            .map(AuthenticatedSession)
            .ok_or(SessionRejection::Missing)
    }
}

impl<T: Clone + Send + Sync + 'static, State: Send + Sync> FromRequestParts<State> for Require<T> {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &State) -> Result<Self, SessionRejection> {
        let session: &Erased = current_session(&parts.extensions)?.ok_or(SessionRejection::Missing)?;
        session
            .variant()
            .and_then(|variant| variant.downcast_ref::<T>())
            .map(|value| Require(value.clone()))
            .ok_or(SessionRejection::WrongType {
                expected: type_name::<T>(),
            })
    }
}
