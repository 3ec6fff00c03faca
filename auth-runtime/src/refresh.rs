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

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{HeaderValue, SET_COOKIE};
use http::{HeaderMap, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cookie::{CookieError, CookieOptions};
use crate::rate_limit::{Client, ClientAddress, RateLimit, count};
use crate::redirect::found;
use crate::revocation::{RevocationError, Revocations};
use crate::session_types::SessionTypes;
use crate::sessions::{IssueError, IssueOptions, Sessions};
use crate::store::contract::{Store, StoreError};
use crate::telemetry::event;
use crate::token::sign::SignError;

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

/// Fixed context of the key that seals a successor under the token it replaces.
const SEAL_CONTEXT: &[u8] = b"auth-runtime refresh token successor v1";

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

/// Configures [`RefreshTokens`]; see [`RefreshTokens::builder`].
pub struct RefreshTokensBuilder<S> {
    sessions: Sessions<S>,
    store: Arc<dyn Store>,
    access_lifetime: Duration,
    lifetime: Duration,
    idle_timeout: Duration,
    reuse_grace: Duration,
    openauth: bool,
    cookie: Option<CookieOptions>,
    rotations_per_family: RateLimit,
    rotations_per_client: RateLimit,
    client_address: ClientAddress,
}

impl<S> fmt::Debug for RefreshTokensBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokensBuilder").finish_non_exhaustive()
    }
}

/// Why [`RefreshTokensBuilder::build`] refused the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshConfigError {
    /// The lifetimes do not nest: `reuse_grace < idle_timeout <= lifetime` and a non-zero
    /// `access_lifetime` no longer than `idle_timeout`.
    #[error(
        "refresh lifetimes must nest: reuse grace < idle timeout <= lifetime, and 0 < access lifetime <= idle timeout"
    )]
    Lifetimes,
    /// The refresh cookie breaks a browser rule.
    #[error(transparent)]
    Cookie(#[from] CookieError),
    /// A rotation limit allows no rotation at all, or fewer than two per access lifetime, which
    /// a client refreshing each access token once (and a retry) needs.
    #[error(
        "the {which} rotation limit ({max} per {window:?}) must allow at least two rotations per access lifetime ({access_lifetime:?})"
    )]
    RotationLimit {
        /// `family` or `client`.
        which: &'static str,
        /// The limit's count.
        max: u32,
        /// The limit's window.
        window: Duration,
        /// The access lifetime.
        access_lifetime: Duration,
    },
}

impl<S: SessionTypes> RefreshTokensBuilder<S> {
    /// How long each access token lives ([`DEFAULT_ACCESS_LIFETIME`]); capped at the `Sessions`'
    /// own lifetime.
    pub fn access_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_lifetime = lifetime;
        self
    }

    /// How long a family lives from sign-in, however often it is refreshed
    /// ([`DEFAULT_REFRESH_LIFETIME`]). A "log out everywhere" is remembered as long.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// How long a refresh token lives unused ([`DEFAULT_IDLE_TIMEOUT`]).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long a retired refresh token still answers with its successor
    /// ([`DEFAULT_REUSE_GRACE`]); after it, presenting it revokes the family.
    pub fn reuse_grace(mut self, grace: Duration) -> Self {
        self.reuse_grace = grace;
        self
    }

    /// Writes access tokens the way OpenAuth does: `mode: "access"` and `sub` (the `Sessions`'
    /// `subject_from` must give one), so OpenAuth's own client (`createClient(..).verify(..)`)
    /// accepts them. The `Sessions`' issuer must then be the URL the client is given, where the
    /// `AuthHandler` (the `providers` feature) serves `/token`, `/.well-known/jwks.json` and
    /// `/.well-known/oauth-authorization-server`: its base URL and prefix.
    pub fn openauth_profile(mut self) -> Self {
        self.openauth = true;
        self
    }

    /// The refresh cookie; by default the session cookie's options named `<name>-refresh`, on
    /// path `/` (the session layer refreshes on any route).
    pub fn cookie(mut self, cookie: CookieOptions) -> Self {
        self.cookie = Some(cookie);
        self
    }

    /// How many rotations one family may make per window ([`DEFAULT_ROTATIONS_PER_FAMILY`]);
    /// past it a refresh is refused with [`RefreshError::RateLimited`] until the window ends.
    /// Refused at build if it allows fewer than two rotations per access lifetime.
    pub fn limit_rotations_per_family(mut self, limit: RateLimit) -> Self {
        self.rotations_per_family = limit;
        self
    }

    /// How many rotations one client address may make per window across families, at the token
    /// endpoint and in the session layer ([`DEFAULT_ROTATIONS_PER_CLIENT`]). Refused at build if
    /// it allows fewer than two rotations per access lifetime.
    pub fn limit_rotations_per_client(mut self, limit: RateLimit) -> Self {
        self.rotations_per_client = limit;
        self
    }

    /// Where the token endpoint and the session layer read a client's address for the
    /// per-client limit; [`ClientAddress::Peer`] by default (serve the app with
    /// `into_make_service_with_connect_info::<SocketAddr>()`). A refresh whose client cannot be
    /// told is refused ([`RefreshError::ClientAddressUnknown`]) with an ERROR event.
    pub fn client_address(mut self, source: ClientAddress) -> Self {
        self.client_address = source;
        self
    }

    /// Checks the configuration.
    pub fn build(self) -> Result<RefreshTokens<S>, RefreshConfigError> {
        let nested = !self.access_lifetime.is_zero()
            && self.access_lifetime <= self.idle_timeout
            && self.reuse_grace < self.idle_timeout
            && self.idle_timeout <= self.lifetime;
        if !nested {
            return Err(RefreshConfigError::Lifetimes);
        }
        for (which, limit) in [
            ("family", self.rotations_per_family),
            ("client", self.rotations_per_client),
        ] {
            // `max / window >= 2 / access_lifetime`, in whole numbers.
            let enough = u128::from(limit.max) * self.access_lifetime.as_millis() >= 2 * limit.window.as_millis();
            if !enough || limit.window.is_zero() {
                return Err(RefreshConfigError::RotationLimit {
                    which,
                    max: limit.max,
                    window: limit.window,
                    access_lifetime: self.access_lifetime,
                });
            }
        }
        let session_cookie = self.sessions.cookie_options();
        let cookie = self.cookie.unwrap_or_else(|| {
            session_cookie
                .clone()
                .name(format!("{}-refresh", session_cookie.cookie_name()))
                .path("/")
        });
        cookie.validate()?;
        // On the sessions' clock: a "log out everywhere" and a family's start are dated alike.
        let revocations = Revocations::new(Arc::clone(&self.store))
            .max_lifetime(self.lifetime)
            .with_clock(self.sessions.clock().clone());
        Ok(RefreshTokens {
            inner: Arc::new(Inner {
                sessions: self.sessions,
                store: self.store,
                revocations,
                access_lifetime: self.access_lifetime,
                lifetime: self.lifetime,
                idle_timeout: self.idle_timeout,
                reuse_grace: self.reuse_grace,
                openauth: self.openauth,
                cookie,
                rotations_per_family: self.rotations_per_family,
                rotations_per_client: self.rotations_per_client,
                client_address: self.client_address,
            }),
        })
    }
}

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
    /// [`RefreshTokensBuilder::client_address`].
    #[error("the client's address is unknown, so the refresh cannot be rate limited")]
    ClientAddressUnknown,
    /// The store could not answer. Nothing was changed: keep the tokens and try again.
    #[error("the token store is unavailable: {0}")]
    Store(#[from] StoreError),
    /// The access token could not be signed, or the clock reads before 1970.
    #[error(transparent)]
    Issue(#[from] IssueError),
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
    /// `client_address_unknown`, `store_unavailable`, `issue`, `no_subject`, `cookie`.
    pub fn kind(&self) -> &'static str {
        match self {
            RefreshError::Invalid => "invalid",
            RefreshError::Reused => "reused",
            RefreshError::Revoked => "revoked",
            RefreshError::RateLimited { .. } => "rate_limited",
            RefreshError::ClientAddressUnknown => "client_address_unknown",
            RefreshError::Store(_) => "store_unavailable",
            RefreshError::Issue(_) => "issue",
            RefreshError::NoSubject => "no_subject",
            RefreshError::Cookie(_) => "cookie",
        }
    }
}

impl From<RevocationError> for RefreshError {
    fn from(error: RevocationError) -> Self {
        match error {
            RevocationError::Store(error) => RefreshError::Store(error),
            RevocationError::Clock => RefreshError::Issue(IssueError::Clock),
            // Families always have an id and revocation by subject is checked before.
            RevocationError::NoSessionId | RevocationError::NoSubject => RefreshError::Invalid,
        }
    }
}

/// What a family is: its id, whose it is, and when it began and ends.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Family {
    id: String,
    subject: Option<String>,
    created_at: u64,
    expires_at: u64,
}

/// A live refresh token's record (under the token's hash).
#[derive(Serialize, Deserialize)]
struct Live {
    family: Family,
    idle_expires_at: u64,
    session: serde_json::Value,
}

/// A retired refresh token's marker: when it was replaced, and of which family (so that a copy
/// presented later ends it). Kept until the family could no longer live, so it holds only what
/// ending the family takes.
#[derive(Serialize, Deserialize)]
struct Retired {
    at: u64,
    family: FamilyEnd,
}

/// Which family, and until when it could live: a [`Family`] without the rest (markers written
/// by 0.2 hold the whole family and read as this).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FamilyEnd {
    id: String,
    expires_at: u64,
}

impl Family {
    fn end(&self) -> FamilyEnd {
        FamilyEnd {
            id: self.id.clone(),
            expires_at: self.expires_at,
        }
    }
}

/// A retired refresh token's successor, sealed under the retired token, with what a replay in
/// the grace window needs to answer. Kept for the grace window only; writing it (put-if-absent)
/// is what decides which of two concurrent refreshes rotates.
#[derive(Serialize, Deserialize)]
struct Successor {
    at: u64,
    family: Family,
    session: serde_json::Value,
    sealed: String,
}

impl<S: SessionTypes> RefreshTokens<S> {
    /// Pairs for `sessions`' sessions, kept in `store` (a `RedisStore` shared by the fleet).
    pub fn builder(sessions: Sessions<S>, store: Arc<dyn Store>) -> RefreshTokensBuilder<S> {
        RefreshTokensBuilder {
            sessions,
            store,
            access_lifetime: DEFAULT_ACCESS_LIFETIME,
            lifetime: DEFAULT_REFRESH_LIFETIME,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            reuse_grace: DEFAULT_REUSE_GRACE,
            openauth: false,
            cookie: None,
            rotations_per_family: DEFAULT_ROTATIONS_PER_FAMILY,
            rotations_per_client: DEFAULT_ROTATIONS_PER_CLIENT,
            client_address: ClientAddress::Peer,
        }
    }

    /// Starts a family for `session` (a sign-in) and returns its first pair.
    pub async fn issue(&self, session: &S) -> Result<TokenPair, RefreshError> {
        let inner = &*self.inner;
        let now = inner.sessions.now()?;
        let subject = inner.sessions.subject_of(session);
        if inner.openauth && subject.is_none() {
            return Err(RefreshError::NoSubject);
        }
        let family = Family {
            id: random_token::<16>()?,
            subject,
            created_at: now,
            expires_at: now.saturating_add(inner.lifetime.as_secs()),
        };
        let value = serde_json::to_value(session).map_err(|error| IssueError::Sign(SignError::Serialize(error)))?;
        let refresh_token = self.store_live(&family, value, now).await?;
        event!(debug, REFRESH, session_id = family.id.as_str(), "token family started");
        self.pair(session, &family, refresh_token, now)
    }

    /// Rotates `refresh_token`: a new pair, the old token retired. See the module docs for what a
    /// retired token gets. Counts against the per-family limit only; the token endpoint and the
    /// session layer also count the client's address.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, RefreshError> {
        self.refresh_from(refresh_token, &Client::Unlimited).await
    }

    /// [`refresh`](Self::refresh), counted against the per-client limit too.
    async fn refresh_from(&self, refresh_token: &str, client: &Client) -> Result<TokenPair, RefreshError> {
        let result = self.rotate(refresh_token, client).await;
        if let Err(_error) = &result {
            event!(debug, REFRESH, reason = _error.kind(), "refresh refused");
        }
        result
    }

    async fn rotate(&self, refresh_token: &str, client: &Client) -> Result<TokenPair, RefreshError> {
        let inner = &*self.inner;
        let token = decode_token(refresh_token).ok_or(RefreshError::Invalid)?;
        let keys = record_keys(refresh_token);
        let [live_key, retired_key, successor_key] = &keys;
        // Twice at most: a lost race for the retirement reads the winner's successor on the second.
        for _ in 0..2 {
            let mut records = inner.store.get_many(&keys).await?.into_iter();
            let mut next = || records.next().flatten();
            let (live, retired, successor) = (next(), next(), next());
            let live = live.and_then(|bytes| serde_json::from_slice::<Live>(&bytes).ok());
            let retired = retired.and_then(|bytes| serde_json::from_slice::<Retired>(&bytes).ok());
            let successor = successor.and_then(|bytes| serde_json::from_slice::<Successor>(&bytes).ok());
            let now = inner.sessions.now()?;
            if let Some(successor) = successor {
                return self.replayed(&token, successor, now).await;
            }
            if let Some(retired) = retired {
                // The successor is written before the marker, so a marker without one is past the
                // grace window (or was written before successors had records of their own).
                if now <= retired.at.saturating_add(inner.reuse_grace.as_secs()) {
                    return Err(RefreshError::Invalid);
                }
                return self.reused(&retired.family).await;
            }
            let live = live.ok_or(RefreshError::Invalid)?;
            if now >= live.family.expires_at || now >= live.idle_expires_at {
                return Err(RefreshError::Invalid);
            }
            self.check_not_revoked(&live.family).await?;
            self.count_rotation(&live.family, client, now).await?;
            let session: S = serde_json::from_value(live.session.clone()).map_err(|_| RefreshError::Invalid)?;
            let new_token = self.store_live(&live.family, live.session.clone(), now).await?;
            let record = Successor {
                at: now,
                family: live.family.clone(),
                session: live.session,
                sealed: seal(&token, &new_token).ok_or(RefreshError::Invalid)?,
            };
            let record = to_json(&record)?;
            // The grace window, and the second that `at + grace` itself still counts.
            let grace = inner.reuse_grace + Duration::from_secs(1);
            if inner.store.put_new(successor_key, record, grace).await? {
                let marker = to_json(&Retired {
                    at: now,
                    family: live.family.end(),
                })?;
                inner
                    .store
                    .put(retired_key, marker, remaining(live.family.expires_at, now))
                    .await?;
                inner.store.remove(live_key).await?;
                event!(
                    debug,
                    REFRESH,
                    session_id = live.family.id.as_str(),
                    "refresh token rotated"
                );
                return self.pair(&session, &live.family, new_token, now);
            }
            // Another request retired it first: its successor is the one; ours is dropped.
            let [new_key, ..] = record_keys(&new_token);
            let _ = inner.store.remove(&new_key).await;
        }
        Err(RefreshError::Invalid)
    }

    /// Counts one rotation of `family` by `client` against the limits.
    async fn count_rotation(&self, family: &Family, client: &Client, now: u64) -> Result<(), RefreshError> {
        let inner = &*self.inner;
        let limited = |retry_after: Option<u64>| match retry_after {
            Some(retry_after) => Err(RefreshError::RateLimited { retry_after }),
            None => Ok(()),
        };
        match client {
            Client::Known(address) => {
                limited(count(&*inner.store, inner.rotations_per_client, "rotate-client", address, now).await?)?
            }
            Client::Unlimited => {}
            Client::Unknown => return Err(RefreshError::ClientAddressUnknown),
        }
        limited(
            count(
                &*inner.store,
                inner.rotations_per_family,
                "rotate-family",
                &family.id,
                now,
            )
            .await?,
        )
    }

    /// A retired token presented again with its successor still on record: the same successor
    /// within the grace window (and the family's life), else the end of the family.
    async fn replayed(&self, token: &[u8; 32], successor: Successor, now: u64) -> Result<TokenPair, RefreshError> {
        let inner = &*self.inner;
        let in_grace = now <= successor.at.saturating_add(inner.reuse_grace.as_secs());
        if !in_grace {
            return self.reused(&successor.family.end()).await;
        }
        if now >= successor.family.expires_at {
            return Err(RefreshError::Invalid);
        }
        self.check_not_revoked(&successor.family).await?;
        let new_token = open(token, &successor.sealed).ok_or(RefreshError::Invalid)?;
        let session: S = serde_json::from_value(successor.session).map_err(|_| RefreshError::Invalid)?;
        self.pair(&session, &successor.family, new_token, now)
    }

    /// A retired token presented after the grace window: someone else holds a copy. The family
    /// ends.
    async fn reused(&self, family: &FamilyEnd) -> Result<TokenPair, RefreshError> {
        event!(
            warn,
            REFRESH,
            session_id = family.id.as_str(),
            "a retired refresh token was used again; its family is revoked"
        );
        self.inner
            .revocations
            .revoke(&family.id, Some(family.expires_at))
            .await?;
        Err(RefreshError::Reused)
    }

    async fn check_not_revoked(&self, family: &Family) -> Result<(), RefreshError> {
        let revoked = self
            .inner
            .revocations
            .is_session_revoked(&family.id, family.subject.as_deref(), Some(family.created_at))
            .await?;
        if revoked { Err(RefreshError::Revoked) } else { Ok(()) }
    }

    /// Saves a new refresh token of `family` and returns it.
    async fn store_live(&self, family: &Family, session: serde_json::Value, now: u64) -> Result<String, RefreshError> {
        let inner = &*self.inner;
        let token = random_token::<32>()?;
        let idle_expires_at = self.idle_expiry(family, now);
        let live = Live {
            family: family.clone(),
            idle_expires_at,
            session,
        };
        let record = to_json(&live)?;
        let [key, ..] = record_keys(&token);
        inner.store.put(&key, record, remaining(idle_expires_at, now)).await?;
        Ok(token)
    }

    /// When a refresh token of `family` issued at `now` dies unused: its idle timeout, or the
    /// family's end if sooner.
    fn idle_expiry(&self, family: &Family, now: u64) -> u64 {
        now.saturating_add(self.inner.idle_timeout.as_secs())
            .min(family.expires_at)
    }

    /// A fresh access token for `session` in `family`, with `refresh_token`. The access token
    /// never outlives the family (nor, so, the revocation record that can refuse it).
    fn pair(&self, session: &S, family: &Family, refresh_token: String, now: u64) -> Result<TokenPair, RefreshError> {
        let inner = &*self.inner;
        let left = family.expires_at.saturating_sub(now);
        if left == 0 {
            return Err(RefreshError::Invalid);
        }
        let options = IssueOptions {
            subject: family.subject.clone(),
            lifetime: Some(inner.access_lifetime.min(Duration::from_secs(left))),
            session_id: Some(family.id.clone()),
            mode: inner.openauth.then(|| "access".to_owned()),
            ..IssueOptions::default()
        };
        let issued = inner.sessions.issue(session, &options)?;
        let idle_expires_at = self.idle_expiry(family, now);
        Ok(TokenPair {
            access_token: issued.token,
            refresh_token,
            expires_in: issued.expires_at.saturating_sub(issued.issued_at),
            refresh_expires_in: idle_expires_at.saturating_sub(now),
            session_id: family.id.clone(),
        })
    }

    /// Ends the family of `refresh_token` (logout): its refresh tokens stop working, and its
    /// access tokens are revoked through the revocation list (refused by a
    /// [`Revocable`](crate::revocation::Revocable) verifier, dropped from caches listening to
    /// the store). An unknown token is [`RefreshError::Invalid`].
    pub async fn revoke(&self, refresh_token: &str) -> Result<(), RefreshError> {
        let inner = &*self.inner;
        let records = inner.store.get_many(&record_keys(refresh_token)).await?;
        let family = records
            .into_iter()
            .flatten()
            .find_map(|bytes| {
                serde_json::from_slice::<Live>(&bytes)
                    .map(|live| live.family.end())
                    .or_else(|_| serde_json::from_slice::<Retired>(&bytes).map(|retired| retired.family))
                    .ok()
            })
            .ok_or(RefreshError::Invalid)?;
        self.revoke_session(&family.id, family.expires_at).await
    }

    /// Ends the family `session_id` (an access token's [`Authenticated::session_id`]) that lives
    /// until `expires_at` at the latest (the family's end; pass the refresh lifetime from now if
    /// unknown).
    ///
    /// [`Authenticated::session_id`]: crate::Authenticated
    pub async fn revoke_session(&self, session_id: &str, expires_at: u64) -> Result<(), RefreshError> {
        self.inner.revocations.revoke(session_id, Some(expires_at)).await?;
        Ok(())
    }

    /// "Log out everywhere": ends every family of `subject` started until now, and every access
    /// token of the subject issued until now.
    pub async fn revoke_subject(&self, subject: &str) -> Result<(), RefreshError> {
        self.inner.revocations.revoke_subject(subject).await?;
        Ok(())
    }

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

    /// Signs `session` in with a new family: `302 Found` to `redirect` with the access token in
    /// the session cookie and the refresh token in the refresh cookie (each `Max-Age` its own
    /// lifetime). `redirect` is checked like [`Sessions::cookie`]'s.
    pub async fn sign_in<B: Default>(&self, session: &S, redirect: &str) -> Result<Response<B>, RefreshError> {
        let target = self.inner.sessions.check_redirect(redirect).map_err(IssueError::from)?;
        let pair = self.issue(session).await?;
        let mut response = found::<B>(target.as_str(), None).map_err(IssueError::from)?;
        for cookie in self.set_cookies(&pair)? {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
        Ok(response)
    }

    /// The two `Set-Cookie` values that put `pair` in a browser.
    pub fn set_cookies(&self, pair: &TokenPair) -> Result<[HeaderValue; 2], RefreshError> {
        let access = self
            .inner
            .sessions
            .cookie_options()
            .set_cookie_header(&pair.access_token, Some(pair.expires_in))?;
        let refresh = self
            .inner
            .cookie
            .set_cookie_header(&pair.refresh_token, Some(pair.refresh_expires_in))?;
        let header = |value: String| HeaderValue::from_str(&value).map_err(IssueError::from);
        Ok([header(access)?, header(refresh)?])
    }

    /// The two `Set-Cookie` values that delete the session and refresh cookies (logout).
    pub fn clear_cookies(&self) -> [String; 2] {
        [
            self.inner.sessions.cookie_options().clear_cookie_header(),
            self.inner.cookie.clear_cookie_header(),
        ]
    }

    /// The refresh token the request's refresh cookie carries; `None` when it carries the cookie
    /// more than once (another host of the site may have set one: never guess which is ours).
    pub fn refresh_cookie(&self, headers: &HeaderMap) -> Option<String> {
        match refresh_cookie(&self.inner.cookie, headers) {
            RefreshCookie::One(token) => Some(token),
            RefreshCookie::Absent | RefreshCookie::Several => None,
        }
    }
}

/// What a request carries in the refresh cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefreshCookie {
    Absent,
    One(String),
    /// More than one cookie of the name (cookie tossing from a sibling host): treated as none,
    /// and cleared.
    Several,
}

/// The refresh cookie `cookie` names, in `headers`.
pub(crate) fn refresh_cookie(cookie: &CookieOptions, headers: &HeaderMap) -> RefreshCookie {
    let mut found = cookie.find(headers);
    match (found.pop(), found.is_empty()) {
        (None, _) => RefreshCookie::Absent,
        (Some(token), true) => RefreshCookie::One(token),
        (Some(_), false) => RefreshCookie::Several,
    }
}

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

/// `N` random bytes, base64url.
fn random_token<const N: usize>() -> Result<String, IssueError> {
    crate::random::random_id::<N>().map_err(IssueError::Random)
}

/// A refresh token's 32 bytes, if it is one (43 base64url characters).
fn decode_token(token: &str) -> Option<[u8; 32]> {
    if token.len() != 43 {
        return None;
    }
    URL_SAFE_NO_PAD.decode(token).ok()?.try_into().ok()
}

/// The store keys of a refresh token: its live record, its retired marker and its successor.
fn record_keys(token: &str) -> [String; 3] {
    let hash = token_hash(token);
    [
        format!("{REFRESH_PREFIX}{hash}"),
        format!("{RETIRED_PREFIX}{hash}"),
        format!("{SUCCESSOR_PREFIX}{hash}"),
    ]
}

/// A record as JSON bytes.
fn to_json(record: &impl Serialize) -> Result<Vec<u8>, RefreshError> {
    Ok(serde_json::to_vec(record).map_err(|error| IssueError::Sign(SignError::Serialize(error)))?)
}

/// The store's name for a refresh token: its SHA-256, base64url.
pub(crate) fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// The pad that seals a successor under `token`: SHA-256 of a fixed context and the token's 256
/// secret bits. Each token seals exactly one successor, so the pad is used once.
fn pad(token: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(SEAL_CONTEXT);
    hasher.update(token);
    hasher.finalize().into()
}

fn seal(token: &[u8; 32], successor: &str) -> Option<String> {
    Some(with_pad(token, &decode_token(successor)?))
}

fn open(token: &[u8; 32], sealed: &str) -> Option<String> {
    let sealed: [u8; 32] = URL_SAFE_NO_PAD.decode(sealed).ok()?.try_into().ok()?;
    Some(with_pad(token, &sealed))
}

/// `bytes` XOR `token`'s pad, base64url: sealing and opening are the same step.
fn with_pad(token: &[u8; 32], bytes: &[u8; 32]) -> String {
    let mixed: Vec<u8> = bytes.iter().zip(pad(token)).map(|(byte, key)| byte ^ key).collect();
    URL_SAFE_NO_PAD.encode(mixed)
}

/// The time to live of a record that must last until `until` (at least a second).
fn remaining(until: u64, now: u64) -> Duration {
    Duration::from_secs(until.saturating_sub(now).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_successor_opens_only_under_the_token_it_replaced() {
        let token = [7u8; 32];
        let successor = URL_SAFE_NO_PAD.encode([9u8; 32]);
        let sealed = seal(&token, &successor).expect("a refresh token seals");
        assert_ne!(sealed, successor);
        assert_eq!(open(&token, &sealed).as_deref(), Some(successor.as_str()));
        assert_ne!(open(&[8u8; 32], &sealed).as_deref(), Some(successor.as_str()));
    }

    #[test]
    fn only_43_base64url_characters_are_a_refresh_token() {
        assert!(decode_token(&URL_SAFE_NO_PAD.encode([1u8; 32])).is_some());
        assert!(decode_token("short").is_none());
        assert!(decode_token(&"*".repeat(43)).is_none());
        assert!(decode_token(&URL_SAFE_NO_PAD.encode([1u8; 33])).is_none());
    }
}
