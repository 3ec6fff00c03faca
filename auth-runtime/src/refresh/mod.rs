//! Short access tokens with rotating refresh tokens (OAuth 2.0 Security BCP, OpenAuth's model).
//!
//! A session in pair mode is a *family*: a short access token (15 minutes by default) that is
//! verified without state like any token of [`Sessions`], and an opaque refresh token that buys
//! the next pair. The refresh token is 256 random bits, kept in the [`Store`] only as its SHA-256,
//! bound to the family, the subject and the session value; the family lives at most
//! [`lifetime`](RefreshTokensBuilder::lifetime) (30 days) from sign-in, and a refresh token
//! unused for [`idle_timeout`](RefreshTokensBuilder::idle_timeout) (7 days) dies.
//!
//! - **Rotation.** Every refresh returns a new pair and retires the refresh token it used.
//! - **Reuse detection.** A retired refresh token presented again within
//!   [`reuse_grace`](RefreshTokensBuilder::reuse_grace) (60 s, OpenAuth's default: two tabs or two
//!   requests racing) gets the same successor refresh token (with a fresh access token for the
//!   same session), never a second one. Presented after it, it reveals that someone else holds a
//!   copy: the whole family is revoked (its refresh tokens, and its access tokens, which carry the
//!   family's id as `sid`, through the revocation list and the cache events), and the person signs
//!   in again. A thief who replays a stolen refresh token after the owner rotated it therefore
//!   ends the family for both.
//! - **Atomic on the store.** The retirement is one `SET NX` (on Redis) of the retired token's
//!   successor record: of two instances refreshing one token at the same moment, one writes it
//!   and returns the successor; the other reads it and returns the same successor.
//! - **Bounded.** Rotations are counted per family
//!   ([`limit_rotations_per_family`](RefreshTokensBuilder::limit_rotations_per_family), 30 an hour)
//!   and per client address at the token endpoint and in the session layer
//!   ([`limit_rotations_per_client`](RefreshTokensBuilder::limit_rotations_per_client), 600 an
//!   hour): past either, a refresh is refused with [`RefreshError::RateLimited`] (`429` with
//!   `Retry-After`) and nothing is written. A client whose address cannot be told is refused
//!   ([`RefreshError::ClientAddressUnknown`]), never counted as no one.
//! - **No access token outlives its family**, nor the revocation record that can refuse it.
//!
//! The successor is kept, sealed under a key derived from the retired token itself (so only
//! someone who presents that token can read it), for the reuse grace window only: after it,
//! someone who can read the store (a replica, a backup) and holds an old refresh token learns
//! nothing from it. The store never holds a refresh token in the clear.
//!
//! Browsers carry the pair in two cookies (the session cookie and `<name>-refresh`), and the
//! session layer refreshes on its own ([`SessionLayerBuilder::refresh_tokens`]); API clients
//! call `POST <prefix>/token` (`AuthHandlerBuilder::refresh_tokens`, with the `providers`
//! feature; RFC 6749 section 6). A request that carries the refresh cookie more than once (a
//! sibling subdomain can set one of the same name: cookie tossing) is treated as carrying none,
//! and the cookie is cleared; name it `__Host-...` where the browser allows (HTTPS, no `Domain`,
//! path `/`) so that no other host can set it.
//!
//! Storage per family: its live refresh token's record (the session value), the successor record
//! of the last rotation for the grace window, and a retired marker per rotation (the family's id
//! and end) until the family could no longer live, so that a copy presented at any time is
//! caught. Measured on Redis 7 (`MEMORY USAGE`, key included): a family refreshed every 15
//! minutes for a day holds 21 064 bytes, its live record 328 and 96 markers of 216; the
//! per-family limit bounds a client that rotates as fast as it can to 720 markers a day.
//! The retired token's own record goes at rotation. On a
//! [`MemoryStore`](crate::store::MemoryStore) refresh records have a capacity of their own: they
//! never crowd out sign-in flows or revocations.
//!
//! [`SessionLayerBuilder::refresh_tokens`]: crate::SessionLayerBuilder::refresh_tokens

mod browser;
mod builder;
mod codec;
mod outcome;
mod records;
mod refresher;
mod revoke;
mod rotation;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::cookie::CookieOptions;
use crate::rate_limit::{ClientAddress, RateLimit};
use crate::revocation::Revocations;
use crate::session_types::SessionTypes;
use crate::sessions::Sessions;
use crate::store::contract::Store;

pub(crate) use self::browser::{RefreshCookie, refresh_cookie};
pub use self::builder::{RefreshConfigError, RefreshTokensBuilder};
pub(crate) use self::codec::token_hash;
pub use self::outcome::{RefreshError, TokenPair};
pub(crate) use self::refresher::{Presenter, Refresher};

/// How long an access token of a pair lives by default.
pub const DEFAULT_ACCESS_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// How long a family lives by default, from sign-in, however often it is refreshed.
pub const DEFAULT_REFRESH_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// How long a refresh token lives unused by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// How long a retired refresh token still answers with its successor (OpenAuth's default).
pub const DEFAULT_REUSE_GRACE: Duration = Duration::from_secs(60);

/// The store key prefix of live refresh tokens (by the SHA-256 of the token).
pub const REFRESH_PREFIX: &str = "refresh:";
/// The store key prefix of retired refresh tokens (what detects reuse), kept until the family
/// could no longer live. Not one of the [`SECURITY_KEY_PREFIXES`](crate::store::SECURITY_KEY_PREFIXES):
/// there is one per rotation, and on a `MemoryStore` they must never crowd revocations out of
/// their own capacity (refresh records have one of their own,
/// [`REFRESH_KEY_PREFIXES`](crate::store::REFRESH_KEY_PREFIXES)).
pub const RETIRED_PREFIX: &str = "refresh-retired:";
/// The store key prefix of a retired refresh token's successor (sealed under the retired token),
/// kept for the reuse grace window only.
pub const SUCCESSOR_PREFIX: &str = "refresh-next:";

/// Rotations one family may make by default: 30 an hour, seven times what a client refreshing
/// every 15 minutes needs.
pub const DEFAULT_ROTATIONS_PER_FAMILY: RateLimit = RateLimit::new(30, Duration::from_secs(60 * 60));
/// Rotations one client address may make by default, across families: 600 an hour (an office
/// of 150 people behind one address, each refreshing every 15 minutes).
pub const DEFAULT_ROTATIONS_PER_CLIENT: RateLimit = RateLimit::new(600, Duration::from_secs(60 * 60));

/// Issues and rotates token pairs for sessions of `S`; cheap to clone.
///
/// ```
/// use std::sync::Arc;
/// use auth_runtime::refresh::RefreshTokens;
/// use auth_runtime::store::MemoryStore;
/// use auth_runtime::{SessionTypes, Sessions, SigningKey};
///
/// #[derive(SessionTypes, Debug, Clone, PartialEq)]
/// enum AppSession {
///     User { user_id: String },
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let sessions: Sessions<AppSession> = Sessions::builder()
///     .signing_key(SigningKey::generate_ed25519()?)
///     .issuer("https://auth.example.com")
///     .audience("app")
///     .subject_from(|AppSession::User { user_id }| Some(user_id.clone()))
///     .build()?;
/// let tokens = RefreshTokens::builder(sessions.clone(), Arc::new(MemoryStore::new())).build()?;
///
/// let first = tokens.issue(&AppSession::User { user_id: "ada".into() }).await?;
/// assert_eq!(first.expires_in, 15 * 60);
/// let next = tokens.refresh(&first.refresh_token).await?;
/// assert_ne!(next.refresh_token, first.refresh_token);
/// assert!(sessions.verify(&next.access_token).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RefreshTokens<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for RefreshTokens<S> {
    fn clone(&self) -> Self {
        RefreshTokens {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S> fmt::Debug for RefreshTokens<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokens")
            .field("access_lifetime", &self.inner.access_lifetime)
            .field("lifetime", &self.inner.lifetime)
            .field("idle_timeout", &self.inner.idle_timeout)
            .field("reuse_grace", &self.inner.reuse_grace)
            .field("openauth", &self.inner.openauth)
            .finish_non_exhaustive()
    }
}

struct Inner<S> {
    sessions: Sessions<S>,
    store: Arc<dyn Store>,
    revocations: Revocations,
    access_lifetime: Duration,
    lifetime: Duration,
    idle_timeout: Duration,
    reuse_grace: Duration,
    openauth: bool,
    cookie: CookieOptions,
    rotations_per_family: RateLimit,
    rotations_per_client: RateLimit,
    client_address: ClientAddress,
}

impl<S: SessionTypes> RefreshTokens<S> {
    /// The revocation list the families are checked against (the one a
    /// [`Revocable`](crate::revocation::Revocable) verifier in front of the access tokens should
    /// use, so a revoked family's access tokens are refused at once).
    pub fn revocations(&self) -> &Revocations {
        &self.inner.revocations
    }

    /// Whether access tokens are written the way OpenAuth writes them.
    pub fn is_openauth(&self) -> bool {
        self.inner.openauth
    }

    /// The `Sessions` the access tokens are signed with.
    pub fn sessions(&self) -> &Sessions<S> {
        &self.inner.sessions
    }

    /// The refresh cookie's options.
    pub fn cookie_options(&self) -> &CookieOptions {
        &self.inner.cookie
    }
}
