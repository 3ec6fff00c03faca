//! Signing and verification keys: loading them from PEM, generating one for development,
//! picking them by `kid`, and publishing the public halves as JWKs.
//!
//! Each key is bound to exactly one algorithm when it is built; a token's `alg` header only ever
//! has to agree with it, it never chooses it. Every key is checked when it is built (sizes, curve,
//! a sign-and-verify round for signing keys), so a bad key fails at start-up, not on a request.

use std::fmt;

use jsonwebtoken::jwk::{Jwk, KeyOperations, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{DecodingKey, EncodingKey};

use super::algorithm::Algorithm;
use super::crypto::{Prepared, provider};

/// Why a key could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM text or key bytes could not be read as a key for this algorithm.
    #[error("invalid {algorithm} key: {source}")]
    Invalid {
        /// The algorithm the key was meant for.
        algorithm: Algorithm,
        /// What the key parser said.
        #[source]
        source: jsonwebtoken::errors::Error,
    },
    /// An HMAC secret shorter than the hash output: guessable offline from any token.
    #[error("HS256 secret is {len} bytes; use at least 32 random bytes")]
    HmacSecretTooShort {
        /// The secret's length in bytes.
        len: usize,
    },
    /// An RSA modulus below 2048 bits.
    #[error("RSA key has a {bits}-bit modulus; use at least 2048 bits")]
    RsaKeyTooSmall {
        /// The modulus size in bits.
        bits: usize,
    },
    /// The key is for another curve or size than the algorithm needs (a P-384 key for ES256, say).
    #[error("key does not fit {algorithm}: {reason}")]
    WrongKeyType {
        /// The algorithm the key was meant for.
        algorithm: Algorithm,
        /// What did not fit.
        reason: &'static str,
    },
    /// The key id is empty or too long for a header.
    #[error("key id must be 1 to 128 printable ASCII characters")]
    InvalidKid,
    /// The operating system's random number generator failed.
    #[error("could not draw random bytes for a new key: {0}")]
    Random(getrandom::Error),
    /// A freshly built signing key failed to verify its own signature.
    #[error("{algorithm} key failed its sign-and-verify self-test")]
    SelfTest {
        /// The algorithm of the key.
        algorithm: Algorithm,
    },
}

const MIN_HMAC_SECRET: usize = 32;
const MIN_RSA_BITS: usize = 2048;
const MAX_KID_LEN: usize = 128;

/// A public (or, for HS256, shared) key that checks signatures, selected by its `kid`.
///
/// Keep the verification keys of retired signing keys configured until every token they signed
/// has expired: that is key rotation.
#[derive(Clone)]
pub struct VerificationKey {
    pub(crate) kid: String,
    pub(crate) algorithm: Algorithm,
    pub(crate) key: DecodingKey,
    /// The key made ready for the backend once, so no token pays for parsing it.
    pub(crate) prepared: Prepared,
    /// The public JWK; `None` for HMAC secrets, which are never published.
    pub(crate) jwk: Option<Jwk>,
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl VerificationKey {
    /// An Ed25519 public key in PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn ed25519_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let key = DecodingKey::from_ed_pem(pem).map_err(invalid(Algorithm::EdDSA))?;
        Self::public(Algorithm::EdDSA, key)
    }

    /// A P-256 public key in PEM, for ES256.
    pub fn es256_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let key = DecodingKey::from_ec_pem(pem).map_err(invalid(Algorithm::ES256))?;
        Self::public(Algorithm::ES256, key)
    }

    /// An RSA public key in PEM (PKCS#1 or SPKI), for RS256.
    pub fn rs256_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let key = DecodingKey::from_rsa_pem(pem).map_err(invalid(Algorithm::RS256))?;
        Self::public(Algorithm::RS256, key)
    }

    /// An RSA public key in PEM (PKCS#1 or SPKI) of at least 2048 bits, for `algorithm`: RS256,
    /// RS384, RS512 or PS256 (a key verifies one algorithm, never the others).
    pub fn rsa_pem(pem: &[u8], algorithm: Algorithm) -> Result<Self, KeyError> {
        if !algorithm.is_rsa() {
            return Err(KeyError::WrongKeyType {
                algorithm,
                reason: "an RSA key verifies RS256, RS384, RS512 or PS256",
            });
        }
        let key = DecodingKey::from_rsa_pem(pem).map_err(invalid(algorithm))?;
        Self::public(algorithm, key)
    }

    /// A P-384 public key in PEM, for ES384.
    pub fn es384_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let key = DecodingKey::from_ec_pem(pem).map_err(invalid(Algorithm::ES384))?;
        Self::public(Algorithm::ES384, key)
    }

    /// An HS256 shared secret of at least 32 bytes; give it a `kid` with [`with_kid`](Self::with_kid).
    pub fn hs256(secret: &[u8]) -> Result<Self, KeyError> {
        check_hmac_secret(secret)?;
        let key = DecodingKey::from_secret(secret);
        Ok(VerificationKey {
            kid: DEFAULT_HMAC_KID.to_owned(),
            algorithm: Algorithm::HS256,
            prepared: prepare(Algorithm::HS256, &key)?,
            key,
            jwk: None,
        })
    }

    /// A public key from a JWK with an `alg` of `EdDSA`, `ES256`, `ES384`, `RS256`, `RS384`,
    /// `RS512` or `PS256`; its `kid`, if any, is kept.
    ///
    /// A JWK marked for another purpose (`use` other than `sig`, or `key_ops` without `verify`) is
    /// refused: a key published for encryption must not vouch for signatures. So is a JWK without
    /// `alg`: which algorithm a key verifies is never guessed.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        use jsonwebtoken::jwk::KeyAlgorithm;
        let algorithm = match jwk.common.key_algorithm {
            Some(KeyAlgorithm::EdDSA) => Algorithm::EdDSA,
            Some(KeyAlgorithm::ES256) => Algorithm::ES256,
            Some(KeyAlgorithm::ES384) => Algorithm::ES384,
            Some(KeyAlgorithm::RS256) => Algorithm::RS256,
            Some(KeyAlgorithm::RS384) => Algorithm::RS384,
            Some(KeyAlgorithm::RS512) => Algorithm::RS512,
            Some(KeyAlgorithm::PS256) => Algorithm::PS256,
            _ => {
                return Err(KeyError::WrongKeyType {
                    algorithm: Algorithm::EdDSA,
                    reason: "the JWK needs an `alg` of EdDSA, ES256, ES384, RS256, RS384, RS512 or PS256",
                });
            }
        };
        let for_other_use = jwk
            .common
            .public_key_use
            .as_ref()
            .is_some_and(|key_use| *key_use != PublicKeyUse::Signature);
        let without_verify = jwk
            .common
            .key_operations
            .as_ref()
            .is_some_and(|operations| !operations.contains(&KeyOperations::Verify));
        if for_other_use || without_verify {
            return Err(KeyError::WrongKeyType {
                algorithm,
                reason: "the JWK is not for verifying signatures (`use` or `key_ops`)",
            });
        }
        let key = DecodingKey::from_jwk(jwk).map_err(invalid(algorithm))?;
        let mut verification = Self::public(algorithm, key)?;
        if let Some(kid) = &jwk.common.key_id {
            verification = verification.with_kid(kid.clone())?;
        }
        Ok(verification)
    }

    /// Sets the key id that tokens name in their `kid` header.
    ///
    /// Public keys default to their RFC 7638 thumbprint, HS256 secrets to `"hs256"`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Result<Self, KeyError> {
        self.kid = checked_kid(kid.into())?;
        if let Some(jwk) = &mut self.jwk {
            jwk.common.key_id = Some(self.kid.clone());
        }
        Ok(self)
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The public key as a JWK (`kid`, `alg`, `use: "sig"`); `None` for an HS256 secret.
    pub fn jwk(&self) -> Option<&Jwk> {
        self.jwk.as_ref()
    }

    /// Builds a public key, checking its size and curve, with its thumbprint as `kid`.
    fn public(algorithm: Algorithm, key: DecodingKey) -> Result<Self, KeyError> {
        provider();
        let jwk = Jwk::from_decoding_key(&key, Some(algorithm.to_jsonwebtoken())).map_err(invalid(algorithm))?;
        Self::from_public_jwk(algorithm, jwk)
    }

    /// The one place a public key is finished: checked, marked for signatures, named by its
    /// RFC 7638 thumbprint, and rebuilt from the JWK so every backend gets the key in the form it
    /// expects (RSA as modulus and exponent, EC and Ed25519 as raw points).
    fn from_public_jwk(algorithm: Algorithm, mut jwk: Jwk) -> Result<Self, KeyError> {
        check_public_jwk(algorithm, &jwk)?;
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(invalid(algorithm))?;
        jwk.common.key_id = Some(kid.clone());
        let key = DecodingKey::from_jwk(&jwk).map_err(invalid(algorithm))?;
        Ok(VerificationKey {
            kid,
            algorithm,
            prepared: prepare(algorithm, &key)?,
            key,
            jwk: Some(jwk),
        })
    }
}

/// The key new tokens are signed with, and its verification half.
#[derive(Clone)]
pub struct SigningKey {
    pub(crate) key: EncodingKey,
    pub(crate) verification: VerificationKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.verification.kid)
            .field("algorithm", &self.verification.algorithm)
            .finish_non_exhaustive()
    }
}

const DEFAULT_HMAC_KID: &str = "hs256";

/// PKCS#8 v1 prefix of an Ed25519 private key; the 32-byte seed follows (RFC 8410, section 7).
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

impl SigningKey {
    /// A new random Ed25519 key, for development: tokens it signs stop verifying when the process
    /// restarts. Load a stored key with [`ed25519_pem`](Self::ed25519_pem) in production.
    pub fn generate_ed25519() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(KeyError::Random)?;
        let mut der = Vec::with_capacity(48);
        der.extend_from_slice(&ED25519_PKCS8_PREFIX);
        der.extend_from_slice(&seed);
        Self::asymmetric(Algorithm::EdDSA, EncodingKey::from_ed_der(&der))
    }

    /// An Ed25519 private key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, as `openssl genpkey
    /// -algorithm ed25519` writes).
    pub fn ed25519_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let key = EncodingKey::from_ed_pem(pem).map_err(invalid(Algorithm::EdDSA))?;
        Self::asymmetric(Algorithm::EdDSA, key)
    }

    /// A P-256 private key in PKCS#8 PEM, for ES256.
    pub fn es256_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let key = EncodingKey::from_ec_pem(pem).map_err(invalid(Algorithm::ES256))?;
        Self::asymmetric(Algorithm::ES256, key)
    }

    /// An RSA private key of at least 2048 bits in PEM (PKCS#1 or PKCS#8), for RS256.
    pub fn rs256_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let key = EncodingKey::from_rsa_pem(pem).map_err(invalid(Algorithm::RS256))?;
        Self::asymmetric(Algorithm::RS256, key)
    }

    /// An HS256 secret of at least 32 bytes. Every verifier needs the same secret; prefer an
    /// asymmetric key when other services verify tokens.
    pub fn hs256(secret: &[u8]) -> Result<Self, KeyError> {
        let verification = VerificationKey::hs256(secret)?;
        let signing = SigningKey {
            key: EncodingKey::from_secret(secret),
            verification,
        };
        signing.self_test()?;
        Ok(signing)
    }

    /// Sets the key id written into each token's `kid` header.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Result<Self, KeyError> {
        self.verification = self.verification.with_kid(kid)?;
        Ok(self)
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.verification.kid
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.verification.algorithm
    }

    /// The half that verifies this key's signatures: keep it configured after rotating to a new key.
    pub fn verification_key(&self) -> &VerificationKey {
        &self.verification
    }

    fn asymmetric(algorithm: Algorithm, key: EncodingKey) -> Result<Self, KeyError> {
        provider();
        let jwk = Jwk::from_encoding_key(&key, algorithm.to_jsonwebtoken()).map_err(invalid(algorithm))?;
        let signing = SigningKey {
            key,
            verification: VerificationKey::from_public_jwk(algorithm, jwk)?,
        };
        signing.self_test()?;
        Ok(signing)
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, jsonwebtoken::errors::Error> {
        let signer = (provider().signer_factory)(&self.algorithm().to_jsonwebtoken(), &self.key)?;
        Ok(signer.try_sign(message)?)
    }

    /// Signs and verifies a fixed message: catches a private key that does not match the public
    /// half, or a backend that rejects the key, before the first request does.
    fn self_test(&self) -> Result<(), KeyError> {
        let algorithm = self.algorithm();
        let message = b"auth-runtime key self-test";
        let signature = self.sign(message).map_err(invalid(algorithm))?;
        if self.verification.verify_signature(message, &signature) {
            Ok(())
        } else {
            Err(KeyError::SelfTest { algorithm })
        }
    }
}

impl VerificationKey {
    /// Checks `signature` over `message` with this key's one algorithm, exactly as token
    /// verification does (the prepared key, the same backend); any backend error is a "no".
    ///
    /// For signatures over bytes that are not a token of ours: test vectors (the Wycheproof
    /// suites in this crate's tests), or a detached JWS another system produced.
    pub fn verify_signature(&self, message: &[u8], signature: &[u8]) -> bool {
        self.prepared
            .verify(self.algorithm.to_jsonwebtoken(), &self.key, message, signature)
    }
}

/// Readies `key` for the backend, or says why the backend refuses it.
fn prepare(algorithm: Algorithm, key: &DecodingKey) -> Result<Prepared, KeyError> {
    provider();
    Prepared::new(algorithm.to_jsonwebtoken(), key).ok_or(KeyError::Invalid {
        algorithm,
        source: jsonwebtoken::errors::ErrorKind::InvalidKeyFormat.into(),
    })
}

fn invalid(algorithm: Algorithm) -> impl Fn(jsonwebtoken::errors::Error) -> KeyError {
    move |source| KeyError::Invalid { algorithm, source }
}

fn check_hmac_secret(secret: &[u8]) -> Result<(), KeyError> {
    if secret.len() < MIN_HMAC_SECRET {
        return Err(KeyError::HmacSecretTooShort { len: secret.len() });
    }
    Ok(())
}

fn checked_kid(kid: String) -> Result<String, KeyError> {
    let printable = kid.bytes().all(|b| (0x20..0x7f).contains(&b));
    if kid.is_empty() || kid.len() > MAX_KID_LEN || !printable {
        return Err(KeyError::InvalidKid);
    }
    Ok(kid)
}

/// Refuses public keys of the wrong curve or too small for the algorithm.
fn check_public_jwk(algorithm: Algorithm, jwk: &Jwk) -> Result<(), KeyError> {
    use base64::Engine;
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    let wrong = |reason| Err(KeyError::WrongKeyType { algorithm, reason });
    match (&jwk.algorithm, algorithm) {
        (AlgorithmParameters::OctetKeyPair(params), Algorithm::EdDSA) => {
            if params.curve != EllipticCurve::Ed25519 {
                return wrong("EdDSA keys must be Ed25519");
            }
        }
        (AlgorithmParameters::EllipticCurve(params), Algorithm::ES256) => {
            if params.curve != EllipticCurve::P256 {
                return wrong("ES256 keys must be on the P-256 curve");
            }
        }
        (AlgorithmParameters::EllipticCurve(params), Algorithm::ES384) => {
            if params.curve != EllipticCurve::P384 {
                return wrong("ES384 keys must be on the P-384 curve");
            }
        }
        (AlgorithmParameters::RSA(params), algorithm) if algorithm.is_rsa() => {
            let modulus = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&params.n)
                .map_err(|_| KeyError::WrongKeyType {
                    algorithm,
                    reason: "unreadable RSA modulus",
                })?;
            let bits = modulus_bits(&modulus);
            if bits < MIN_RSA_BITS {
                return Err(KeyError::RsaKeyTooSmall { bits });
            }
        }
        _ => return wrong("the key is of another family than the algorithm"),
    }
    Ok(())
}

/// The size in bits of a big-endian modulus: leading zero bytes and the leading zero bits of the
/// first byte do not count (a 256-byte modulus starting `0x01` is 2041 bits, not 2048).
fn modulus_bits(modulus: &[u8]) -> usize {
    let mut significant = modulus.iter().skip_while(|&&byte| byte == 0);
    match significant.next() {
        Some(first) => (significant.count() + 1) * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prepared check must say exactly what jsonwebtoken's per-call verifier says, on the
    /// genuine signature and on every kind of damage to it or to the message. Run under each
    /// backend (`.ci/run` runs this module with `aws-lc-rs` too).
    #[test]
    fn prepared_keys_agree_with_the_library_verifier() {
        let keys = [
            SigningKey::hs256(b"0123456789abcdef0123456789abcdef").expect("32-byte secret"),
            SigningKey::ed25519_pem(include_bytes!("../../../tests/keys/ed25519.pem")).expect("Ed25519 key"),
            SigningKey::es256_pem(include_bytes!("../../../tests/keys/es256.pem")).expect("P-256 key"),
            SigningKey::rs256_pem(include_bytes!("../../../tests/keys/rs256.pem")).expect("RSA key"),
        ];
        let message = b"eyJhbGciOiJFZERTQSJ9.eyJ0eXBlIjoidXNlciJ9";
        for key in &keys {
            let verification = key.verification_key();
            let algorithm = verification.algorithm.to_jsonwebtoken();
            let signature = key.sign(message).expect("signs");
            let mut cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
                (message.to_vec(), signature.clone()),
                (message.to_vec(), Vec::new()),
                (message.to_vec(), vec![0; signature.len()]),
                (message.to_vec(), signature[..signature.len() - 1].to_vec()),
                (message.to_vec(), [signature.as_slice(), &[0]].concat()),
                (message[..message.len() - 1].to_vec(), signature.clone()),
                (Vec::new(), signature.clone()),
            ];
            for index in [0, signature.len() / 2, signature.len() - 1] {
                let mut damaged = signature.clone();
                damaged[index] ^= 0x01;
                cases.push((message.to_vec(), damaged));
            }
            let library = Prepared::Library;
            for (index, (message, signature)) in cases.iter().enumerate() {
                let expected = library.verify(algorithm, &verification.key, message, signature);
                assert_eq!(
                    verification.verify_signature(message, signature),
                    expected,
                    "{:?} case {index}",
                    verification.algorithm
                );
                assert_eq!(expected, index == 0, "{:?} case {index}", verification.algorithm);
            }
            if verification.algorithm != Algorithm::RS256 {
                assert!(
                    !matches!(verification.prepared, Prepared::Library),
                    "{:?}",
                    verification.algorithm
                );
            }
        }
    }

    #[test]
    fn a_modulus_is_measured_in_bits_not_bytes() {
        let with_first = |first: u8| {
            let mut modulus = vec![first];
            modulus.extend([0xff; 255]);
            modulus
        };
        assert_eq!(modulus_bits(&with_first(0x80)), 2048);
        assert_eq!(modulus_bits(&with_first(0x01)), 2041);
        assert_eq!(modulus_bits(&[0, 0, 0x01, 0x00]), 9);
        assert_eq!(modulus_bits(&[0, 0]), 0);
        assert!(
            modulus_bits(&with_first(0x01)) < MIN_RSA_BITS,
            "2041 bits must be refused"
        );
    }
}
