//! Verifying another issuer's token (OpenAuth's shape: ES256, `kid`, `mode`) with a remote JWK
//! Set whose keys are cached, against the same verifier with the key given locally, and against
//! `jsonwebtoken` alone doing the same checks, in the same run. The remote set is served once by
//! a one-shot HTTP responder on 127.0.0.1 and then comes from memory.
//!
//! Run with: cargo bench -p auth-benches --bench issuers

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use auth_runtime::issuers::{JwtVerifier, KeySource, RemoteJwks};
use auth_runtime::{SessionTypes, VerificationKey};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(SessionTypes, Debug, Clone, PartialEq)]
enum Subjects {
    User {
        #[session(rename = "userID")]
        user_id: String,
    },
}

#[derive(Serialize, Deserialize)]
struct RawClaims {
    mode: String,
    #[serde(rename = "type")]
    session_type: String,
    properties: RawProperties,
    aud: String,
    iss: String,
    sub: String,
    exp: u64,
}

#[derive(Serialize, Deserialize)]
struct RawProperties {
    #[serde(rename = "userID")]
    user_id: String,
}

const ISSUER: &str = "https://auth.example.com";
const KID: &str = "5f0c-openauth-like";

/// Serves `body` as the answer to every request on a 127.0.0.1 port, for the whole run.
fn serve_jwks(body: String) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/.well-known/jwks.json", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: max-age=86400\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    Ok(url)
}

fn bench(c: &mut Criterion) {
    if let Err(error) = run(c) {
        eprintln!("issuers benchmark could not run: {error}");
    }
}

fn run(c: &mut Criterion) -> Result<(), Box<dyn std::error::Error>> {
    let private = include_bytes!("../../keys/es256.pem");
    let public = include_bytes!("../../keys/es256.pub.pem");
    let key = VerificationKey::es256_pem(public)?.with_kid(KID)?;
    let jwks = serde_json::json!({ "keys": [key.jwk()] }).to_string();
    let url = serve_jwks(jwks)?;

    let claims = RawClaims {
        mode: "access".to_owned(),
        session_type: "user".to_owned(),
        properties: RawProperties {
            user_id: "user-123".to_owned(),
        },
        aud: "my-app".to_owned(),
        iss: ISSUER.to_owned(),
        sub: "user:0123456789abcdef".to_owned(),
        exp: jsonwebtoken::get_current_timestamp() + 3600,
    };
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(KID.to_owned());
    header.typ = Some("JWT".to_owned());
    let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_pem(private)?)?;

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local: JwtVerifier<Subjects> = JwtVerifier::openauth(ISSUER, "my-app", KeySource::fixed([key])).build()?;
    let remote_keys = RemoteJwks::url(&url)?;
    let remote: JwtVerifier<Subjects> = JwtVerifier::openauth(ISSUER, "my-app", remote_keys).build()?;
    // Warm: the first verification fetches the set; every later one reads it from memory.
    runtime.block_on(remote.verify(&token))?;
    runtime.block_on(local.verify(&token))?;

    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&["my-app"]);
    let decoding = DecodingKey::from_ec_pem(public)?;

    let mut group = c.benchmark_group("issuers/ES256");
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken::decode::<RawClaims>(black_box(&token), &decoding, &validation).is_ok())
    });
    group.bench_function("local-key", |b| {
        b.iter(|| runtime.block_on(local.verify(black_box(&token))).is_ok())
    });
    group.bench_function("remote-jwks-warm", |b| {
        b.iter(|| runtime.block_on(remote.verify(black_box(&token))).is_ok())
    });
    group.finish();
    Ok(())
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
