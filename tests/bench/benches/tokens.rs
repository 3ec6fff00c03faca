//! Signing, verifying and reading a session, against `jsonwebtoken` alone doing the same work
//! (same key, same claims, `iss`/`aud`/`exp` validated) as the baseline, in the same run; and
//! verification against the raw signature check alone (`verify/raw-signature`: the backend's own
//! primitive with its key parsed once, over our token's signing input and decoded signature).
//!
//! Run with: cargo bench -p auth-benches --bench tokens
//! With the other backend: cargo bench -p auth-benches --no-default-features --features aws-lc-rs,schema,tracing --bench tokens

use std::hint::black_box;
use std::time::Duration;

use auth_runtime::{SessionTypes, Sessions, SigningKey};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use raw::RawKey;

#[derive(SessionTypes, Debug, Clone, PartialEq)]
enum AppSession {
    User {
        #[session(rename = "userID")]
        user_id: String,
    },
    Guest,
}

/// The same payload, as a user of jsonwebtoken alone would type it.
#[derive(Serialize, Deserialize)]
struct RawClaims {
    #[serde(rename = "type")]
    session_type: String,
    properties: RawProperties,
    iss: String,
    aud: String,
    iat: u64,
    exp: u64,
    jti: String,
}

#[derive(Serialize, Deserialize)]
struct RawProperties {
    #[serde(rename = "userID")]
    user_id: String,
}

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "app";
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-bench-secret";

struct Case {
    name: &'static str,
    ours: SigningKey,
    encoding: EncodingKey,
    decoding: DecodingKey,
    algorithm: Algorithm,
}

fn cases() -> Result<Vec<Case>, Box<dyn std::error::Error>> {
    let ed = include_bytes!("../../keys/ed25519.pem");
    let ed_pub = include_bytes!("../../keys/ed25519.pub.pem");
    let es = include_bytes!("../../keys/es256.pem");
    let es_pub = include_bytes!("../../keys/es256.pub.pem");
    let rs = include_bytes!("../../keys/rs256.pem");
    let rs_pub = include_bytes!("../../keys/rs256.pub.pem");
    Ok(vec![
        Case {
            name: "EdDSA",
            ours: SigningKey::ed25519_pem(ed)?,
            encoding: EncodingKey::from_ed_pem(ed)?,
            decoding: DecodingKey::from_ed_pem(ed_pub)?,
            algorithm: Algorithm::EdDSA,
        },
        Case {
            name: "ES256",
            ours: SigningKey::es256_pem(es)?,
            encoding: EncodingKey::from_ec_pem(es)?,
            decoding: DecodingKey::from_ec_pem(es_pub)?,
            algorithm: Algorithm::ES256,
        },
        Case {
            name: "RS256",
            ours: SigningKey::rs256_pem(rs)?,
            encoding: EncodingKey::from_rsa_pem(rs)?,
            decoding: DecodingKey::from_rsa_pem(rs_pub)?,
            algorithm: Algorithm::RS256,
        },
        Case {
            name: "HS256",
            ours: SigningKey::hs256(SECRET)?,
            encoding: EncodingKey::from_secret(SECRET),
            decoding: DecodingKey::from_secret(SECRET),
            algorithm: Algorithm::HS256,
        },
    ])
}

fn bench(c: &mut Criterion) {
    let cases = match cases() {
        Ok(cases) => cases,
        Err(error) => {
            eprintln!("benchmark keys failed to load: {error}");
            return;
        }
    };
    let session = AppSession::User {
        user_id: "user-123".to_owned(),
    };
    let now = jsonwebtoken::get_current_timestamp();
    let raw_claims = RawClaims {
        session_type: "user".to_owned(),
        properties: RawProperties {
            user_id: "user-123".to_owned(),
        },
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        iat: now,
        exp: now + 3600,
        jti: "T5RH5JitDkUOWd8FU3tICg".to_owned(),
    };
    for case in cases {
        let Ok(sessions) = Sessions::<AppSession>::builder()
            .signing_key(case.ours.clone())
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .build()
        else {
            eprintln!("{}: configuration failed", case.name);
            continue;
        };
        let Ok(token) = sessions.create(&session) else {
            eprintln!("{}: signing failed", case.name);
            continue;
        };
        let mut header = Header::new(case.algorithm);
        header.kid = Some("bench".to_owned());
        let mut validation = Validation::new(case.algorithm);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        let Ok(raw_token) = jsonwebtoken::encode(&header, &raw_claims, &case.encoding) else {
            eprintln!("{}: baseline signing failed", case.name);
            continue;
        };
        let mut headers = http::HeaderMap::new();
        if let Ok(value) = format!("theme=dark; auth-token={token}").parse() {
            headers.insert(http::header::COOKIE, value);
        }

        let mut group = c.benchmark_group(format!("{}/{}", case.name, auth_runtime::CRYPTO_BACKEND));
        group.bench_function("sign/auth-runtime", |b| b.iter(|| sessions.create(black_box(&session))));
        group.bench_function("sign/jsonwebtoken", |b| {
            b.iter(|| jsonwebtoken::encode(black_box(&header), black_box(&raw_claims), &case.encoding))
        });
        group.bench_function("verify/auth-runtime", |b| b.iter(|| sessions.verify(black_box(&token))));
        group.bench_function("verify/jsonwebtoken", |b| {
            b.iter(|| jsonwebtoken::decode::<RawClaims>(black_box(&raw_token), &case.decoding, &validation))
        });
        match raw_input(&token).and_then(|(message, signature)| Some((RawKey::new(&case)?, message, signature))) {
            Some((raw, message, signature)) if raw.verify(message.as_bytes(), &signature) => {
                group.bench_function("verify/raw-signature", |b| {
                    b.iter(|| raw.verify(black_box(message.as_bytes()), black_box(&signature)))
                });
            }
            _ => eprintln!("{}: raw signature baseline unavailable", case.name),
        }
        group.bench_function("read-cookie/auth-runtime", |b| {
            b.iter(|| sessions.read(black_box(&headers)))
        });
        group.finish();
    }
}

/// A token's signing input (`header.payload`) and its decoded signature.
fn raw_input(token: &str) -> Option<(String, Vec<u8>)> {
    use base64::Engine;
    let (message, signature) = token.rsplit_once('.')?;
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .ok()?;
    Some((message.to_owned(), signature))
}

/// Public key material from our key's JWK: `x` (Ed25519), `04 || x || y` (P-256), `n` and `e` (RSA).
fn jwk_bytes(key: &SigningKey) -> Option<(Vec<u8>, Vec<u8>)> {
    use base64::Engine;
    use jsonwebtoken::jwk::AlgorithmParameters;
    let decode = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok();
    match &key.verification_key().jwk()?.algorithm {
        AlgorithmParameters::OctetKeyPair(okp) => Some((decode(&okp.x)?, Vec::new())),
        AlgorithmParameters::EllipticCurve(ec) => {
            Some(([vec![4], decode(&ec.x)?, decode(&ec.y)?].concat(), Vec::new()))
        }
        AlgorithmParameters::RSA(rsa) => Some((decode(&rsa.n)?, decode(&rsa.e)?)),
        _ => None,
    }
}

/// The rust-crypto primitives jsonwebtoken's backend verifies with, each key parsed once.
#[cfg(feature = "rust-crypto")]
mod raw {
    use hmac::Mac;
    use p256::ecdsa::signature::Verifier;

    use super::{Case, SECRET, jwk_bytes};

    pub(crate) enum RawKey {
        Hs256(hmac::Hmac<sha2::Sha256>),
        Ed25519(ed25519_dalek::VerifyingKey),
        Es256(p256::ecdsa::VerifyingKey),
        Rs256(rsa::pkcs1v15::VerifyingKey<sha2::Sha256>),
    }

    impl RawKey {
        pub(crate) fn new(case: &Case) -> Option<Self> {
            if case.name == "HS256" {
                return hmac::Hmac::new_from_slice(SECRET).ok().map(RawKey::Hs256);
            }
            let (first, second) = jwk_bytes(&case.ours)?;
            Some(match case.name {
                "EdDSA" => {
                    RawKey::Ed25519(ed25519_dalek::VerifyingKey::from_bytes(first.as_slice().try_into().ok()?).ok()?)
                }
                "ES256" => RawKey::Es256(p256::ecdsa::VerifyingKey::from_sec1_bytes(&first).ok()?),
                "RS256" => {
                    let n = rsa::BigUint::from_bytes_be(&first);
                    let e = rsa::BigUint::from_bytes_be(&second);
                    RawKey::Rs256(rsa::pkcs1v15::VerifyingKey::new(rsa::RsaPublicKey::new(n, e).ok()?))
                }
                _ => return None,
            })
        }

        pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
            match self {
                RawKey::Hs256(mac) => {
                    let mut mac = mac.clone();
                    mac.update(message);
                    mac.verify_slice(signature).is_ok()
                }
                RawKey::Ed25519(key) => ed25519_dalek::Signature::from_slice(signature)
                    .is_ok_and(|signature| key.verify(message, &signature).is_ok()),
                RawKey::Es256(key) => p256::ecdsa::Signature::from_slice(signature)
                    .is_ok_and(|signature| key.verify(message, &signature).is_ok()),
                RawKey::Rs256(key) => rsa::pkcs1v15::Signature::try_from(signature)
                    .is_ok_and(|signature| key.verify(message, &signature).is_ok()),
            }
        }
    }
}

/// The aws-lc-rs primitives jsonwebtoken's backend verifies with, each key parsed once.
#[cfg(feature = "aws-lc-rs")]
mod raw {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};

    use super::{Case, SECRET, jwk_bytes};

    pub(crate) enum RawKey {
        Hs256(aws_lc_rs::hmac::Key),
        Public(ParsedPublicKey),
    }

    impl RawKey {
        pub(crate) fn new(case: &Case) -> Option<Self> {
            if case.name == "HS256" {
                return Some(RawKey::Hs256(aws_lc_rs::hmac::Key::new(
                    aws_lc_rs::hmac::HMAC_SHA256,
                    SECRET,
                )));
            }
            let parsed = match case.name {
                "EdDSA" => ParsedPublicKey::new(&ED25519, jwk_bytes(&case.ours)?.0),
                "ES256" => ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, jwk_bytes(&case.ours)?.0),
                "RS256" => {
                    // The SubjectPublicKeyInfo DER inside the PEM.
                    use base64::Engine;
                    let pem = std::str::from_utf8(include_bytes!("../../keys/rs256.pub.pem")).ok()?;
                    let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
                    let der = base64::engine::general_purpose::STANDARD.decode(body).ok()?;
                    ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
                }
                _ => return None,
            };
            parsed.ok().map(RawKey::Public)
        }

        pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
            match self {
                RawKey::Hs256(key) => aws_lc_rs::hmac::verify(key, message, signature).is_ok(),
                RawKey::Public(key) => key.verify_sig(message, signature).is_ok(),
            }
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
