//! The magic-link provider (SST's `LinkAdapter`): the authorize step signs the request's claims
//! into a short-lived link to the callback and hands it to `on_link` (which emails it); the
//! callback checks the link and lets it through once.
//!
//! A link is a JWT signed with the sessions' key, with its own `typ` (`auth-flow+jwt`) and the
//! provider's callback URL as audience, so it can never pass for a session or for another
//! provider's link. Single use is a `put_new` of the link's `jti` in the [`Store`], kept until the
//! link would have expired anyway: it holds across restarts of every cache, and across instances
//! that share the store.
//!
//! [`Store`]: crate::store::Store

use std::fmt;
use std::future::Future;
use std::time::Duration;

use url::Url;

use super::contract::{Callback, Provider, Step, callback};
use super::error::{FlowError, Response};
use super::flow::{FlowRequest, FlowToken, UserClaims, clamp_ttl};
use crate::token::verify::VerifyError;

/// How long a link works unless [`LinkProvider::ttl`] says otherwise: 15 minutes.
pub const DEFAULT_LINK_TTL: Duration = Duration::from_secs(15 * 60);

/// A sign-in link, handed to `on_link` to deliver. Its `Debug` leaves the URL out: the link signs
/// someone in, so it must not end up in a log.
#[derive(Clone)]
#[non_exhaustive]
pub struct Link {
    /// The link: the callback URL with `?token=<signed link>`.
    pub url: Url,
    /// The claims the link signs in with (`email`, ...).
    pub claims: UserClaims,
    /// When the link stops working, seconds since the Unix epoch.
    pub expires_at: u64,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("url", &"<redacted>")
            .field("claims", &self.claims)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Signs people in with a link sent to them; see the [module docs](self).
pub struct LinkProvider {
    on_link: Callback<Link>,
    ttl: Duration,
}

impl fmt::Debug for LinkProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkProvider")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl LinkProvider {
    /// A provider that hands each new [`Link`] to `on_link`, whose response (a "check your
    /// email" page) answers the authorize request.
    pub fn new<F, Fut>(on_link: F) -> Self
    where
        F: Fn(Link) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response, FlowError>> + Send + 'static,
    {
        LinkProvider {
            on_link: callback(on_link),
            ttl: DEFAULT_LINK_TTL,
        }
    }

    /// How long a link works: between 1 second and 1 day (values outside are clamped).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = clamp_ttl(ttl);
        self
    }
}

impl Provider for LinkProvider {
    type Claims = UserClaims;

    async fn authorize(&self, request: &FlowRequest) -> Result<Response, FlowError> {
        let claims = request.required_claims()?;
        let issued = request.sign_flow_token(&claims, self.ttl)?;
        let mut url = request.callback_url().clone();
        url.query_pairs_mut().append_pair("token", &issued.token);
        let link = Link {
            url,
            claims,
            expires_at: issued.expires_at,
        };
        (self.on_link)(link).await
    }

    async fn callback(&self, request: &FlowRequest) -> Result<Step<UserClaims>, FlowError> {
        let token = request.param("token").ok_or(FlowError::MissingParameter("token"))?;
        let verified = request.verify_flow_token(token).map_err(|error| match error {
            VerifyError::Expired { .. } => FlowError::LinkExpired,
            other => FlowError::LinkInvalid(other),
        })?;
        let FlowToken::Link { claims } = verified.session;
        // `jti` is always set on links this provider signs; a link without one is not ours.
        let token_id = verified
            .claims
            .token_id
            .ok_or(FlowError::LinkInvalid(VerifyError::MissingClaim("jti")))?;
        let now = request.now()?;
        // Remember the link until it could no longer verify anyway: past its `exp` plus the
        // leeway its verification allows (and the second that `exp + leeway` itself still passes).
        let remember = Duration::from_secs(verified.claims.expires_at.saturating_sub(now).saturating_add(1))
            + request.flow_token_leeway();
        let key = request.security_key("link-used", &token_id);
        if !request.store().put_new(&key, Vec::new(), remember).await? {
            return Err(FlowError::LinkUsed);
        }
        Ok(Step::Success(UserClaims(claims)))
    }
}
