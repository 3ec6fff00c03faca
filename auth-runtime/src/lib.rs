#![doc = include_str!("../../README.md")]
#![deny(missing_docs)]

#[cfg(feature = "axum")]
pub mod axum;
mod backend;
#[cfg(feature = "middleware")]
mod cache;
mod cookie;
mod extract;
mod keys;
#[cfg(feature = "middleware")]
pub mod middleware;
#[cfg(feature = "providers")]
pub mod providers;
mod redirect;
#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "middleware")]
pub mod revocation;
#[cfg(feature = "schema")]
pub mod schema;
mod session;
mod sessions;
pub mod store;
mod token;
mod verifier;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use crate::backend::BACKEND;
pub use crate::cookie::{CookieError, CookieOptions, SameSite};
pub use crate::extract::{Authentication, RequestError, TokenSource};
pub use crate::keys::{Algorithm, KeyError, SigningKey, VerificationKey};
pub use crate::redirect::{InvalidOrigin, RedirectError, RedirectPolicy, RedirectTarget};
pub use crate::session::{SessionTypes, SessionVariant};
pub use crate::sessions::{
    ConfigError, DEFAULT_LEEWAY, DEFAULT_LIFETIME, DEFAULT_MAX_TOKEN_LEN, DEFAULT_TOKEN_TYPE, IssueError, IssueOptions,
    IssuedToken, Sessions, SessionsBuilder,
};
pub use crate::token::{Claims, Malformed, SignError, Verified, VerifyError};
pub use crate::verifier::{Authenticated, CacheKey, SessionVerifier, VerifierError};

#[cfg(feature = "middleware")]
pub use crate::cache::{DEFAULT_CACHE_CAPACITY, DEFAULT_CACHE_TTL, SessionCache, SessionCacheBuilder};
#[cfg(feature = "middleware")]
pub use crate::middleware::{
    InvalidTokenPolicy, NoSession, SessionLayer, SessionLayerBuilder, require_session, use_authenticated, use_session,
};

/// JWK types of the key set [`Sessions::jwks`] returns, re-exported from `jsonwebtoken`.
pub use jsonwebtoken::jwk;

#[cfg(feature = "derive")]
pub use auth_macros::SessionTypes;
