//! [`ResponseFuture`], the future of [`SessionService`](super::SessionService)'s response: the
//! inner service's own future in the session's scope when the layer decided at once (a cache hit
//! in the hot slots, a public or skipped request), a boxed one when it had to wait.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use tokio::task::futures::TaskLocalFuture;

use super::body::SessionBody;
use super::current::Current;

/// The boxed future of a request the layer decided after waiting (a cache miss, a refresh, the
/// landing route).
pub(crate) type Waited<B, E> = Pin<Box<dyn Future<Output = Result<Response<SessionBody<B>>, E>> + Send>>;

pin_project_lite::pin_project! {
    /// The response future of [`SessionService`](super::SessionService).
    ///
    /// A request the layer decides without waiting (the usual one: a cache hit, a public or a
    /// skipped request) runs the inner service's future directly, with no allocation or copy of
    /// its own; one that waits on the verifier or a store is boxed.
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProjection]
    enum Kind<F, B, E> {
        /// The inner service's future, with the session in scope.
        Scoped { #[pin] future: TaskLocalFuture<Current, F> },
        /// The layer's own answer (a refusal); `None` once it has been given.
        Answered { response: Option<Response<Bytes>> },
        /// Decided after waiting.
        Waited { future: Waited<B, E> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    pub(crate) fn scoped(future: TaskLocalFuture<Current, F>) -> Self {
        ResponseFuture {
            kind: Kind::Scoped { future },
        }
    }

    pub(crate) fn answered(response: Response<Bytes>) -> Self {
        ResponseFuture {
            kind: Kind::Answered {
                response: Some(response),
            },
        }
    }

    pub(crate) fn waited(future: Waited<B, E>) -> Self {
        ResponseFuture {
            kind: Kind::Waited { future },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<SessionBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProjection::Scoped { future } => future
                .poll(cx)
                .map(|response| response.map(|response| response.map(SessionBody::inner))),
            // Polled again after its answer (a caller's mistake): it never answers twice.
            KindProjection::Answered { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response.map(SessionBody::full))),
                None => Poll::Pending,
            },
            KindProjection::Waited { future } => future.as_mut().poll(cx),
        }
    }
}
