//! [`PropagationLayer`]: a tower layer for outgoing requests (a tonic `Channel`, a hyper client)
//! that adds what a [`Propagation`] sends the next service.

use std::task::{Context, Poll};

use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use super::Propagation;
use crate::session_types::SessionTypes;
use crate::telemetry::event;

/// Adds [`Propagation::headers`] to every request of the client it wraps. A header the request
/// already carries under the same name is replaced: the caller's credential is the one sent.
#[derive(Debug, Clone)]
pub struct PropagationLayer<S> {
    propagation: Propagation<S>,
}

impl<S: SessionTypes> PropagationLayer<S> {
    /// A layer that sends what `propagation` says.
    pub fn new(propagation: Propagation<S>) -> Self {
        PropagationLayer { propagation }
    }
}

impl<S, Inner> Layer<Inner> for PropagationLayer<S> {
    type Service = PropagationService<S, Inner>;

    fn layer(&self, inner: Inner) -> Self::Service {
        PropagationService {
            propagation: self.propagation.clone(),
            inner,
        }
    }
}

/// The service [`PropagationLayer`] makes.
#[derive(Debug, Clone)]
pub struct PropagationService<S, Inner> {
    propagation: Propagation<S>,
    inner: Inner,
}

impl<S, Inner, Body> Service<Request<Body>> for PropagationService<S, Inner>
where
    S: SessionTypes,
    Inner: Service<Request<Body>>,
{
    type Response = Inner::Response;
    type Error = Inner::Error;
    type Future = Inner::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        // Read here, in the caller's task, where the layer's session is in scope.
        match self.propagation.headers() {
            Ok(headers) => {
                for (name, value) in headers {
                    request.headers_mut().insert(name, value);
                }
            }
            Err(error) => {
                // The call goes out without the caller's identity: the next service refuses or
                // treats it as public, never as someone else.
                event!(warn, SESSION, error = %error, "nothing propagated to the next service");
                let _ = error;
            }
        }
        self.inner.call(request)
    }
}
