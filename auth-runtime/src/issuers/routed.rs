//! [`Routed`]: one verifier for tokens of several issuers, each token sent to the one verifier
//! its own `iss`, `kid` or shape names (a migration from SST v2 to this crate's tokens, or
//! OpenAuth's beside an OpenID provider's), all typed as the same session enum.
//!
//! The route is chosen from the token's header and payload as they are written, before anything
//! is verified, and the chosen verifier then checks everything (signature, claims, session). A
//! token is never tried against a second verifier: one its verifier refuses is refused, so a
//! forged token cannot go looking for a key that accepts it, and a token that names no route is
//! refused without any key being tried.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use http::HeaderMap;

use crate::session_types::SessionTypes;
use crate::token::compact::{decode_part, read_header};
use crate::verifier::{Authenticated, CacheKey, SessionVerifier, VerifierError};

/// The longest token a [`Routed`] reads to choose its route (its verifiers have their own limits).
const MAX_ROUTED_TOKEN: usize = 16 * 1024;

/// What a token says of itself, read (not verified) to choose its route.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenShape {
    /// The header's `alg`.
    pub alg: String,
    /// The header's `kid`.
    pub kid: Option<String>,
    /// The header's `typ`.
    pub typ: Option<String>,
    /// The payload's `iss`, when it is a string.
    pub issuer: Option<String>,
}

impl TokenShape {
    /// The shape of `token`: a compact JWS whose header and payload are JSON; `None` otherwise.
    pub fn of(token: &str) -> Option<TokenShape> {
        if token.len() > MAX_ROUTED_TOKEN {
            return None;
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let header = read_header(header).ok()?;
        let payload: serde_json::Value = serde_json::from_slice(&decode_part(payload, "payload").ok()?).ok()?;
        Some(TokenShape {
            alg: header.alg,
            kid: header.kid,
            typ: header.typ,
            issuer: payload.get("iss").and_then(|iss| iss.as_str()).map(str::to_owned),
        })
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A verifier with its output mapped to `Authenticated<S>`, type-erased.
trait Route<S>: Send + Sync {
    fn verify<'a>(
        &'a self,
        token: &'a str,
        headers: &'a HeaderMap,
    ) -> BoxFuture<'a, Result<Authenticated<S>, VerifierError>>;
    fn cache_key(&self) -> CacheKey;
    fn issued_cookie(&self) -> Option<&crate::cookie::CookieOptions>;
}

impl<V: SessionVerifier> Route<V::Session> for V {
    fn verify<'a>(
        &'a self,
        token: &'a str,
        headers: &'a HeaderMap,
    ) -> BoxFuture<'a, Result<Authenticated<V::Session>, VerifierError>> {
        Box::pin(async move { self.map_session(self.verify_session(token, headers).await?) })
    }

    fn cache_key(&self) -> CacheKey {
        SessionVerifier::cache_key(self)
    }

    fn issued_cookie(&self) -> Option<&crate::cookie::CookieOptions> {
        SessionVerifier::issued_cookie(self)
    }
}

type Matcher = Box<dyn Fn(&TokenShape) -> bool + Send + Sync>;

/// Tokens of several issuers, each verified by the one verifier it names. The route is chosen
/// from the token's header and payload as written (its [`TokenShape`]), before anything is
/// verified; the chosen verifier then checks everything, and a token it refuses is refused,
/// never tried against the next: a forged token cannot go looking for a key that accepts it.
///
/// ```
/// # use std::time::Duration;
/// use auth_runtime::issuers::{JwtVerifier, Routed};
/// use auth_runtime::{SessionCache, SessionLayer, SessionTypes, Sessions, SigningKey};
///
/// #[derive(SessionTypes, Debug, Clone, PartialEq)]
/// enum AppSession {
///     User { #[session(rename = "userID")] user_id: String },
/// }
///
/// # fn demo(sst_public_pem: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
/// let ours: Sessions<AppSession> = Sessions::builder()
///     .signing_key(SigningKey::generate_ed25519()?)
///     .issuer("https://auth.example.com")
///     .audience("app")
///     .build()?;
/// let sst = JwtVerifier::<AppSession>::sst_v2(sst_public_pem, Duration::from_secs(7 * 24 * 3600))?.build()?;
/// // During the migration: our tokens by their `iss`; SST v2's carry no `iss` and no `kid`.
/// let verifier = Routed::builder()
///     .issuer("https://auth.example.com", ours)
///     .route(|shape| shape.issuer.is_none() && shape.kid.is_none(), sst)
///     .build()?;
/// let layer = SessionLayer::builder(SessionCache::new(verifier)).build()?;
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
pub struct Routed<S> {
    routes: Vec<(String, Matcher, Box<dyn Route<S>>)>,
}

impl<S> fmt::Debug for Routed<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let routes: Vec<&str> = self.routes.iter().map(|(name, _, _)| name.as_str()).collect();
        f.debug_struct("Routed").field("routes", &routes).finish()
    }
}

/// Builds a [`Routed`]: routes are tried in the order they are added, the first that matches
/// a token's shape is its only verifier.
pub struct RoutedBuilder<S> {
    routes: Vec<(String, Matcher, Box<dyn Route<S>>)>,
}

impl<S> fmt::Debug for RoutedBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoutedBuilder")
            .field("routes", &self.routes.len())
            .finish()
    }
}

/// Why a [`Routed`] was not built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoutedConfigError {
    /// No route was added.
    #[error("a routed verifier needs at least one route")]
    NoRoutes,
}

/// Why a token found no verifier.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// The token is not a compact JWS with a JSON header and payload (or is over 16 KiB).
    #[error("the token is not a JWT this service reads")]
    NotAJwt,
    /// No route matches what the token says of itself (its `iss`, `kid`, shape).
    #[error("no verifier here reads tokens from this issuer")]
    NoRoute,
}

impl<S: SessionTypes> Routed<S> {
    /// An empty builder.
    pub fn builder() -> RoutedBuilder<S> {
        RoutedBuilder { routes: Vec::new() }
    }

    /// The verifier `token` is for, by its shape; `None` if no route matches.
    fn route_of(&self, token: &str) -> Result<&dyn Route<S>, RouteError> {
        let shape = TokenShape::of(token).ok_or(RouteError::NotAJwt)?;
        self.routes
            .iter()
            .find(|(_, matches, _)| matches(&shape))
            .map(|(_, _, route)| route.as_ref())
            .ok_or(RouteError::NoRoute)
    }
}

impl<S: SessionTypes> RoutedBuilder<S> {
    /// Tokens whose `iss` is `issuer` go to `verifier`.
    pub fn issuer<V>(self, issuer: impl Into<String>, verifier: V) -> Self
    where
        V: SessionVerifier<Session = S>,
    {
        let issuer = issuer.into();
        let name = format!("iss={issuer}");
        self.push(
            name,
            Box::new(move |shape| shape.issuer.as_deref() == Some(issuer.as_str())),
            verifier,
        )
    }

    /// Tokens whose header names the key `kid` go to `verifier`.
    pub fn kid<V>(self, kid: impl Into<String>, verifier: V) -> Self
    where
        V: SessionVerifier<Session = S>,
    {
        let kid = kid.into();
        let name = format!("kid={kid}");
        self.push(
            name,
            Box::new(move |shape| shape.kid.as_deref() == Some(kid.as_str())),
            verifier,
        )
    }

    /// Tokens whose shape `matches` accepts go to `verifier` (SST v2's: no `iss`, no `kid`).
    pub fn route<V>(self, matches: impl Fn(&TokenShape) -> bool + Send + Sync + 'static, verifier: V) -> Self
    where
        V: SessionVerifier<Session = S>,
    {
        self.push("shape".to_owned(), Box::new(matches), verifier)
    }

    fn push<V>(mut self, name: String, matches: Matcher, verifier: V) -> Self
    where
        V: SessionVerifier<Session = S>,
    {
        self.routes.push((name, matches, Box::new(verifier)));
        self
    }

    /// The verifier; [`RoutedConfigError::NoRoutes`] without a route.
    pub fn build(self) -> Result<Routed<S>, RoutedConfigError> {
        if self.routes.is_empty() {
            return Err(RoutedConfigError::NoRoutes);
        }
        Ok(Routed { routes: self.routes })
    }
}

impl<S: SessionTypes> SessionVerifier for Routed<S> {
    type Session = S;
    type Output = Authenticated<S>;

    async fn verify_session(&self, token: &str, headers: &HeaderMap) -> Result<Authenticated<S>, VerifierError> {
        let route = self.route_of(token).map_err(VerifierError::failed)?;
        route.verify(token, headers).await
    }

    fn map_session(&self, output: Authenticated<S>) -> Result<Authenticated<S>, VerifierError> {
        Ok(output)
    }

    /// The strictest of the routes' rules: uncached if one route must not be cached, else keyed
    /// by the token and every header any route reads, else by the token alone. A token's cache
    /// entry is then never shared across what one of its routes tells apart.
    fn cache_key(&self) -> CacheKey {
        let mut headers = Vec::new();
        for (_, _, route) in &self.routes {
            match route.cache_key() {
                CacheKey::Uncached => return CacheKey::Uncached,
                CacheKey::TokenAndHeaders(names) => headers.extend(names),
                _ => {}
            }
        }
        if headers.is_empty() {
            CacheKey::Token
        } else {
            headers.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            headers.dedup();
            CacheKey::TokenAndHeaders(headers)
        }
    }

    /// The cookie the first route that issues one says.
    fn issued_cookie(&self) -> Option<&crate::cookie::CookieOptions> {
        self.routes.iter().find_map(|(_, _, route)| route.issued_cookie())
    }
}
