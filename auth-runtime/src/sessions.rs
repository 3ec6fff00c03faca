//! [`Sessions`]: the facade. The one configured value that issues, redirects and verifies a
//! session type, built from the modules below it (token, cookie, redirect, credentials) and
//! itself the built-in [`SessionVerifier`].

use std::fmt;
use std::future::{self, Future};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, Response};
use jsonwebtoken::jwk::JwkSet;

use crate::binding::flow_binding;
use crate::clock::Clock;
use crate::cookie::{CookieError, CookieOptions};
use crate::credentials::{Authentication, Credential, DEFAULT_SOURCES, RequestError, find_credential};
use crate::random::random_id;
use crate::redirect::{InvalidOrigin, RedirectError, RedirectPolicy, RedirectTarget, found};
use crate::session_types::SessionTypes;
use crate::token::claims::Verified;
use crate::token::defaults::{DEFAULT_LEEWAY, DEFAULT_LIFETIME, DEFAULT_MAX_TOKEN_LEN, DEFAULT_TOKEN_TYPE, MAX_LEEWAY};
use crate::token::error::TokenError;
use crate::token::keys::{KeyError, SigningKey, VerificationKey};
use crate::token::sign::{NewClaims, SignError, issued_header, sign};
use crate::token::verify::{Policy, verify};
use crate::verifier::{Authenticated, SessionVerifier, VerifierError};

/// Issues, redirects and verifies sessions of type `S`.
///
/// Build one at start-up with [`Sessions::builder`] and share it: it is a cheap [`Clone`] (an
/// `Arc` inside) and `Send + Sync`.
pub struct Sessions<S> {
    inner: Arc<Config<S>>,
}

impl<S> Clone for Sessions<S> {
    fn clone(&self) -> Self {
        Sessions {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S> fmt::Debug for Sessions<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("signing_key", &self.inner.signing)
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .field("lifetime", &self.inner.lifetime)
            .finish_non_exhaustive()
    }
}

struct Config<S> {
    signing: SigningKey,
    /// The signing key's verification half first, then the extra ones.
    keys: Vec<VerificationKey>,
    /// The encoded header issued with each of `keys`, in the same order (the verify fast path);
    /// `None` (never seen: three strings always serialize) only means that key takes the full parse.
    issued_headers: Vec<Option<String>>,
    issuer: String,
    audience: String,
    token_type: String,
    lifetime: Duration,
    leeway: Duration,
    max_token_len: usize,
    cookie: CookieOptions,
    redirects: RedirectPolicy,
    clock: Clock,
    subject: Option<fn(&S) -> Option<String>>,
}

/// The header issued with each key, for [`Config::issued_headers`].
fn issued_headers(keys: &[VerificationKey], token_type: &str) -> Vec<Option<String>> {
    keys.iter().map(|key| issued_header(key, token_type).ok()).collect()
}

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

impl<S: SessionTypes> Sessions<S> {
    /// Signs `session` as a token, for clients that are not browsers (an API key, a CLI login).
    pub fn create(&self, session: &S) -> Result<String, IssueError> {
        Ok(self.issue(session, &IssueOptions::default())?.token)
    }

    /// Signs `session` with per-token options, and returns the token with its times and id.
    pub fn issue(&self, session: &S, options: &IssueOptions) -> Result<IssuedToken, IssueError> {
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
            audience: &config.audience,
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
        Ok(found(target.as_str(), Some(&set_cookie))?)
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
        Ok(found(location.as_str(), None)?)
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

    /// Verifies a token and decodes its session; see [`TokenError`] for every way it can fail.
    pub fn verify(&self, token: &str) -> Result<Verified<S>, TokenError> {
        let config = &*self.inner;
        // A clock that cannot be read fails closed: no token is accepted without a time to check it against.
        let now = self.now().map_err(|_| TokenError::Clock)?;
        let policy = Policy {
            keys: &config.keys,
            issued_headers: &config.issued_headers,
            default_kid: config.signing.kid(),
            token_type: &config.token_type,
            issuer: &config.issuer,
            audience: &config.audience,
            leeway: config.leeway.as_secs(),
            max_lifetime: config.lifetime.as_secs().max(1),
            max_len: config.max_token_len,
            now,
        };
        verify(token, &policy)
    }

    /// Reads the session of a request: the Bearer header, then the cookie.
    pub fn read(&self, headers: &HeaderMap) -> Authentication<S> {
        let cookie = &self.inner.cookie;
        let credential = find_credential(headers, DEFAULT_SOURCES, cookie.cookie_name(), || cookie.find(headers));
        match credential {
            Ok(Credential::None) => Authentication::Public,
            Ok(Credential::Found(token, source)) => match self.verify(&token) {
                Ok(verified) => Authentication::Session { verified, source },
                Err(error) => Authentication::Invalid(RequestError::Token { source, error }),
            },
            Err(error) => Authentication::Invalid(error),
        }
    }

    /// [`read`](Self::read) for request parts.
    pub fn read_parts(&self, parts: &http::request::Parts) -> Authentication<S> {
        self.read(&parts.headers)
    }

    /// The public verification keys (signing key first, then the extra ones) as a JWK Set for
    /// `/.well-known/jwks.json`. HS256 secrets are never included.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.inner.keys.iter().filter_map(|key| key.jwk().cloned()).collect(),
        }
    }

    /// The cookie options in force.
    pub fn cookie_options(&self) -> &CookieOptions {
        &self.inner.cookie
    }

    /// Sessions of another type signed and checked with these keys, issuer, clock and leeway, but
    /// with their own `typ` and audience: a sign-in flow's tokens can never pass for a session,
    /// nor a session for them.
    #[cfg(feature = "providers")]
    pub(crate) fn sibling<T>(&self, token_type: &str, audience: String, lifetime: Duration) -> Sessions<T> {
        let config = &*self.inner;
        Sessions {
            inner: Arc::new(Config {
                signing: config.signing.clone(),
                keys: config.keys.clone(),
                // Their own `typ`, so their own headers: a session's header must not match here.
                issued_headers: issued_headers(&config.keys, token_type),
                issuer: config.issuer.clone(),
                audience,
                token_type: token_type.to_owned(),
                lifetime,
                leeway: config.leeway.min(lifetime / 2),
                max_token_len: config.max_token_len,
                cookie: config.cookie.clone(),
                redirects: config.redirects.clone(),
                clock: config.clock.clone(),
                subject: None,
            }),
        }
    }

    /// The clock leeway verification allows, which a record that must outlive a token (a used
    /// link, a revocation) adds to the token's `exp`.
    #[cfg(feature = "providers")]
    pub(crate) fn leeway(&self) -> Duration {
        self.inner.leeway
    }

    /// Seconds since the Unix epoch by the configured clock.
    /// The `iss` of every token issued.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The subject `subject_from` gives `session`, if any.
    #[cfg_attr(not(feature = "middleware"), allow(dead_code, reason = "refresh tokens ask"))]
    pub(crate) fn subject_of(&self, session: &S) -> Option<String> {
        self.inner.subject.and_then(|derive| derive(session))
    }

    /// The clock every time check of these sessions reads.
    #[cfg_attr(not(feature = "middleware"), allow(dead_code, reason = "refresh tokens read it"))]
    pub(crate) fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    pub(crate) fn now(&self) -> Result<u64, IssueError> {
        self.inner.clock.unix_seconds().map_err(|_| IssueError::Clock)
    }
}

/// The built-in JWT verification: stateless, so cached by token.
impl<S: SessionTypes> SessionVerifier for Sessions<S> {
    type Session = S;
    type Output = Verified<S>;

    fn verify_session(
        &self,
        token: &str,
        _headers: &HeaderMap,
    ) -> impl Future<Output = Result<Verified<S>, VerifierError>> + Send {
        future::ready(self.verify(token).map_err(VerifierError::failed))
    }

    fn map_session(&self, verified: Verified<S>) -> Result<Authenticated<S>, VerifierError> {
        Ok(verified.into())
    }
}

#[cfg(all(test, feature = "providers"))]
mod tests {
    use super::*;

    #[derive(crate::SessionTypes, Debug, Clone, PartialEq)]
    #[session(crate = "crate")]
    enum Session {
        User { id: String },
    }

    /// The verify fast path matches whole issued headers: a sibling with another `typ` must have
    /// its own, or one kind of token would pass for the other. Same key and audience here, so the
    /// type is the only difference.
    #[test]
    fn siblings_refuse_each_others_tokens_by_type() {
        let sessions = Sessions::<Session>::builder()
            .signing_key(SigningKey::hs256(&[7; 32]).expect("32-byte secret"))
            .issuer("https://auth.example.com")
            .audience("app")
            .build()
            .expect("valid configuration");
        let flows: Sessions<Session> = sessions.sibling("auth-flow+jwt", "app".to_owned(), Duration::from_secs(600));
        let session = Session::User { id: "u1".to_owned() };
        let session_token = sessions.create(&session).expect("signs");
        let flow_token = flows.create(&session).expect("signs");
        assert_eq!(sessions.verify(&session_token).expect("own token").session, session);
        assert_eq!(flows.verify(&flow_token).expect("own token").session, session);
        assert!(matches!(
            flows.verify(&session_token),
            Err(TokenError::WrongTokenType { found: Some(ref found), .. }) if found == "session+jwt"
        ));
        assert!(matches!(
            sessions.verify(&flow_token),
            Err(TokenError::WrongTokenType { found: Some(ref found), .. }) if found == "auth-flow+jwt"
        ));
    }
}
