//! The [`Provider`] contract: what a sign-in flow implements, what its callback step hands
//! back, and the erasure of the callbacks providers take.

use std::future::Future;
use std::pin::Pin;

use super::error::{FlowError, FlowResponse};
use super::flow::FlowRequest;

/// The boxed future a callback returns once erased.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a provider's callback step ended.
#[derive(Debug)]
pub enum Step<C> {
    /// The flow goes on: show this page or follow this redirect (a form to try the code again).
    Respond(FlowResponse),
    /// The person proved who they are: these claims go to the provider's `on_success`.
    Success(C),
}

/// Who names the account a flow signs in to: it decides how the flow may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentitySource {
    /// The person who starts the flow names the account (an email address for a link or a code,
    /// a password): the flow starts only with a `POST` from this site. Another site could
    /// otherwise start it in someone's browser with the attacker's address, and the attacker's
    /// link or code would then sign that browser in to the attacker's account (login CSRF).
    /// A `GET` of its authorize step is answered `405` with `Allow: POST`. The default.
    Requester,
    /// An identity provider says who the person is (OpenID Connect, OAuth 2.0): the flow may
    /// start with a `GET`, a link or a redirect from anywhere, because whoever starts it cannot
    /// choose the account it ends in.
    Provider,
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

    /// Who names the account this flow signs in to; [`IdentitySource::Requester`] unless the
    /// provider says otherwise, so a flow of your own starts only with a same-origin `POST`.
    fn identity_source(&self) -> IdentitySource {
        IdentitySource::Requester
    }

    /// The origin of the identity provider's page when it answers the callback with a
    /// cross-site form `POST` (`response_mode=form_post`, Sign in with Apple): the handler
    /// answers such a POST, from that origin only, with a page that posts the same fields again
    /// from this origin, so the callback step runs as a same-origin POST with this browser's
    /// cookies. `None` (the default): a cross-site POST to the callback is refused.
    fn form_post_origin(&self) -> Option<String> {
        None
    }

    /// Whether the authorize step counts against the handler's per-identity limit (`true`, the
    /// default: the step sends a link or a code to the identity). A provider whose first step
    /// only shows a page, and which counts the messages it sends at a later step itself (the
    /// password provider), answers `false`; the per-client limit counts the step either way.
    fn counts_identity_at_authorize(&self) -> bool {
        true
    }

    /// The name the provider picker shows (`GitHub`); the mounted name when `None`.
    fn label(&self) -> Option<String> {
        None
    }

    /// The first step, at `{prefix}/{provider}/authorize`.
    fn authorize(&self, request: &FlowRequest) -> impl Future<Output = Result<FlowResponse, FlowError>> + Send;

    /// The return step, at `{prefix}/{provider}/callback`.
    fn callback(&self, request: &FlowRequest) -> impl Future<Output = Result<Step<Self::Claims>, FlowError>> + Send;
}

/// Erases a user callback `Fn(A) -> impl Future<Output = Result<FlowResponse, FlowError>>`.
pub(crate) type Callback<A> = Box<dyn Fn(A) -> BoxFuture<'static, Result<FlowResponse, FlowError>> + Send + Sync>;

pub(crate) fn callback<A, F, Fut>(f: F) -> Callback<A>
where
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<FlowResponse, FlowError>> + Send + 'static,
{
    Box::new(move |argument| Box::pin(f(argument)))
}
