//! What a refresh gives back: a [`TokenPair`], or why not ([`RefreshError`]).

use std::fmt;

use crate::cookie::CookieError;
use crate::revocation::RevocationError;
use crate::sessions::IssueError;
use crate::store::contract::StoreError;

/// A new access token and the refresh token that buys the next pair.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenPair {
    /// The access token: a token of the `Sessions`, with the family's id as `sid`.
    pub access_token: String,
    /// The opaque refresh token (43 base64url characters, 256 bits).
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Seconds until the refresh token dies unused (its idle timeout, or the end of the family).
    pub refresh_expires_in: u64,
    /// The family's id: the session id of every access token it mints.
    pub session_id: String,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl TokenPair {
    /// The RFC 6749 section 5.1 answer: `{"access_token", "refresh_token", "token_type":
    /// "Bearer", "expires_in"}`.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        })
        .to_string()
    }
}

/// Why a refresh (or an issue, or a revocation) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The refresh token is not one of ours, or has expired (idle or absolute): sign in again.
    #[error("the refresh token is unknown or has expired")]
    Invalid,
    /// The refresh token was presented again after it was replaced: someone else holds a copy.
    /// The whole family is revoked; the person signs in again.
    #[error("the refresh token was already used; every token of its session is revoked")]
    Reused,
    /// The family was revoked (logout, "log out everywhere", or an earlier reuse).
    #[error("the refresh token's session was revoked")]
    Revoked,
    /// The family or the client rotated too often: try again in `retry_after` seconds (sent as
    /// `Retry-After` with `429`). Nothing was changed; the refresh token still works.
    #[error("too many refreshes; try again in {retry_after} seconds")]
    RateLimited {
        /// Seconds until the limit's window ends.
        retry_after: u64,
    },
    /// The client's address cannot be told, so the per-client limit cannot count the refresh:
    /// refused rather than let through uncounted. A configuration error, logged at ERROR; see
    /// [`RefreshTokensBuilder::client_address`](super::RefreshTokensBuilder::client_address).
    #[error("the client's address is unknown, so the refresh cannot be rate limited")]
    ClientAddressUnknown,
    /// The store could not answer. Nothing was changed: keep the tokens and try again.
    #[error("the token store is unavailable: {0}")]
    Store(#[from] StoreError),
    /// A token could not be made: the access token not signed, or no random bytes for the
    /// refresh token or the family's id.
    #[error(transparent)]
    Issue(IssueError),
    /// The system clock reads before 1970: nothing can be dated, so nothing is issued or changed.
    #[error("system clock is before the Unix epoch")]
    Clock,
    /// The OpenAuth profile needs a subject, and `subject_from` gave none for this session.
    #[error("the OpenAuth profile needs a subject (`sub`); the Sessions' subject_from gave none")]
    NoSubject,
    /// A cookie could not be written.
    #[error(transparent)]
    Cookie(#[from] CookieError),
}

impl RefreshError {
    /// Whether the client's refresh token is no good (OAuth's `invalid_grant`): the person signs
    /// in again. Otherwise the failure is ours (`503`/`500`) and the client keeps its tokens.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(
            self,
            RefreshError::Invalid | RefreshError::Reused | RefreshError::Revoked
        )
    }

    /// The kind, as logs name it: `invalid`, `reused`, `revoked`, `rate_limited`,
    /// `client_address_unknown`, `store_unavailable`, `issue`, `clock`, `no_subject`, `cookie`.
    pub fn kind(&self) -> &'static str {
        match self {
            RefreshError::Invalid => "invalid",
            RefreshError::Reused => "reused",
            RefreshError::Revoked => "revoked",
            RefreshError::RateLimited { .. } => "rate_limited",
            RefreshError::ClientAddressUnknown => "client_address_unknown",
            RefreshError::Store(_) => "store_unavailable",
            RefreshError::Issue(_) => "issue",
            RefreshError::Clock => "clock",
            RefreshError::NoSubject => "no_subject",
            RefreshError::Cookie(_) => "cookie",
        }
    }
}

impl From<RevocationError> for RefreshError {
    fn from(error: RevocationError) -> Self {
        match error {
            RevocationError::Store(error) => RefreshError::Store(error),
            RevocationError::Clock => RefreshError::Clock,
            // Families always have an id and revocation by subject is checked before.
            RevocationError::NoSessionId | RevocationError::NoSubject => RefreshError::Invalid,
        }
    }
}

impl From<IssueError> for RefreshError {
    fn from(error: IssueError) -> Self {
        match error {
            IssueError::Clock => RefreshError::Clock,
            error => RefreshError::Issue(error),
        }
    }
}
