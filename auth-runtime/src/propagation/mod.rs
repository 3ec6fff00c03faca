//! Sessions across services: what a service sends the next one when it calls it on the caller's
//! behalf ([`Propagation`]), as a tower layer for HTTP and gRPC clients ([`PropagationLayer`]:
//! a tonic `Channel`, a hyper client), a tonic interceptor (feature `tonic`), or plain headers for
//! any other client ([`Propagation::headers`], for reqwest's `.headers(..)`), and the receiving
//! side of identity headers ([`TrustedHeaders`]).
//!
//! Chosen per client:
//!
//! | mode | sends | the next service verifies it with |
//! |---|---|---|
//! | [`Propagation::forward`] | the caller's own token (`Authorization: Bearer`) | the same verifier as this one |
//! | [`Propagation::service_token`] | a short token for the caller's session, signed by this service's key, `aud` = the next service | this service's public key (a `Sessions` with that audience) |
//! | [`Propagation::identity_headers`] | the session in `x-session` (Connectum's `propagateHeaders`), with `x-session-proof` | [`TrustedHeaders`] and the shared key |
//!
//! Identity headers are trusted only with a valid proof: an HS256 token made with a key the two
//! services share, naming the next service (`aud`), living 60 seconds, and carrying the SHA-256
//! of `x-session`. Anyone else who sends `x-session` (a caller from outside, a service that does
//! not hold the key, a header made for another service) is refused.
//!
//! Every mode reads the session the layer set for the request being served: call from inside a
//! handler (or a task that runs in the handler's scope). A call made outside one sends nothing
//! (and the next service sees a public request), or fails with [`PropagationError::NoSession`]
//! in the tonic interceptor.

mod identity;
mod layer;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::{AUTHORIZATION, HeaderName, HeaderValue};

pub use self::identity::{
    IDENTITY_HEADER, IDENTITY_PROOF_HEADER, IdentityError, IdentityKey, IdentityKeyTooShort, TrustedHeaders,
};
pub use self::layer::{PropagationLayer, PropagationService};
use crate::middleware::{use_authenticated, use_credential};
use crate::session_types::SessionTypes;
use crate::sessions::{IssueOptions, Sessions};

/// The longest a service token lives, whatever is asked: 5 minutes.
pub const MAX_SERVICE_TOKEN_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// Why nothing could be sent on the caller's behalf.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PropagationError {
    /// The call is not made while a request with a session is being served.
    #[error("no session to propagate: call from inside a handler the session layer wraps")]
    NoSession,
    /// The service token or the identity proof could not be signed.
    #[error("could not sign for the next service: {0}")]
    Sign(String),
}

enum Mode<S> {
    Forward,
    ServiceToken { sessions: Sessions<S>, lifetime: Duration },
    IdentityHeaders { key: IdentityKey, audience: String },
}

/// What one client sends the next service; see the [module docs](self). Cheap to clone.
pub struct Propagation<S> {
    mode: Arc<Mode<S>>,
}

impl<S> Clone for Propagation<S> {
    fn clone(&self) -> Self {
        Propagation {
            mode: Arc::clone(&self.mode),
        }
    }
}

impl<S> fmt::Debug for Propagation<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match &*self.mode {
            Mode::Forward => "forward",
            Mode::ServiceToken { .. } => "service_token",
            Mode::IdentityHeaders { .. } => "identity_headers",
        };
        f.debug_struct("Propagation").field("mode", &mode).finish()
    }
}

impl<S: SessionTypes> Propagation<S> {
    /// Forwards the caller's own token, as the layer verified it (after a refresh, the new access
    /// token): for a next service that trusts the same issuer.
    pub fn forward() -> Self {
        Propagation {
            mode: Arc::new(Mode::Forward),
        }
    }

    /// Mints a token for the caller's session with `sessions` (this service's key; its audience
    /// the next service's), living `lifetime` (at most [`MAX_SERVICE_TOKEN_LIFETIME`]).
    pub fn service_token(sessions: Sessions<S>, lifetime: Duration) -> Self {
        Propagation {
            mode: Arc::new(Mode::ServiceToken {
                sessions,
                lifetime: lifetime.min(MAX_SERVICE_TOKEN_LIFETIME),
            }),
        }
    }

    /// Sends the caller's session as identity headers for the service `audience`, proved with
    /// `key` (which the two services share).
    pub fn identity_headers(key: IdentityKey, audience: impl Into<String>) -> Self {
        Propagation {
            mode: Arc::new(Mode::IdentityHeaders {
                key,
                audience: audience.into(),
            }),
        }
    }

    /// The headers to send for the request being served: empty for a public one.
    pub fn headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, PropagationError> {
        match &*self.mode {
            Mode::Forward => Ok(use_credential()
                .and_then(|token| bearer(&token))
                .map(|value| vec![(AUTHORIZATION, value)])
                .unwrap_or_default()),
            Mode::ServiceToken { sessions, lifetime } => {
                let Some(current) = use_authenticated::<S>() else {
                    return Ok(Vec::new());
                };
                let options = IssueOptions {
                    lifetime: Some(*lifetime),
                    subject: current.subject.clone(),
                    // The caller's session id: revoking it ends this token too.
                    session_id: current.session_id.clone(),
                    ..IssueOptions::default()
                };
                let issued = sessions
                    .issue(&current.session, &options)
                    .map_err(|error| PropagationError::Sign(error.to_string()))?;
                Ok(bearer(&issued.token)
                    .map(|value| vec![(AUTHORIZATION, value)])
                    .unwrap_or_default())
            }
            Mode::IdentityHeaders { key, audience } => match use_authenticated::<S>() {
                Some(current) => key.headers(&current, audience),
                None => Ok(Vec::new()),
            },
        }
    }

    /// A tonic interceptor that adds [`headers`](Self::headers) to each call's metadata, and
    /// fails the call with `Unauthenticated` when there is no session to send.
    #[cfg(feature = "tonic")]
    pub fn interceptor(&self) -> impl tonic::service::Interceptor + Clone + use<S> {
        let propagation = self.clone();
        move |mut request: tonic::Request<()>| {
            let headers = propagation
                .headers()
                .map_err(|error| tonic::Status::internal(error.to_string()))?;
            if headers.is_empty() {
                return Err(tonic::Status::unauthenticated(PropagationError::NoSession.to_string()));
            }
            let mut map = std::mem::take(request.metadata_mut()).into_headers();
            for (name, value) in headers {
                map.insert(name, value);
            }
            *request.metadata_mut() = tonic::metadata::MetadataMap::from_headers(map);
            Ok(request)
        }
    }
}

fn bearer(token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("Bearer {token}")).ok()
}
