//! [`Sessions`]: the facade. The one configured value that issues, redirects and verifies a
//! session type, built from the modules below it (token, cookie, redirect, credentials) and
//! itself the built-in [`SessionVerifier`].
mod browser;
mod builder;
mod issue;

use std::fmt;
use std::future::{self, Future};
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use jsonwebtoken::jwk::JwkSet;

use crate::clock::Clock;
use crate::cookie::CookieOptions;
use crate::credentials::{Credential, DEFAULT_SOURCES, RequestError, RequestSession, find_credential};
use crate::redirect::RedirectPolicy;
use crate::session_types::SessionTypes;
use crate::token::claims::VerifiedToken;
use crate::token::error::TokenError;
use crate::token::keys::{SigningKey, VerificationKey};
use crate::token::sign::issued_header;
use crate::token::verify::{Policy, verify};
use crate::verifier::{Authenticated, SessionVerifier, VerifierError};

#[cfg(feature = "providers")]
pub(crate) use self::browser::SignedIn;
#[allow(deprecated, reason = "the old name stays importable for one release")]
pub use self::builder::ConfigError;
pub use self::builder::{SessionsBuilder, SessionsConfigError};
pub use self::issue::{IssueError, IssueOptions, IssuedToken};

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

impl<S: SessionTypes> Sessions<S> {
    /// Verifies a token and decodes its session; see [`TokenError`] for every way it can fail.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken<S>, TokenError> {
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
    pub fn read(&self, headers: &HeaderMap) -> RequestSession<S> {
        let cookie = &self.inner.cookie;
        let credential = find_credential(headers, None, DEFAULT_SOURCES, cookie.cookie_name());
        match credential {
            Ok(Credential::None) => RequestSession::Public,
            Ok(Credential::Found(token, source)) => match self.verify(&token) {
                Ok(verified) => RequestSession::Session { verified, source },
                Err(error) => RequestSession::Invalid(RequestError::Token { source, error }),
            },
            Err(error) => RequestSession::Invalid(error),
        }
    }

    /// [`read`](Self::read) for request parts.
    pub fn read_parts(&self, parts: &http::request::Parts) -> RequestSession<S> {
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
    type Output = VerifiedToken<S>;

    fn verify_session(
        &self,
        token: &str,
        _headers: &HeaderMap,
    ) -> impl Future<Output = Result<VerifiedToken<S>, VerifierError>> + Send {
        future::ready(self.verify(token).map_err(VerifierError::failed))
    }

    fn map_session(&self, verified: VerifiedToken<S>) -> Result<Authenticated<S>, VerifierError> {
        Ok(verified.into())
    }

    fn issued_cookie(&self) -> Option<&CookieOptions> {
        Some(&self.inner.cookie)
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
