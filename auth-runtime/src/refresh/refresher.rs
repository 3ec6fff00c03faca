//! The refresher the session layer and the token endpoint hold without knowing the session type.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use http::HeaderMap;
use http::header::HeaderValue;

use super::RefreshTokens;
use super::outcome::{RefreshError, TokenPair};
use crate::cookie::CookieOptions;
use crate::rate_limit::Client;
use crate::session_types::SessionTypes;

/// A refresher the session layer and the token endpoint hold without knowing the session type.
pub(crate) trait Refresher: Send + Sync + 'static {
    /// Rotates `refresh_token` for the client of the request that carried it.
    fn refresh<'a>(&'a self, refresh_token: &'a str, client: &'a Client) -> RefreshFuture<'a>;
    /// The client of a request, as the per-client limit reads it.
    fn client_of(&self, headers: &HeaderMap, extensions: &http::Extensions) -> Client;
    fn set_cookies(&self, pair: &TokenPair) -> Result<[HeaderValue; 2], RefreshError>;
    fn cookie(&self) -> &CookieOptions;
    fn reuse_grace(&self) -> Duration;
    #[cfg_attr(
        not(feature = "providers"),
        allow(dead_code, reason = "only the token endpoint asks")
    )]
    fn issuer(&self) -> &str;
}

pub(crate) type RefreshFuture<'a> = Pin<Box<dyn Future<Output = Result<TokenPair, RefreshError>> + Send + 'a>>;

impl<S: SessionTypes> Refresher for RefreshTokens<S> {
    fn refresh<'a>(&'a self, refresh_token: &'a str, client: &'a Client) -> RefreshFuture<'a> {
        Box::pin(self.refresh_from(refresh_token, client))
    }

    fn client_of(&self, headers: &HeaderMap, extensions: &http::Extensions) -> Client {
        self.inner.client_address.client_of(headers, extensions)
    }

    fn set_cookies(&self, pair: &TokenPair) -> Result<[HeaderValue; 2], RefreshError> {
        RefreshTokens::set_cookies(self, pair)
    }

    fn cookie(&self) -> &CookieOptions {
        &self.inner.cookie
    }

    fn reuse_grace(&self) -> Duration {
        self.inner.reuse_grace
    }

    fn issuer(&self) -> &str {
        self.inner.sessions.issuer()
    }
}
