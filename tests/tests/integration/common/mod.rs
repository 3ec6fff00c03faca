//! Shared fixtures: the session enum the integration tests use, configured `Sessions`, and a
//! token forger that signs arbitrary header and payload JSON outside our signing path.

#![allow(dead_code, reason = "each test file uses a different part of the fixtures")]

pub mod backends;
pub mod browser;
pub mod client;
pub mod clock;
pub mod node;
pub mod redis_server;
pub mod standin;
pub mod stores;
pub mod timing;
pub mod tools;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_runtime::{SessionTypes, Sessions, SessionsBuilder, SigningKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApiClient {
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// Every variant kind.
#[derive(SessionTypes, Debug, Clone, PartialEq)]
pub enum AppSession {
    /// A signed-in person.
    User {
        #[session(rename = "userID")]
        user_id: String,
    },
    Api(ApiClient),
    Guest,
}

pub const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test-secret";
pub const ISSUER: &str = "https://auth.example.com";
pub const AUDIENCE: &str = "app";
/// 2026-01-01T00:00:00Z, the fixed "now" of tests that need one.
pub const NOW: u64 = 1_767_225_600;

pub fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

pub fn builder(key: SigningKey) -> SessionsBuilder<AppSession> {
    Sessions::builder().signing_key(key).issuer(ISSUER).audience(AUDIENCE)
}

pub fn hs256_key() -> SigningKey {
    SigningKey::hs256(SECRET).expect("a 44-byte secret is valid")
}

/// HS256 sessions whose clock reads `now`.
pub fn sessions_at(now: u64) -> Sessions<AppSession> {
    builder(hs256_key())
        .clock(move || at(now))
        .build()
        .expect("valid configuration")
}

/// A two-thread runtime for tests that drive async code from a plain `#[test]`.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

pub fn user(id: &str) -> AppSession {
    AppSession::User { user_id: id.to_owned() }
}

pub fn key_pem(name: &str) -> Vec<u8> {
    let path = format!("{}/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Signs `header` and `payload` (raw JSON text) with HS256 over [`SECRET`], through jsonwebtoken's
/// primitive, so tests can present tokens our issuer would never write.
pub fn forge(header: &str, payload: &str) -> String {
    forge_bytes(header.as_bytes(), payload.as_bytes())
}

pub fn forge_bytes(header: &[u8], payload: &[u8]) -> String {
    sign_text(&format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    ))
}

/// Appends an HS256 signature over [`SECRET`] to `message` exactly as written (`header.payload`
/// text, base64 or not), so tests can sign encodings our issuer would never produce.
pub fn sign_text(message: &str) -> String {
    sign_text_with(
        message,
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
        jsonwebtoken::Algorithm::HS256,
    )
}

/// Appends a signature over `message` by `key` with `algorithm`: an attacker's key, say.
pub fn sign_text_with(message: &str, key: &jsonwebtoken::EncodingKey, algorithm: jsonwebtoken::Algorithm) -> String {
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, algorithm).expect("signs");
    format!("{message}.{signature}")
}

/// `header.payload` text of raw JSON, base64url without padding.
pub fn message_of(header: &str, payload: &str) -> String {
    format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload))
}

pub const GOOD_HEADER: &str = r#"{"alg":"HS256","typ":"session+jwt","kid":"hs256"}"#;

/// A payload our verifier accepts at [`NOW`], with `extra` spliced in before the closing brace.
pub fn payload_with(extra: &str) -> String {
    format!(
        r#"{{"type":"user","properties":{{"userID":"u1"}},"iss":"{ISSUER}","aud":"{AUDIENCE}","iat":{NOW},"exp":{}{extra}}}"#,
        NOW + 3600
    )
}

/// Redirect targets that must never be followed: every open-redirect form the redirect policy
/// refuses (scheme-relative, backslashes, encoded slashes, credentials, other schemes and origins,
/// control characters), for an allowlist of `https://app.example.com`.
pub const OPEN_REDIRECTS: [&str; 36] = [
    // Dot segments that normalize to `//host` (found by the `redirect` fuzz target).
    "/.//evil.com",
    "/a/..//evil.com",
    "/./%2E/evil.com/..//evil.com",
    "/%2E//evil.com",
    "",
    "//evil.com",
    "//evil.com/path",
    "///evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "/%2F%2Fevil.com",
    "/%2f%2fevil.com",
    "/%252F%252Fevil.com",
    "/%5Cevil.com",
    "/%5cevil.com",
    "https://app.example.com@evil.com",
    "https://app@evil.com",
    "https://user:pass@app.example.com/",
    "https:evil.com",
    "https:/evil.com",
    "HTTPS:evil.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "%6Aavascript:alert(1)",
    "javascript%3Aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https://evil.com",
    "HTTPS://EVIL.COM/",
    "http://app.example.com",
    "https://app.example.com:8443/",
    "https://app.example.com.evil.com/",
    "/\tevil",
    "/%09/evil.com",
    "/\n/evil.com",
    " /home",
    "evil.com",
];
