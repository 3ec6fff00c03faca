//! Where a verifier of another issuer's tokens finds the key a token names: a fixed list (SST
//! v2's public key from its config), or a remote JWK Set (OpenAuth's, an OpenID provider's).

use std::sync::Arc;

#[cfg(feature = "jwks")]
use super::jwks::RemoteJwks;
use super::lookup::{LookupError, select};
use crate::token::keys::VerificationKey;

/// The keys a [`JwtVerifier`](super::JwtVerifier) checks signatures with.
#[derive(Clone, Debug)]
pub struct KeySource {
    source: Source,
}

#[derive(Clone, Debug)]
enum Source {
    Fixed(Arc<Vec<VerificationKey>>),
    #[cfg(feature = "jwks")]
    Remote(RemoteJwks),
}

/// The key set a lookup found its key in, and the key's place in it.
pub(crate) struct Found {
    keys: Arc<Vec<VerificationKey>>,
    index: usize,
}

impl Found {
    /// The key; `None` never happens (the index was found in this very set), but costs no panic.
    pub(crate) fn key(&self) -> Option<&VerificationKey> {
        self.keys.get(self.index)
    }
}

impl KeySource {
    /// These keys and no others. A token without `kid` uses the one key when there is exactly
    /// one (SST v2's tokens name none).
    pub fn fixed(keys: impl IntoIterator<Item = VerificationKey>) -> Self {
        KeySource {
            source: Source::Fixed(Arc::new(keys.into_iter().collect())),
        }
    }

    /// The keys of a remote JWK Set, fetched and cached as [`RemoteJwks`] describes.
    #[cfg(feature = "jwks")]
    pub fn remote(jwks: RemoteJwks) -> Self {
        KeySource {
            source: Source::Remote(jwks),
        }
    }

    /// The key for a token naming `kid` (or none).
    pub(crate) async fn find(&self, kid: Option<&str>) -> Result<Found, LookupError> {
        match &self.source {
            Source::Fixed(keys) => select(keys, kid)
                .map(|index| Found {
                    keys: Arc::clone(keys),
                    index,
                })
                .ok_or(LookupError::Unknown),
            #[cfg(feature = "jwks")]
            Source::Remote(jwks) => {
                let (keys, index) = jwks.find(kid).await?;
                Ok(Found { keys, index })
            }
        }
    }
}

impl From<VerificationKey> for KeySource {
    fn from(key: VerificationKey) -> Self {
        KeySource::fixed([key])
    }
}

#[cfg(feature = "jwks")]
impl From<RemoteJwks> for KeySource {
    fn from(jwks: RemoteJwks) -> Self {
        KeySource::remote(jwks)
    }
}
