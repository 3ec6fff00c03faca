//! The [`Provider`] contract: what a sign-in flow implements, what its callback step hands
//! back, and the erasure of the callbacks providers take.

use std::future::Future;
use std::pin::Pin;

use super::error::{FlowError, Response};
use super::flow::FlowRequest;

/// The boxed future a callback returns once erased.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a provider's callback step ended.
#[derive(Debug)]
pub enum Step<C> {
    /// The flow goes on: show this page or follow this redirect (a form to try the code again).
    Respond(Response),
    /// The person proved who they are: these claims go to the provider's `on_success`.
    Success(C),
}

/// A sign-in flow in two steps: `authorize` renders a page or redirects, `callback` ends in
/// success with claims or an error.
///
/// Implement it for a provider of your own; [`LinkProvider`], [`CodeProvider`] and (with the
/// `oidc` feature) `oidc::OidcProvider` are the built-in ones.
///
/// [`LinkProvider`]: super::LinkProvider
/// [`CodeProvider`]: super::CodeProvider
pub trait Provider: Send + Sync + 'static {
    /// What a successful sign-in proves, handed to the `on_success` callback.
    type Claims: Send + 'static;

    /// The first step, at `{prefix}/{provider}/authorize`.
    fn authorize(&self, request: &FlowRequest) -> impl Future<Output = Result<Response, FlowError>> + Send;

    /// The return step, at `{prefix}/{provider}/callback`.
    fn callback(&self, request: &FlowRequest) -> impl Future<Output = Result<Step<Self::Claims>, FlowError>> + Send;
}

/// Erases a user callback `Fn(A) -> impl Future<Output = Result<Response, FlowError>>`.
pub(crate) type Callback<A> = Box<dyn Fn(A) -> BoxFuture<'static, Result<Response, FlowError>> + Send + Sync>;

pub(crate) fn callback<A, F, Fut>(f: F) -> Callback<A>
where
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response, FlowError>> + Send + 'static,
{
    Box::new(move |argument| Box::pin(f(argument)))
}
