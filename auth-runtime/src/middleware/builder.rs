//! Configuring a [`SessionLayer`]: where tokens come from, what is skipped, the landing route,
//! authorization rules, CSRF origins and transparent refresh.

use std::sync::Arc;

use bytes::Bytes;
use http::Response;
use http::header::HeaderValue;
use http::uri::Scheme;

use super::authz::{Rules, RulesError};
use super::cookie_refresh::LayerRefresh;
use super::csrf::SiteScheme;
use super::invalid_token::InvalidTokenPolicy;
use super::layer::{SessionLayer, Shared};
use super::skip::Pattern;
use crate::cache::SessionCache;
use crate::cookie::{CookieError, CookieOptions};
use crate::credentials::{CredentialSource, DEFAULT_SOURCES, TokenSource};
use crate::landing::confirm::{LandingBinding, LandingConfirmation, default_landing_page, landing_cookie};
use crate::redirect::{InvalidOrigin, parse_origin};
use crate::refresh::RefreshTokens;
use crate::verifier::SessionVerifier;

/// Why a [`SessionLayer`] could not be built: the error of [`SessionLayerBuilder::build`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayerConfigError {
    /// An origin given to [`allow_origin`](SessionLayerBuilder::allow_origin) is not an origin.
    #[error(transparent)]
    Origin(#[from] InvalidOrigin),
    /// The cookie options break a browser rule.
    #[error(transparent)]
    Cookie(#[from] CookieError),
    /// The authorization rules hold a rule that guards nothing ([`Rules::check`]).
    #[error(transparent)]
    Rules(#[from] RulesError),
}

/// Configures a [`SessionLayer`].
pub struct SessionLayerBuilder<V: SessionVerifier> {
    shared: Shared<V>,
    origin_errors: Vec<InvalidOrigin>,
    /// The configured scheme; without one, `build` takes it from the cookie options.
    scheme: Option<Scheme>,
}

impl<V: SessionVerifier> SessionLayer<V> {
    /// A layer verifying through `cache` (build one with [`SessionCache::new`] or
    /// [`SessionCache::builder`]; a `Sessions` or any other [`SessionVerifier`] goes inside).
    pub fn builder(cache: SessionCache<V>) -> SessionLayerBuilder<V> {
        let cookie = cache.verifier().issued_cookie().cloned().unwrap_or_default();
        SessionLayerBuilder {
            shared: Shared {
                cache,
                cookie,
                sources: DEFAULT_SOURCES.to_vec(),
                invalid: InvalidTokenPolicy::default(),
                skip: Vec::new(),
                landing: None,
                rules: None,
                landing_binding: LandingBinding::default(),
                landing_page: Box::new(default_landing_page),
                landing_cookie: None,
                clear_landing_cookie: None,
                csrf: true,
                origins: Vec::new(),
                // Replaced in `build`, once the cookie options are final.
                site: SiteScheme::FromCookie { secure: true },
                clear_cookie: None,
                refresh: None,
            },
            origin_errors: Vec::new(),
            scheme: None,
        }
    }
}

impl<V: SessionVerifier> SessionLayerBuilder<V> {
    /// The session cookie to read (and to set on the landing route). By default the cookie the
    /// verifier's sessions are issued in ([`SessionVerifier::issued_cookie`]: a `Sessions`, or
    /// one wrapped in `Revocable`, says its own), and [`CookieOptions::default`] for a verifier
    /// of tokens issued elsewhere.
    pub fn cookie(mut self, cookie: CookieOptions) -> Self {
        self.shared.cookie = cookie;
        self
    }

    /// Where tokens are read from, in order; `[Bearer, Cookie]` by default. `[Cookie]` alone
    /// ignores `Authorization` headers (a browser-only app), `[Bearer]` alone ignores cookies (an
    /// API that must not be reachable with ambient credentials).
    pub fn token_sources(mut self, sources: &[TokenSource]) -> Self {
        self.shared.sources = sources.iter().map(|source| CredentialSource::from(*source)).collect();
        self
    }

    /// Where tokens are read from, in order, by name: a header (`x-session-token`), a cookie,
    /// an `Authorization` scheme, a query parameter on one route, or a closure (Connectum's
    /// `extractToken`); see [`CredentialSource`]. The first source that finds a token decides;
    /// one that finds its credential twice refuses the request. Requests whose token came from
    /// a cookie or a closure must send unsafe methods from this site.
    ///
    /// ```
    /// # use auth_runtime::{CredentialSource, SessionLayer, SessionCache, Sessions, SigningKey, SessionTypes};
    /// # #[derive(SessionTypes, Debug, Clone, PartialEq)]
    /// # enum AppSession { User { id: String } }
    /// # fn demo(sessions: Sessions<AppSession>) -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = SessionLayer::builder(SessionCache::new(sessions))
    ///     .credential_sources([
    ///         CredentialSource::header("x-session-token"),
    ///         CredentialSource::Bearer,
    ///         CredentialSource::Query { path: "/events".into(), name: "token".into() },
    ///         CredentialSource::Cookie,
    ///     ])
    ///     .build()?;
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn credential_sources(mut self, sources: impl IntoIterator<Item = CredentialSource>) -> Self {
        self.shared.sources = sources.into_iter().collect();
        self
    }

    /// What to do with a token that fails verification; [`InvalidTokenPolicy::SignOutPages`] by
    /// default.
    pub fn invalid_token(mut self, policy: InvalidTokenPolicy) -> Self {
        self.shared.invalid = policy;
        self
    }

    /// Skips authentication for paths matching `pattern`, where `*` matches any run of
    /// characters: `/health`, `/assets/*`, or a gRPC method `grpc.health.v1.Health/*`. A path
    /// not in canonical form (`//`, `.` or `..` segments, encoded `/`) is never skipped, and under
    /// authorization rules is refused with `400` first. Under axum's `nest`, patterns match the
    /// path the client asked for (axum's `OriginalUri`), not the path inside the nest.
    pub fn skip(mut self, pattern: impl Into<String>) -> Self {
        self.shared.skip.push(Pattern::new(&pattern.into(), false));
        self
    }

    /// The one path where `?token=<jwt>` is accepted (the target of `Sessions::parameter`): the
    /// token is moved into the session cookie and the browser sent to the same URL without it.
    ///
    /// Only in the browser that started the sign-in, by default: the token's `nonce` must match
    /// the browser's landing cookie (see [`SessionLayer::sign_in_redirect`] and
    /// [`SessionLayer::landing_nonce`]). Any other browser is asked first (see
    /// [`landing_binding`](Self::landing_binding)).
    pub fn landing_route(mut self, path: impl Into<String>) -> Self {
        self.shared.landing = Some(path.into());
        self
    }

    /// Evaluates `rules` for every request the layer covers (skipped paths are outside it), once
    /// the session is known: 401 without a session and 403 with one when they deny, 400 for a
    /// path not in canonical form. See [`Rules`].
    pub fn authorize(mut self, rules: Rules<V::Session>) -> Self {
        self.shared.rules = Some(rules);
        self
    }

    /// What the landing route does with a valid token not bound to this browser;
    /// [`LandingBinding::Confirm`] by default.
    pub fn landing_binding(mut self, binding: LandingBinding) -> Self {
        self.shared.landing_binding = binding;
        self
    }

    /// The page that asks before a token not bound to this browser signs it in, instead of
    /// [`default_landing_page`]. It must hold a form that `POST`s to
    /// [`action`](LandingConfirmation::action), and must not submit itself. The default page's
    /// protective headers (`Cache-Control: no-store`, `Referrer-Policy: same-origin`,
    /// `X-Content-Type-Options`, `frame-ancestors 'none'`, `X-Frame-Options`) are added where the
    /// page did not set them.
    pub fn landing_page(
        mut self,
        page: impl Fn(&LandingConfirmation<'_, V::Session>) -> Response<Bytes> + Send + Sync + 'static,
    ) -> Self {
        self.shared.landing_page = Box::new(page);
        self
    }

    /// Whether cookie-authenticated unsafe requests must be same-origin; on by default.
    pub fn csrf_protection(mut self, enabled: bool) -> Self {
        self.shared.csrf = enabled;
        self
    }

    /// An origin (`https://app.example.com`) whose `Origin` header counts as same-origin besides
    /// the request's own `Host`: the front end's, when it is served from another host.
    pub fn allow_origin(mut self, origin: &str) -> Self {
        match parse_origin(origin) {
            Ok(origin) => self.shared.origins.push(origin),
            Err(error) => self.origin_errors.push(error),
        }
        self
    }

    /// Refreshes browsers' sessions on their own: a request whose session cookie is missing or
    /// refused (an expired access token, most often) but that carries the refresh cookie of
    /// `tokens` gets a new pair, in both cookies on that response, and goes on with the new
    /// session. Requests that carry one refresh token at once share one refresh. A refresh token
    /// that is no longer good (expired, reused, revoked) deletes both cookies and the request goes
    /// on signed out; a store that cannot answer is a 503 and the cookies are kept. An unsafe
    /// method from another site is refused (403) before anything is refreshed.
    ///
    /// The layer's verifier must accept `tokens`' access tokens (the same `Sessions`, or a
    /// [`Revocable`](crate::revocation::Revocable) around it, which also refuses a revoked
    /// family's access tokens at once).
    pub fn refresh_tokens(mut self, tokens: RefreshTokens<V::Session>) -> Self {
        self.shared.refresh = Some(LayerRefresh::new(Arc::new(tokens)));
        self
    }

    /// The scheme this service is served on (`Scheme::HTTPS` behind a TLS-terminating proxy, say),
    /// which an `Origin` must use to count as same-origin with the request's `Host`. By default
    /// an HTTP/2 request's own `:scheme`, else HTTPS when the session cookie is `Secure` (plain
    /// HTTP too for loopback hosts), either one when it is not.
    pub fn site_scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = Some(scheme);
        self
    }

    /// Builds the layer; fails on an origin that is not `scheme://host[:port]` or bad cookie options.
    pub fn build(self) -> Result<SessionLayer<V>, LayerConfigError> {
        if let Some(error) = self.origin_errors.into_iter().next() {
            return Err(LayerConfigError::Origin(error));
        }
        self.shared.cookie.validate()?;
        let mut shared = self.shared;
        // Validated options always make a valid header; `None` would only skip the clearing.
        shared.clear_cookie = HeaderValue::from_str(&shared.cookie.clear_cookie_header()).ok();
        if let Some(path) = &shared.landing {
            let cookie = landing_cookie(&shared.cookie, path);
            cookie.validate()?;
            shared.clear_landing_cookie = HeaderValue::from_str(&cookie.clear_cookie_header()).ok();
            shared.landing_cookie = Some(cookie);
        }
        shared.site = match self.scheme {
            Some(scheme) => SiteScheme::Configured(scheme),
            None => SiteScheme::FromCookie {
                secure: shared.cookie.is_secure(),
            },
        };
        if let Some(rules) = &shared.rules {
            rules.check()?;
            // Development builds say what they enforce, once, at start-up.
            #[cfg(debug_assertions)]
            crate::telemetry::event!(info, AUTHZ, skip = ?shared.skip, "authorization rules, first match wins:\n{}", rules.table());
            let _ = rules;
        }
        Ok(SessionLayer {
            shared: Arc::new(shared),
        })
    }
}
