//! Sessions in a browser: SST's `Session.cookie` and `Session.parameter` redirects, logout, and
//! the redirect allowlist they go through.

use http::Response;

use super::Sessions;
use super::issue::{IssueError, IssueOptions};
use crate::landing::nonce::{flow_binding, in_sign_in_flow};
use crate::redirect::{RedirectError, RedirectTarget, found};
use crate::session_types::SessionTypes;
use crate::token::sign::SignError;

/// The session a flow's `on_success` signed in with, as its handler reads it off the response.
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    /// The session value, serialized as the session type serializes.
    #[cfg_attr(
        not(feature = "providers"),
        allow(dead_code, reason = "read by the authorization server")
    )]
    pub(crate) value: serde_json::Value,
}

impl<S: SessionTypes> Sessions<S> {
    /// SST's `Session.cookie`: signs `session` and answers `302 Found` to `redirect` with the
    /// token in the session cookie (`Max-Age` = the token's remaining lifetime).
    ///
    /// `redirect` must be a relative path or on an allowed origin.
    pub fn cookie<B: Default>(&self, session: &S, redirect: &str) -> Result<Response<B>, IssueError> {
        self.cookie_with(session, redirect, &IssueOptions::default())
    }

    /// [`cookie`](Self::cookie) with per-token options.
    pub fn cookie_with<B: Default>(
        &self,
        session: &S,
        redirect: &str,
        options: &IssueOptions,
    ) -> Result<Response<B>, IssueError> {
        let target = self.inner.redirects.check(redirect)?;
        let issued = self.issue(session, options)?;
        let max_age = issued.expires_at.saturating_sub(issued.issued_at);
        let set_cookie = self.inner.cookie.set_cookie_header(&issued.token, Some(max_age))?;
        let mut response = found(target.as_str(), Some(&set_cookie))?;
        self.hand_over(session, &mut response)?;
        Ok(response)
    }

    /// Inside an `AuthHandler`'s `on_success`, puts the session on `response` for the handler: an
    /// authorization request in progress is answered with a code for it instead.
    pub(crate) fn hand_over<B>(&self, session: &S, response: &mut Response<B>) -> Result<(), IssueError> {
        if in_sign_in_flow() {
            let value = serde_json::to_value(session).map_err(|error| IssueError::Sign(SignError::Serialize(error)))?;
            response.extensions_mut().insert(SignedIn { value });
        }
        Ok(())
    }

    /// SST's `Session.parameter`: signs `session` and answers `302 Found` to `redirect` with
    /// `token=<jwt>` added to its query; other parameters and the fragment are kept.
    ///
    /// Point it at a landing route that moves the token into a cookie or storage and redirects
    /// on: a token in a URL can leak through history and logs (`Referrer-Policy: no-referrer` is
    /// set on this response for that reason).
    ///
    /// Inside an `AuthHandler`'s `on_success`, the token is bound to the browser that started the
    /// sign-in (its `nonce` claim is the flow's [`landing_nonce`](crate::LANDING_NONCE_PARAMETER),
    /// when the sign-in request carried one), so the session layer's landing route lets it in
    /// there without asking; elsewhere pass [`IssueOptions::nonce`] to
    /// [`parameter_with`](Self::parameter_with).
    pub fn parameter<B: Default>(&self, session: &S, redirect: &str) -> Result<Response<B>, IssueError> {
        self.parameter_with(session, redirect, &IssueOptions::default())
    }

    /// [`parameter`](Self::parameter) with per-token options.
    pub fn parameter_with<B: Default>(
        &self,
        session: &S,
        redirect: &str,
        options: &IssueOptions,
    ) -> Result<Response<B>, IssueError> {
        let target = self.inner.redirects.check(redirect)?;
        let issued = match (&options.nonce, flow_binding()) {
            (None, Some(binding)) => {
                let bound = IssueOptions {
                    nonce: Some(binding),
                    ..options.clone()
                };
                self.issue(session, &bound)?
            }
            _ => self.issue(session, options)?,
        };
        let location = target.with_query_parameter("token", &issued.token);
        let mut response = found(location.as_str(), None)?;
        self.hand_over(session, &mut response)?;
        Ok(response)
    }

    /// Signs out: `302 Found` to `redirect` with a `Set-Cookie` that deletes the session cookie
    /// (same name, path, domain and attributes; `Max-Age=0`).
    ///
    /// Answer it only to a request that carried the session (behind the session layer, one for
    /// which `use_authenticated` returns a session): a form on another site posts without the
    /// `SameSite=Lax` cookie, so the layer has nothing to refuse, and a handler that deletes the
    /// cookie anyway lets any site sign your users out.
    pub fn logout<B: Default>(&self, redirect: &str) -> Result<Response<B>, IssueError> {
        let target = self.inner.redirects.check(redirect)?;
        Ok(found(target.as_str(), Some(&self.inner.cookie.clear_cookie_header()))?)
    }

    /// Checks a redirect target against the allowlist without issuing anything.
    pub fn check_redirect(&self, redirect: &str) -> Result<RedirectTarget, RedirectError> {
        self.inner.redirects.check(redirect)
    }
}
