//! Sessions another issuer signed: OpenAuth (SST v3's auth server), SST v2's `sst/node/auth`, or
//! any JWT issuer (an OpenID provider's access tokens), read with the same derive, the same
//! session layer, cache, `use_session` and extractors as our own.
//!
//! A [`JwtVerifier`] is a [`SessionVerifier`](crate::SessionVerifier): put it in a
//! [`SessionCache`](crate::SessionCache) and the cache in the layer. It checks, in this order:
//! size, shape, header (`crit` refused; `jku`, `jwk`, `x5u`, `x5c` never read), `alg` among the
//! accepted ones, the key by `kid` from its [`KeySource`] (a fixed list, or a remote JWK Set with
//! the `jwks` feature), `alg` equal to that key's one algorithm, the signature, `typ`, then the
//! claims: `exp` (or `iat` plus a maximum age), `iat` and `nbf` against the clock, `iss`, `aud`
//! (a string or a list), required claims (OpenAuth's `mode`), and last the session: the same
//! `{"type", "properties"}` decode as for our own tokens, or a closure over the claims.
//!
//! ```
//! # #[cfg(feature = "jwks")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_runtime::issuers::{JwtVerifier, RemoteJwks};
//! use auth_runtime::{SessionCache, SessionLayer, SessionTypes};
//!
//! #[derive(SessionTypes, Debug, Clone, PartialEq)]
//! enum Subjects {
//!     User { #[session(rename = "userID")] user_id: String },
//! }
//!
//! // OpenAuth's access tokens for the client `my-app`, keys from its JWKS.
//! let keys = RemoteJwks::issuer("https://auth.example.com")?;
//! let verifier = JwtVerifier::<Subjects>::openauth("https://auth.example.com", "my-app", keys).build()?;
//! let layer = SessionLayer::builder(SessionCache::new(verifier)).build()?;
//! # let _ = layer;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "jwks"))]
//! # fn main() {}
//! ```

#[cfg(feature = "jwks")]
pub(crate) mod jwks;
pub(crate) mod jwt;
pub(crate) mod key_source;
pub(crate) mod lookup;
pub(crate) mod routed;

#[cfg(feature = "jwks")]
#[allow(deprecated, reason = "the old name stays importable for one release")]
pub use self::jwks::JwksError;
#[cfg(feature = "jwks")]
pub use self::jwks::{JwksConfigError, JwksSource, RemoteJwks, RemoteJwksBuilder};
pub use self::jwt::{ForeignClaims, JwtConfigError, JwtVerifier, JwtVerifierBuilder};
pub use self::key_source::KeySource;
pub use self::routed::{RouteError, Routed, RoutedBuilder, RoutedConfigError, TokenShape};
