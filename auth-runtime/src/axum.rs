//! axum extractors for the session the [`SessionLayer`](crate::SessionLayer) verified.
//!
//! - [`Session<S>`]: the typed session; 401 when the request is public.
//! - `Option<Session<S>>`: the session if there is one (axum 0.8's `OptionalFromRequestParts`).
//! - [`Require<T>`]: the value of the newtype variant holding `T`; 401 with no session, 403 with a
//!   session of another type. It names only `T`, not the enum.

use std::any::type_name;
use std::convert::Infallible;
use std::sync::Arc;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode};

use crate::SessionTypes;
use crate::middleware::{CurrentSession, session_from_extensions};
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
    /// A public request (or the session layer is not installed on this route).
    #[error("no session")]
    Missing,
    /// A session of another type than the route requires.
    #[error("session is not of the required type `{expected}`")]
    WrongType {
        /// The Rust type the route asked for.
        expected: &'static str,
    },
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        let (status, error) = match self {
            SessionRejection::Missing => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            SessionRejection::WrongType { .. } => (StatusCode::FORBIDDEN, "forbidden"),
        };
        let body = serde_json::json!({ "error": error, "reason": self.to_string() }).to_string();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

impl<S: SessionTypes + Clone, State: Send + Sync> FromRequestParts<State> for Session<S> {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &State) -> Result<Self, SessionRejection> {
        session_from_extensions::<S>(&parts.extensions)
            .map(|authenticated| Session(authenticated.session.clone()))
            .ok_or(SessionRejection::Missing)
    }
}

impl<S: SessionTypes + Clone, State: Send + Sync> OptionalFromRequestParts<State> for Session<S> {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &State) -> Result<Option<Self>, Infallible> {
        Ok(session_from_extensions::<S>(&parts.extensions).map(|authenticated| Session(authenticated.session.clone())))
    }
}

impl<S: SessionTypes, State: Send + Sync> FromRequestParts<State> for AuthenticatedSession<S> {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &State) -> Result<Self, SessionRejection> {
        session_from_extensions::<S>(&parts.extensions)
            .map(AuthenticatedSession)
            .ok_or(SessionRejection::Missing)
    }
}

impl<T: Clone + Send + Sync + 'static, State: Send + Sync> FromRequestParts<State> for Require<T> {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &State) -> Result<Self, SessionRejection> {
        let current = parts
            .extensions
            .get::<CurrentSession>()
            .ok_or(SessionRejection::Missing)?;
        current
            .0
            .variant()
            .and_then(|variant| variant.downcast_ref::<T>())
            .map(|value| Require(value.clone()))
            .ok_or(SessionRejection::WrongType {
                expected: type_name::<T>(),
            })
    }
}
