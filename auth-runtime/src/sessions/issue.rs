//! Issuing a session's token: the options a token may carry, what was issued, and why issuing
//! failed.

use std::time::Duration;

use super::Sessions;
use crate::cookie::CookieError;
use crate::random::random_id;
use crate::redirect::RedirectError;
use crate::session_types::SessionTypes;
use crate::token::sign::{NewClaims, SignError, sign};

/// Why a session could not be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The redirect target was refused.
    #[error(transparent)]
    Redirect(#[from] RedirectError),
    /// The token could not be signed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The operating system's random number generator failed (for `jti`).
    #[error("could not draw random bytes for the token id: {0}")]
    Random(getrandom::Error),
    /// The system clock reads before 1970.
    #[error("system clock is before the Unix epoch")]
    Clock,
    /// A response header could not be built from the values.
    #[error("response header could not be built: {0}")]
    Header(#[from] http::header::InvalidHeaderValue),
    /// The value cannot be a cookie value (never a token, which is base64url and dots).
    #[error(transparent)]
    Cookie(#[from] CookieError),
}

/// Per-token overrides for [`Sessions::issue`].
#[derive(Debug, Clone, Default)]
pub struct IssueOptions {
    /// `sub`, overriding the builder's `subject_from`.
    pub subject: Option<String>,
    /// Lifetime of this token, instead of the configured default; capped at the default.
    pub lifetime: Option<Duration>,
    /// `nonce`: binds a token sent to a landing route to the browser that started the sign-in.
    /// The value is the [`landing_nonce`](crate::LANDING_NONCE_PARAMETER) the sign-in request
    /// carried (the session layer's `landing_nonce().binding()`). [`Sessions::parameter`] sets it
    /// on its own inside an `AuthHandler`'s `on_success`.
    pub nonce: Option<String>,
    /// `sid`: the session this token belongs to when one session outlives its tokens (a refresh
    /// token family mints a short access token at every refresh, all with the family's id). A
    /// verified token's [`Authenticated::session_id`](crate::Authenticated) is its `sid` when it
    /// has one (its `jti` otherwise), so revoking that id ends every token of the session.
    pub session_id: Option<String>,
    /// `mode`: OpenAuth's token kind, `"access"` on its access tokens (its client refuses a token
    /// without it). Set by [`RefreshTokens`](crate::refresh::RefreshTokens)' OpenAuth profile.
    pub mode: Option<String>,
}

/// A freshly signed token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The compact JWS.
    pub token: String,
    /// `iat`, seconds since the Unix epoch.
    pub issued_at: u64,
    /// `exp`, seconds since the Unix epoch.
    pub expires_at: u64,
    /// `jti`: 128 random bits, base64url.
    pub token_id: String,
}

impl<S: SessionTypes> Sessions<S> {
    /// Signs `session` as a token, for clients that are not browsers (an API key, a CLI login).
    pub fn create(&self, session: &S) -> Result<String, IssueError> {
        Ok(self.issue(session, &IssueOptions::default())?.token)
    }

    /// Signs `session` with per-token options, and returns the token with its times and id.
    pub fn issue(&self, session: &S, options: &IssueOptions) -> Result<IssuedToken, IssueError> {
        self.issue_to(session, options, &self.inner.audience)
    }

    /// [`issue`](Self::issue) for `audience` instead of the configured one: an authorization
    /// server's access tokens are for the client that asked for them (`aud` = its client id).
    pub(crate) fn issue_to(
        &self,
        session: &S,
        options: &IssueOptions,
        audience: &str,
    ) -> Result<IssuedToken, IssueError> {
        let config = &*self.inner;
        let issued_at = self.now()?;
        let lifetime = options
            .lifetime
            .map_or(config.lifetime, |lifetime| lifetime.min(config.lifetime));
        let expires_at = issued_at.saturating_add(lifetime.as_secs().max(1));
        let token_id = random_id::<16>().map_err(IssueError::Random)?;
        let subject = options
            .subject
            .clone()
            .or_else(|| config.subject.and_then(|derive| derive(session)));
        let claims = NewClaims {
            session,
            issuer: &config.issuer,
            audience,
            subject: subject.as_deref(),
            issued_at,
            expires_at,
            token_id: &token_id,
            nonce: options.nonce.as_deref(),
            session_id: options.session_id.as_deref(),
            mode: options.mode.as_deref(),
        };
        let token = sign(&config.signing, &config.token_type, &claims)?;
        Ok(IssuedToken {
            token,
            issued_at,
            expires_at,
            token_id,
        })
    }
}
