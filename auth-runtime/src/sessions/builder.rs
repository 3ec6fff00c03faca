//! Configuring [`Sessions`]: keys, issuer and audience, lifetimes, the cookie, the redirect
//! allowlist, the subject and the clock.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{Config, Sessions, issued_headers};
use crate::clock::Clock;
use crate::cookie::{CookieError, CookieOptions};
use crate::redirect::{InvalidOrigin, RedirectPolicy};
use crate::session_types::SessionTypes;
use crate::token::defaults::{DEFAULT_LEEWAY, DEFAULT_LIFETIME, DEFAULT_MAX_TOKEN_LEN, DEFAULT_TOKEN_TYPE, MAX_LEEWAY};
use crate::token::keys::{KeyError, SigningKey, VerificationKey};

/// Why a [`Sessions`] could not be built: the error of [`SessionsBuilder::build`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionsConfigError {
    /// No signing key was given.
    #[error("no signing key; call `signing_key` (or `SigningKey::generate_ed25519()` for development)")]
    MissingSigningKey,
    /// No issuer, or an empty one, was given.
    #[error("no issuer; call `issuer(\"https://auth.example.com\")`")]
    MissingIssuer,
    /// No audience, or an empty one, was given.
    #[error("no audience; call `audience(\"my-app\")`")]
    MissingAudience,
    /// A key could not be built.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Two keys share a `kid`, so tokens could not say which one signed them.
    #[error("two keys have kid `{0}`; give each key its own with `with_kid`")]
    DuplicateKid(String),
    /// The lifetime is zero or longer than the leeway allows to reason about.
    #[error("token lifetime must be between 1 second and 10 years")]
    InvalidLifetime,
    /// The leeway is not smaller than the lifetime.
    #[error("clock leeway ({leeway:?}) must be shorter than the token lifetime ({lifetime:?}) and at most 5 minutes")]
    InvalidLeeway {
        /// The configured leeway.
        leeway: Duration,
        /// The configured lifetime.
        lifetime: Duration,
    },
    /// The token type is empty or not printable ASCII.
    #[error("token type `{0}` must be non-empty printable ASCII")]
    InvalidTokenType(String),
    /// The maximum token length is too small to hold a token.
    #[error("max token length {0} is below 256 bytes")]
    InvalidMaxTokenLen(usize),
    /// Cookie options break a browser rule.
    #[error(transparent)]
    Cookie(#[from] CookieError),
    /// An allowed redirect origin is not an origin.
    #[error(transparent)]
    RedirectOrigin(#[from] InvalidOrigin),
}

/// The former name of [`SessionsConfigError`].
#[deprecated(since = "0.2.0", note = "renamed to `SessionsConfigError`")]
pub type ConfigError = SessionsConfigError;

/// Builds a [`Sessions`]; see [`Sessions::builder`].
pub struct SessionsBuilder<S> {
    signing: Option<SigningKey>,
    extra_keys: Vec<VerificationKey>,
    issuer: Option<String>,
    audience: Option<String>,
    token_type: String,
    lifetime: Duration,
    leeway: Duration,
    max_token_len: usize,
    cookie: CookieOptions,
    redirects: RedirectPolicy,
    origin_errors: Vec<InvalidOrigin>,
    clock: Clock,
    subject: Option<fn(&S) -> Option<String>>,
}

impl<S: SessionTypes> Sessions<S> {
    /// Starts a configuration. A signing key, an issuer and an audience are required; the rest
    /// has safe defaults (30-day tokens, 60 s leeway, the `auth-token` cookie, relative redirects only).
    pub fn builder() -> SessionsBuilder<S> {
        SessionsBuilder {
            signing: None,
            extra_keys: Vec::new(),
            issuer: None,
            audience: None,
            token_type: DEFAULT_TOKEN_TYPE.to_owned(),
            lifetime: DEFAULT_LIFETIME,
            leeway: DEFAULT_LEEWAY,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            cookie: CookieOptions::default(),
            redirects: RedirectPolicy::new(),
            origin_errors: Vec::new(),
            clock: Clock::system(),
            subject: None,
        }
    }
}

impl<S: SessionTypes> SessionsBuilder<S> {
    /// The key new tokens are signed with. Its verification half is always accepted.
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.signing = Some(key);
        self
    }

    /// Another key whose tokens are accepted, selected by `kid`: a retired signing key during
    /// rotation, or the key of another instance that issues for the same issuer and audience.
    pub fn verification_key(mut self, key: VerificationKey) -> Self {
        self.extra_keys.push(key);
        self
    }

    /// `iss` written into tokens and required of them.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// `aud` written into tokens and required of them.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// How long new tokens live; 30 days by default.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Tolerance for clock skew on `exp` and `nbf`; 60 seconds by default, at most 5 minutes.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The `typ` header written and required; `session+jwt` by default.
    pub fn token_type(mut self, token_type: impl Into<String>) -> Self {
        self.token_type = token_type.into();
        self
    }

    /// Longest token accepted; 8 KiB by default.
    pub fn max_token_len(mut self, max: usize) -> Self {
        self.max_token_len = max;
        self
    }

    /// Cookie name and attributes.
    pub fn cookie(mut self, cookie: CookieOptions) -> Self {
        self.cookie = cookie;
        self
    }

    /// Allows redirects to absolute URLs on `origin` (`https://app.example.com`). Relative paths
    /// are always allowed. An invalid origin is reported by [`build`](Self::build).
    pub fn allow_redirect_origin(mut self, origin: &str) -> Self {
        match self.redirects.clone().allow_origin(origin) {
            Ok(redirects) => self.redirects = redirects,
            Err(error) => self.origin_errors.push(error),
        }
        self
    }

    /// Derives `sub` from the session (a user id, say) for every token issued.
    pub fn subject_from(mut self, subject: fn(&S) -> Option<String>) -> Self {
        self.subject = Some(subject);
        self
    }

    /// Replaces the system clock, for tests that need tokens from the past or the future.
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Clock::custom(clock);
        self
    }

    /// Checks the configuration and builds the [`Sessions`].
    pub fn build(self) -> Result<Sessions<S>, SessionsConfigError> {
        if let Some(error) = self.origin_errors.into_iter().next() {
            return Err(SessionsConfigError::RedirectOrigin(error));
        }
        let signing = self.signing.ok_or(SessionsConfigError::MissingSigningKey)?;
        let issuer = self
            .issuer
            .filter(|issuer| !issuer.is_empty())
            .ok_or(SessionsConfigError::MissingIssuer)?;
        let audience = self
            .audience
            .filter(|audience| !audience.is_empty())
            .ok_or(SessionsConfigError::MissingAudience)?;
        if self.lifetime.is_zero() || self.lifetime > Duration::from_secs(10 * 365 * 24 * 60 * 60) {
            return Err(SessionsConfigError::InvalidLifetime);
        }
        if self.leeway >= self.lifetime || self.leeway > MAX_LEEWAY {
            return Err(SessionsConfigError::InvalidLeeway {
                leeway: self.leeway,
                lifetime: self.lifetime,
            });
        }
        if self.token_type.is_empty() || !self.token_type.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            return Err(SessionsConfigError::InvalidTokenType(self.token_type));
        }
        if self.max_token_len < 256 {
            return Err(SessionsConfigError::InvalidMaxTokenLen(self.max_token_len));
        }
        self.cookie.validate()?;

        let mut keys = vec![signing.verification_key().clone()];
        for key in self.extra_keys {
            if keys.iter().any(|known| known.kid() == key.kid()) {
                return Err(SessionsConfigError::DuplicateKid(key.kid().to_owned()));
            }
            keys.push(key);
        }
        let issued_headers = issued_headers(&keys, &self.token_type);
        Ok(Sessions {
            inner: Arc::new(Config {
                signing,
                keys,
                issued_headers,
                issuer,
                audience,
                token_type: self.token_type,
                lifetime: self.lifetime,
                leeway: self.leeway,
                max_token_len: self.max_token_len,
                cookie: self.cookie,
                redirects: self.redirects,
                clock: self.clock,
                subject: self.subject,
            }),
        })
    }
}
