//! Signing, verifying and reading a session, against `jsonwebtoken` alone doing the same work
//! (same key, same claims, `iss`/`aud`/`exp` validated) as the baseline, in the same run.
//!
//! Run with: cargo bench -p auth-runtime
//! With the other backend: cargo bench -p auth-runtime --no-default-features --features aws-lc-rs,derive,schema

use std::hint::black_box;
use std::time::Duration;

use auth_runtime::{SessionTypes, Sessions, SigningKey};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

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
    let ed = include_bytes!("../../tests/keys/ed25519.pem");
    let ed_pub = include_bytes!("../../tests/keys/ed25519.pub.pem");
    let es = include_bytes!("../../tests/keys/es256.pem");
    let es_pub = include_bytes!("../../tests/keys/es256.pub.pem");
    let rs = include_bytes!("../../tests/keys/rs256.pem");
    let rs_pub = include_bytes!("../../tests/keys/rs256.pub.pem");
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
            .signing_key(case.ours)
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

        let mut group = c.benchmark_group(format!("{}/{}", case.name, auth_runtime::BACKEND));
        group.bench_function("sign/auth-runtime", |b| b.iter(|| sessions.create(black_box(&session))));
        group.bench_function("sign/jsonwebtoken", |b| {
            b.iter(|| jsonwebtoken::encode(black_box(&header), black_box(&raw_claims), &case.encoding))
        });
        group.bench_function("verify/auth-runtime", |b| b.iter(|| sessions.verify(black_box(&token))));
        group.bench_function("verify/jsonwebtoken", |b| {
            b.iter(|| jsonwebtoken::decode::<RawClaims>(black_box(&raw_token), &case.decoding, &validation))
        });
        group.bench_function("read-cookie/auth-runtime", |b| {
            b.iter(|| sessions.read(black_box(&headers)))
        });
        group.finish();
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
