//! Configuring an [`OidcProvider`] after discovery: scopes, lifetime, the email and tenant
//! rules, Apple's client secret, the label, and the authorization request's parameters.

use std::sync::Arc;
use std::time::Duration;

use super::OidcProvider;
use super::apple::{AppleKey, AppleSecret};
use crate::providers::flow::clamp_ttl;

impl OidcProvider {
    /// The scopes to ask for besides `openid` (which is always asked for).
    pub fn scopes<I: IntoIterator<Item = T>, T: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes
            .into_iter()
            .map(Into::into)
            .filter(|scope| scope != "openid")
            .collect();
        self
    }

    /// How long a person has to complete the sign-in: between 1 second and 1 day.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = clamp_ttl(ttl);
        self
    }

    /// Signs in only people of these tenants (their ID token's `tid`, compared without case):
    /// for Microsoft's `common` or `organizations` endpoints, which otherwise take any work
    /// account (and `common` any personal one).
    pub fn allow_tenants<I: IntoIterator<Item = T>, T: Into<String>>(mut self, tenants: I) -> Self {
        self.allowed_tenants = Some(tenants.into_iter().map(Into::into).collect());
        self
    }

    /// Signs the client secret as Sign in with Apple wants it: an ES256 JWT made from `key` (see
    /// [`AppleKey`]), renewed before it expires, in place of a fixed secret.
    pub fn apple_client_secret(mut self, key: AppleKey) -> Self {
        self.apple_secret = Some(Arc::new(AppleSecret::new(key, self.client_id.as_str().to_owned())));
        self
    }

    /// The name the provider picker shows (`Google`).
    pub fn display_name(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// `prompt` on the authorization request (`consent`, `login`, `select_account`, `none`).
    pub fn prompt(self, prompt: impl Into<String>) -> Self {
        self.authorize_param("prompt", prompt)
    }

    /// `login_hint` on the authorization request (the address the person will sign in with).
    pub fn login_hint(self, hint: impl Into<String>) -> Self {
        self.authorize_param("login_hint", hint)
    }

    /// Any other parameter of the authorization request (`hd=example.com` for Google, Twitch's
    /// `claims`). The ones the flow sets itself (`client_id`, `redirect_uri`, `response_type`,
    /// `scope`, `state`, `nonce`, `code_challenge`, `code_challenge_method`) cannot be replaced.
    pub fn authorize_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.authorize_params.push((name.into(), value.into()));
        self
    }

    /// Refuses a sign-in whose `email` the provider does not say it verified
    /// (`email_verified: true`), for apps that map an email address to an account: otherwise
    /// anyone who can register that address at the provider becomes that account here.
    pub fn require_verified_email(mut self) -> Self {
        self.require_verified_email = true;
        self
    }
}
