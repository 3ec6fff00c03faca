#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

// One module per concern, from the bottom of the dependency graph to the top; none imports from
// a module on a later line, and tests/tests/integration/layout.rs checks there is no cycle, no
// import through this file's re-exports, and no file over 500 lines outside its tests:
//   telemetry (event targets), clock, random, join (futures polled together), session_types,
//   token/ (algorithm, keys, crypto, wire, claims, compact, reading, error, sign, verify,
//   defaults)
//   cookie, redirect (the allowlist and the 302), landing/nonce (the landing binding's nonce),
//   credentials (reading a request's token)
//   verifier (the trait), sessions/ (the facade, itself a verifier: builder, issue, browser),
//   store/ (contract, events, refresh_rotation, memory, metered, redis/), rate_limit (fixed
//   windows in the store, client addresses)
//   http_client (reqwest, as jwks and session_server use it)
//   issuers/ (lookup, jwks/, key_source, jwt: other issuers' tokens; routed: several at once), session_server
//   cache/ (builder, index, follow, stats), revocation, refresh/ (builder, outcome, records,
//   rotation, revoke, browser, refresher, codec)
//   page (the crate's own HTML pages), landing/ (confirm: the policy and its page; route: the
//   landing route), middleware/ (layer, builder, pipeline, cookie_refresh, invalid_token,
//   refusal, csrf, canonical, skip, authz/, current, body), axum
//   providers/ (error, error_page, flow, contract, mounted, limits, handler, builder,
//   token_endpoint, link, code, oidc), schema
#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "middleware")]
mod cache;
mod clock;
mod cookie;
mod credentials;
#[cfg(any(feature = "jwks", feature = "session-server", feature = "oidc"))]
mod http_client;
#[cfg(feature = "middleware")]
pub mod issuers;
mod join;
mod landing;
#[cfg(feature = "middleware")]
pub mod middleware;
#[cfg(feature = "middleware")]
mod page;
#[cfg(feature = "password")]
pub mod password;
#[cfg(feature = "middleware")]
pub mod propagation;
#[cfg(feature = "providers")]
pub mod providers;
mod random;
#[cfg(feature = "middleware")]
mod rate_limit;
mod redirect;
#[cfg(feature = "middleware")]
pub mod refresh;
#[cfg(feature = "middleware")]
pub mod revocation;
#[cfg(feature = "schema")]
pub mod schema;
#[cfg(feature = "session-server")]
pub mod session_server;
mod session_types;
mod sessions;
pub mod store;
mod telemetry;
mod token;
mod verifier;

#[doc(hidden)]
pub mod __private;

pub use crate::cookie::{CookieError, CookieOptions, SameSite};
#[allow(deprecated, reason = "the old name stays importable for one release")]
pub use crate::credentials::Authentication;
pub use crate::credentials::{CredentialSource, ExtractToken, RequestError, RequestSession, TokenSource};
pub use crate::landing::nonce::LANDING_NONCE_PARAMETER;
pub use crate::redirect::{InvalidOrigin, RedirectError, RedirectPolicy, RedirectTarget};
pub use crate::session_types::{SessionTypes, SessionVariant};
#[allow(deprecated, reason = "the old name stays importable for one release")]
pub use crate::sessions::ConfigError;
pub use crate::sessions::{IssueError, IssueOptions, IssuedToken, Sessions, SessionsBuilder, SessionsConfigError};
pub use crate::token::algorithm::Algorithm;
#[allow(deprecated, reason = "the old name stays importable for one release")]
pub use crate::token::claims::Verified;
pub use crate::token::claims::{Claims, VerifiedToken};
#[allow(deprecated, reason = "the old name stays importable for one release")]
pub use crate::token::crypto::BACKEND;
pub use crate::token::crypto::CRYPTO_BACKEND;
pub use crate::token::defaults::{
    DEFAULT_LEEWAY, DEFAULT_LIFETIME, DEFAULT_MAX_TOKEN_LEN, DEFAULT_TOKEN_TYPE, MAX_LEEWAY,
};
#[allow(deprecated, reason = "the old name stays importable for one release")]
pub use crate::token::error::VerifyError;
pub use crate::token::error::{Malformed, TokenError};
pub use crate::token::keys::{KeyError, SigningKey, VerificationKey};
pub use crate::token::sign::SignError;
pub use crate::verifier::{Authenticated, CacheKey, SessionVerifier, VerifierError};

#[cfg(feature = "middleware")]
pub use crate::cache::{CacheStats, DEFAULT_CACHE_CAPACITY, DEFAULT_CACHE_TTL, SessionCache, SessionCacheBuilder};
#[cfg(feature = "middleware")]
pub use crate::middleware::{
    InvalidTokenPolicy, LandingBinding, LandingError, LandingNonce, LayerConfigError, NoSession, SessionLayer,
    SessionLayerBuilder, require_session, use_authenticated, use_credential, use_session,
};
#[cfg(feature = "middleware")]
pub use crate::rate_limit::{ClientAddress, RateLimit};

/// JWK types of the key set [`Sessions::jwks`] returns, re-exported from `jsonwebtoken`.
pub use jsonwebtoken::jwk;

#[cfg(feature = "derive")]
pub use auth_macros::SessionTypes;
