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
    /// Rotates `refresh_token` for the client of the request that carried it, presented by
    /// `presenter`.
    fn refresh<'a>(&'a self, refresh_token: &'a str, client: &'a Client, presenter: Presenter<'a>)
    -> RefreshFuture<'a>;
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
    /// Whether `session` (a session value as JSON) is one of this refresher's sessions.
    #[cfg(feature = "providers")]
    fn accepts(&self, session: &serde_json::Value) -> bool;
    /// Starts family `family_id` for `session`, its access tokens for `client_id` (an
    /// authorization code exchanged).
    #[cfg(feature = "providers")]
    fn issue_to_client<'a>(
        &'a self,
        session: serde_json::Value,
        family_id: String,
        client_id: &'a str,
    ) -> RefreshFuture<'a>;
    /// Revokes family `family_id` (and every access token it minted) until `expires_at`.
    #[cfg(feature = "providers")]
    fn revoke_family<'a>(
        &'a self,
        family_id: &'a str,
        expires_at: u64,
    ) -> Pin<Box<dyn Future<Output = Result<(), RefreshError>> + Send + 'a>>;
    /// How long a family lives from sign-in.
    #[cfg(feature = "providers")]
    fn lifetime(&self) -> Duration;
    /// Seconds since the Unix epoch, by the sessions' clock.
    #[cfg(feature = "providers")]
    fn now(&self) -> Result<u64, crate::sessions::IssueError>;
}

/// Who presents a refresh token, and so which families it may rotate.
#[derive(Clone, Copy)]
pub(crate) enum Presenter<'a> {
    /// The app itself (`RefreshTokens::refresh`, the session layer's cookies): the app's own
    /// families; a family issued to an OAuth client is not the browser's to rotate.
    App,
    /// A token endpoint request, from the client authenticated as `client` (`None`: no client
    /// authentication). A family issued to a client rotates only for that client, and only
    /// authenticated when `must_authenticate` says the client is confidential (RFC 6749
    /// section 6); the app's own families only without client credentials.
    #[cfg_attr(
        not(feature = "providers"),
        allow(dead_code, reason = "only the token endpoint presents")
    )]
    Endpoint {
        client: Option<&'a str>,
        must_authenticate: &'a (dyn Fn(&str) -> bool + Send + Sync),
    },
}

impl Presenter<'_> {
    /// Refuses a family this presenter may not rotate, as an unknown token.
    pub(super) fn check(&self, family: &super::records::Family) -> Result<(), RefreshError> {
        let allowed = match (self, family.client_id.as_deref()) {
            (Presenter::App, owner) => owner.is_none(),
            (Presenter::Endpoint { client, .. }, None) => client.is_none(),
            (
                Presenter::Endpoint {
                    client: Some(client), ..
                },
                Some(owner),
            ) => *client == owner,
            (
                Presenter::Endpoint {
                    client: None,
                    must_authenticate,
                },
                Some(owner),
            ) => !must_authenticate(owner),
        };
        if allowed { Ok(()) } else { Err(RefreshError::Invalid) }
    }
}

pub(crate) type RefreshFuture<'a> = Pin<Box<dyn Future<Output = Result<TokenPair, RefreshError>> + Send + 'a>>;

impl<S: SessionTypes> Refresher for RefreshTokens<S> {
    fn refresh<'a>(
        &'a self,
        refresh_token: &'a str,
        client: &'a Client,
        presenter: Presenter<'a>,
    ) -> RefreshFuture<'a> {
        Box::pin(self.refresh_from(refresh_token, client, presenter))
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

    #[cfg(feature = "providers")]
    fn accepts(&self, session: &serde_json::Value) -> bool {
        S::deserialize(session).is_ok()
    }

    #[cfg(feature = "providers")]
    fn issue_to_client<'a>(
        &'a self,
        session: serde_json::Value,
        family_id: String,
        client_id: &'a str,
    ) -> RefreshFuture<'a> {
        Box::pin(async move {
            let session = S::deserialize(&session).map_err(|_| RefreshError::Invalid)?;
            self.start_family(&session, family_id, Some(client_id.to_owned())).await
        })
    }

    #[cfg(feature = "providers")]
    fn revoke_family<'a>(
        &'a self,
        family_id: &'a str,
        expires_at: u64,
    ) -> Pin<Box<dyn Future<Output = Result<(), RefreshError>> + Send + 'a>> {
        Box::pin(self.revoke_session(family_id, expires_at))
    }

    #[cfg(feature = "providers")]
    fn lifetime(&self) -> Duration {
        self.inner.lifetime
    }

    #[cfg(feature = "providers")]
    fn now(&self) -> Result<u64, crate::sessions::IssueError> {
        self.inner.sessions.now()
    }
}
