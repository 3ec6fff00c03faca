//! The signature algorithms a key is bound to, and their names in headers and JWKs.

use std::fmt;

/// The signature algorithms a session key can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// Ed25519 signatures (`EdDSA`): small, fast, the recommended default.
    EdDSA,
    /// ECDSA over P-256 with SHA-256.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256; keys of at least 2048 bits.
    RS256,
    /// HMAC with SHA-256; a shared secret of at least 32 bytes, verification needs the same secret.
    HS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384; verification only (tokens of other issuers).
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512; verification only (SST v2's sessions).
    RS512,
    /// RSASSA-PSS with SHA-256; verification only (tokens of other issuers).
    PS256,
    /// ECDSA over P-384 with SHA-384; verification only (tokens of other issuers).
    ES384,
}

impl Algorithm {
    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::EdDSA => "EdDSA",
            Algorithm::ES256 => "ES256",
            Algorithm::RS256 => "RS256",
            Algorithm::HS256 => "HS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::ES384 => "ES384",
        }
    }

    pub(crate) fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::RS384 => jsonwebtoken::Algorithm::RS384,
            Algorithm::RS512 => jsonwebtoken::Algorithm::RS512,
            Algorithm::PS256 => jsonwebtoken::Algorithm::PS256,
            Algorithm::ES384 => jsonwebtoken::Algorithm::ES384,
        }
    }

    /// The algorithm of an `alg` header value, if it is one of ours.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        [
            Algorithm::EdDSA,
            Algorithm::ES256,
            Algorithm::RS256,
            Algorithm::HS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::ES384,
        ]
        .into_iter()
        .find(|algorithm| algorithm.as_str() == name)
    }

    /// Whether keys of this algorithm are RSA keys (of at least 2048 bits).
    pub(crate) fn is_rsa(self) -> bool {
        matches!(
            self,
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 | Algorithm::PS256
        )
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
