//! Configuring [`RefreshTokens`]: lifetimes that nest, rotation limits, the refresh cookie.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{
    DEFAULT_ACCESS_LIFETIME, DEFAULT_IDLE_TIMEOUT, DEFAULT_REFRESH_LIFETIME, DEFAULT_REUSE_GRACE,
    DEFAULT_ROTATIONS_PER_CLIENT, DEFAULT_ROTATIONS_PER_FAMILY, Inner, RefreshTokens,
};
use crate::cookie::{CookieError, CookieOptions};
use crate::rate_limit::{ClientAddress, RateLimit};
use crate::revocation::Revocations;
use crate::session_types::SessionTypes;
use crate::sessions::Sessions;
use crate::store::contract::{Store, shared};

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
    /// past it a refresh is refused with [`RefreshError::RateLimited`](super::RefreshError::RateLimited) until the window ends.
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
    /// told is refused ([`RefreshError::ClientAddressUnknown`](super::RefreshError::ClientAddressUnknown)) with an ERROR event.
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

impl<S: SessionTypes> RefreshTokens<S> {
    /// Pairs for `sessions`' sessions, kept in `store` (a `RedisStore` shared by the fleet).
    pub fn builder(sessions: Sessions<S>, store: impl Store) -> RefreshTokensBuilder<S> {
        RefreshTokensBuilder {
            sessions,
            store: shared(store),
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
}
