//! A provider mounted with its `on_success`, type-erased so that providers of different claims
//! share one router.

use std::future::Future;

use super::contract::{BoxFuture, IdentitySource, Provider, Step};
use super::error::{FlowError, FlowResponse};
use super::flow::FlowRequest;
use crate::landing::nonce::with_flow_binding;
use crate::telemetry::event;

/// A provider with its `on_success`, type-erased so providers of different claims share a router.
pub(super) trait Flow: Send + Sync {
    fn identity_source(&self) -> IdentitySource;
    fn form_post_origin(&self) -> Option<String>;
    fn label(&self) -> Option<String>;
    fn counts_identity_at_authorize(&self) -> bool;
    fn authorize<'a>(&'a self, request: &'a FlowRequest) -> BoxFuture<'a, Result<FlowResponse, FlowError>>;
    fn callback<'a>(&'a self, request: &'a FlowRequest) -> BoxFuture<'a, Result<FlowResponse, FlowError>>;
}

pub(super) struct Mounted<P, F> {
    pub(super) provider: P,
    pub(super) on_success: F,
}

impl<P, F, Fut> Flow for Mounted<P, F>
where
    P: Provider,
    F: Fn(P::Claims) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<FlowResponse, FlowError>> + Send + 'static,
{
    fn identity_source(&self) -> IdentitySource {
        self.provider.identity_source()
    }

    fn form_post_origin(&self) -> Option<String> {
        self.provider.form_post_origin()
    }

    fn label(&self) -> Option<String> {
        self.provider.label()
    }

    fn counts_identity_at_authorize(&self) -> bool {
        self.provider.counts_identity_at_authorize()
    }

    fn authorize<'a>(&'a self, request: &'a FlowRequest) -> BoxFuture<'a, Result<FlowResponse, FlowError>> {
        Box::pin(self.provider.authorize(request))
    }

    fn callback<'a>(&'a self, request: &'a FlowRequest) -> BoxFuture<'a, Result<FlowResponse, FlowError>> {
        Box::pin(async move {
            match self.provider.callback(request).await? {
                Step::Respond(response) => Ok(response),
                Step::Success(claims) => {
                    // `Sessions::parameter` in `on_success` binds its token to the browser's
                    // landing nonce, when the sign-in started with one. `on_success` is called
                    // inside the scope too: it may sign before it returns its future.
                    let binding = request.landing_binding();
                    let bound = binding.is_some();
                    let success = async { (self.on_success)(claims).await };
                    let response = with_flow_binding(binding, success).await?;
                    let mut response = request.complete_authorization(response).await?;
                    event!(info, SIGN_IN, provider = request.provider(), bound, "signed in");
                    request.clear_flow_state(&mut response);
                    if bound {
                        request.clear_landing_binding(&mut response);
                    }
                    Ok(response)
                }
            }
        })
    }
}
