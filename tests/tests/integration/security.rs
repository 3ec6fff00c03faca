//! The security matrix: one test per threat, modelled on the attacks that broke other JWT
//! libraries, each against the real verification path (`Sessions::verify`) and, where a request
//! carries the token, through the session layer of a server on 127.0.0.1.
//!
//! Every attack token is built so that the defence under test is the only thing standing in its
//! way: it is signed with the right key (or the attacker's own, when that is the attack), carries
//! valid claims, and fails for the one reason the test names.

use crate::common;

use auth_examples::quickstart_app as quickstart;

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use auth_runtime::{
    Algorithm, Malformed, SessionCache, SessionLayer, Sessions, SigningKey, TokenError, VerificationKey,
};
use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::client::{Browser, Reply, get as http_get, serve};
use common::*;
use jsonwebtoken::EncodingKey;

/// A verifier and the same verifier behind the session layer, both with the clock at [`NOW`].
struct Target {
    sessions: Sessions<AppSession>,
    addr: SocketAddr,
}

impl Target {
    fn new(sessions: Sessions<AppSession>) -> Self {
        let cache = SessionCache::builder(sessions.clone()).clock(|| at(NOW)).build();
        let layer = SessionLayer::builder(cache).build().expect("valid layer");
        let app = Router::new().route("/me", get(|| async { "signed in" })).layer(layer);
        Target {
            sessions,
            addr: serve(app),
        }
    }

    fn hs256() -> Self {
        Target::new(sessions_at(NOW))
    }

    fn send(&self, token: &str) -> Reply {
        http_get(self.addr, "/me", &[("Authorization", &format!("Bearer {token}"))])
    }

    /// Refused by `verify` and answered 401 `invalid_token` by the layer; returns verify's reason.
    fn refuses(&self, token: &str) -> TokenError {
        let error = self.sessions.verify(token).expect_err("verify must refuse it");
        let reply = self.send(token);
        assert_eq!(reply.status, 401, "the layer must refuse it: {}", reply.body);
        assert_eq!(reply.json()["error"], "invalid_token");
        error
    }

    fn accepts(&self, token: &str) {
        assert!(self.sessions.verify(token).is_ok(), "{:?}", self.sessions.verify(token));
        assert_eq!(self.send(token).status, 200);
    }
}

fn header_with(fields: &str) -> String {
    format!(r#"{{"typ":"session+jwt",{fields}}}"#)
}

#[test]
fn alg_none_with_an_empty_signature_is_refused() {
    let target = Target::hs256();
    let payload = payload_with("");
    // Another HMAC than the key's: the key's one algorithm is the only one it verifies.
    let other_hmac = header_with(r#""alg":"HS512","kid":"hs256""#);
    assert!(matches!(
        target.refuses(&forge(&other_hmac, &payload)),
        TokenError::AlgorithmMismatch { .. }
    ));
    for alg in ["none", "None", "NONE", "nOnE"] {
        for header in [
            header_with(&format!(r#""alg":"{alg}","kid":"hs256""#)),
            header_with(&format!(r#""alg":"{alg}""#)),
        ] {
            let unsigned = format!("{}.", message_of(&header, &payload));
            assert!(
                matches!(target.refuses(&unsigned), TokenError::AlgorithmMismatch { ref found, expected: Algorithm::HS256 } if found == alg),
                "{header}"
            );
            // The same with a signature part the attacker made up.
            assert!(matches!(
                target.refuses(&format!("{unsigned}AAAA")),
                TokenError::AlgorithmMismatch { .. }
            ));
        }
    }
}

/// The RS256/ES256 public key, in each form an attacker might guess the server holds, used as an
/// HMAC secret (the "key confusion" attack).
fn public_key_forms(pem_file: &str) -> Vec<(&'static str, Vec<u8>)> {
    let pem = key_pem(pem_file);
    let text = String::from_utf8(pem.clone()).expect("PEM is text");
    let body: String = text.lines().filter(|line| !line.starts_with("-----")).collect();
    let der = STANDARD.decode(body).expect("PEM body is base64");
    vec![
        ("PEM", pem.clone()),
        ("PEM without final newline", text.trim_end().as_bytes().to_vec()),
        ("DER", der),
    ]
}

#[test]
fn hs256_signed_with_the_public_key_is_refused() {
    let cases = [
        (
            "RS256",
            SigningKey::rs256_pem(&key_pem("rs256.pem")).expect("RSA key"),
            "rs256.pub.pem",
        ),
        (
            "ES256",
            SigningKey::es256_pem(&key_pem("es256.pem")).expect("EC key"),
            "es256.pub.pem",
        ),
    ];
    for (name, key, public_file) in cases {
        let kid = key.kid().to_owned();
        let target = Target::new(builder(key).clock(|| at(NOW)).build().expect("valid"));
        for (form, secret) in public_key_forms(public_file) {
            for header in [
                header_with(&format!(r#""alg":"HS256","kid":"{kid}""#)),
                header_with(r#""alg":"HS256""#),
            ] {
                let message = message_of(&header, &payload_with(""));
                let token = sign_text_with(
                    &message,
                    &EncodingKey::from_secret(&secret),
                    jsonwebtoken::Algorithm::HS256,
                );
                // The MAC is right for that secret: a verifier that let the token pick HMAC
                // with the key bytes it holds would accept it.
                let (_, signature) = token.rsplit_once('.').expect("three parts");
                assert!(
                    jsonwebtoken::crypto::verify(
                        signature,
                        message.as_bytes(),
                        &jsonwebtoken::DecodingKey::from_secret(&secret),
                        jsonwebtoken::Algorithm::HS256
                    )
                    .expect("checks"),
                    "a real attack token"
                );
                assert!(
                    matches!(target.refuses(&token), TokenError::AlgorithmMismatch { ref found, .. } if found == "HS256"),
                    "{name} key as {form}, header {header}"
                );
            }
        }
    }
}

#[test]
fn kid_injection_is_a_lookup_and_is_never_echoed_raw() {
    let target = Target::hs256();
    let long = "x".repeat(10 * 1024);
    let kids = [
        "../../dev/null",
        "/dev/null",
        "file:///etc/passwd",
        "' OR '1'='1",
        "hs256' --",
        "hs256\u{0}",
        "hs256 ",
        "HS256",
        "hs256\r\nSet-Cookie: auth-token=stolen",
    ];
    for kid in kids {
        let header = serde_json::json!({"alg": "HS256", "typ": "session+jwt", "kid": kid}).to_string();
        let token = forge(&header, &payload_with(""));
        let error = target.refuses(&token);
        assert!(matches!(error, TokenError::UnknownKey { .. }), "{kid:?}: {error:?}");
        let message = error.to_string();
        assert!(!message.contains(['\r', '\n', '\0']), "escaped: {message:?}");
    }
    // 10 KB of kid: over the default token size, and without that limit still only a lookup,
    // shown cut short.
    let header = serde_json::json!({"alg": "HS256", "typ": "session+jwt", "kid": long}).to_string();
    let token = forge(&header, &payload_with(""));
    assert!(matches!(target.refuses(&token), TokenError::TooLarge { .. }));
    let roomy = builder(hs256_key())
        .max_token_len(64 * 1024)
        .clock(|| at(NOW))
        .build()
        .expect("valid");
    let error = roomy.verify(&token).expect_err("unknown key");
    assert!(matches!(error, TokenError::UnknownKey { .. }));
    assert!(error.to_string().len() < 120, "{error}");
}

#[test]
fn key_carrying_headers_are_never_followed() {
    // A server the attacker controls; nothing may connect to it.
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    listener.set_nonblocking(true).expect("non-blocking");
    let attacker_url = format!("http://{}", listener.local_addr().expect("address"));

    // EdDSA: the server's own key, and the attacker's key embedded as `jwk`.
    let ours = SigningKey::generate_ed25519().expect("key");
    let kid = ours.kid().to_owned();
    let target = Target::new(builder(ours).clock(|| at(NOW)).build().expect("valid"));
    let attacker_pem = key_pem("ed25519.pem");
    let attacker = SigningKey::ed25519_pem(&attacker_pem).expect("attacker key");
    let attacker_jwk = serde_json::to_value(attacker.verification_key().jwk()).expect("JWK");
    let header = serde_json::json!({
        "alg": "EdDSA", "typ": "session+jwt", "kid": kid,
        "jku": format!("{attacker_url}/jwks.json"),
        "x5u": format!("{attacker_url}/cert.pem"),
        "jwk": attacker_jwk,
    })
    .to_string();
    let token = sign_text_with(
        &message_of(&header, &payload_with("")),
        &EncodingKey::from_ed_pem(&attacker_pem).expect("PEM"),
        jsonwebtoken::Algorithm::EdDSA,
    );
    assert!(matches!(target.refuses(&token), TokenError::BadSignature));

    // HS256: an embedded symmetric key with the attacker's secret.
    let attacker_secret = b"attacker-chosen-secret-of-32-bytes!!";
    let header = serde_json::json!({
        "alg": "HS256", "typ": "session+jwt", "kid": "hs256",
        "jku": format!("{attacker_url}/jwks.json"),
        "jwk": {"kty": "oct", "k": URL_SAFE_NO_PAD.encode(attacker_secret)},
    })
    .to_string();
    let token = sign_text_with(
        &message_of(&header, &payload_with("")),
        &EncodingKey::from_secret(attacker_secret),
        jsonwebtoken::Algorithm::HS256,
    );
    assert!(matches!(Target::hs256().refuses(&token), TokenError::BadSignature));

    // The same headers on a token our key signed: ignored, not a reason to refuse.
    let header = serde_json::json!({
        "alg": "HS256", "typ": "session+jwt", "kid": "hs256",
        "jku": format!("{attacker_url}/jwks.json"), "x5u": format!("{attacker_url}/cert.pem"),
        "jwk": {"kty": "oct", "k": URL_SAFE_NO_PAD.encode(attacker_secret)},
    });
    Target::hs256().accepts(&forge(&header.to_string(), &payload_with("")));

    assert!(
        matches!(listener.accept(), Err(error) if error.kind() == ErrorKind::WouldBlock),
        "no request reached the attacker's server"
    );
}

#[test]
fn unknown_critical_headers_are_refused() {
    let target = Target::hs256();
    for crit in [r#"["exp"],"exp":1"#, r#"["b64"],"b64":false"#, "[]", r#""b64""#, "null"] {
        let header = header_with(&format!(r#""alg":"HS256","kid":"hs256","crit":{crit}"#));
        let error = target.refuses(&forge(&header, &payload_with("")));
        assert!(matches!(error, TokenError::CriticalHeader), "crit {crit}: {error:?}");
    }
}

#[test]
fn psychic_and_all_zero_signatures_are_refused() {
    // P-256 group order n: (r, s) = (0, 0) is CVE-2022-21449; (n, n) reduces to it.
    let order = hex_bytes("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    let one = {
        let mut one = vec![0; 32];
        one[31] = 1;
        one
    };
    let es256 = SigningKey::es256_pem(&key_pem("es256.pem")).expect("EC key");
    let rs256 = SigningKey::rs256_pem(&key_pem("rs256.pem")).expect("RSA key");
    let ed25519 = SigningKey::ed25519_pem(&key_pem("ed25519.pem")).expect("Ed25519 key");
    let cases: Vec<(SigningKey, Vec<Vec<u8>>)> = vec![
        (
            es256,
            vec![
                vec![0; 64],
                [order.clone(), order.clone()].concat(),
                [vec![0; 32], one.clone()].concat(),
                [one.clone(), vec![0; 32]].concat(),
                [order.clone(), one].concat(),
                vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00],
                vec![],
            ],
        ),
        (hs256_key(), vec![vec![0; 32], vec![0; 16], vec![]]),
        (ed25519, vec![vec![0; 64], vec![]]),
        (rs256, vec![vec![0; 256], vec![]]),
    ];
    for (key, signatures) in cases {
        let algorithm = key.algorithm();
        let header = header_with(&format!(r#""alg":"{algorithm}","kid":"{}""#, key.kid()));
        let target = Target::new(builder(key).clock(|| at(NOW)).build().expect("valid"));
        let message = message_of(&header, &payload_with(""));
        for signature in signatures {
            let token = format!("{message}.{}", URL_SAFE_NO_PAD.encode(&signature));
            let error = target.refuses(&token);
            assert!(
                matches!(error, TokenError::BadSignature),
                "{algorithm} with {} signature bytes: {error:?}",
                signature.len()
            );
        }
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn time_claims_must_be_integers_in_range() {
    let target = Target::hs256();
    let base = format!(r#"{{"type":"guest","properties":{{}},"iss":"{ISSUER}","aud":"{AUDIENCE}""#);
    let bad_numbers = [
        r#""9999999999""#,
        r#""""#,
        "1.5",
        "1e3",
        "-1",
        "-0",
        "1e300",
        "18446744073709551615",
        "18446744073709551616",
        "253402300800",
        "null",
        "true",
        "[1]",
        "{}",
    ];
    for bad in bad_numbers {
        let expiry = format!(r#"{base},"exp":{bad}}}"#);
        assert!(
            matches!(
                target.refuses(&forge(GOOD_HEADER, &expiry)),
                TokenError::InvalidClaim { claim: "exp", .. }
            ),
            "exp {bad}"
        );
        let not_before = format!(r#"{base},"exp":{},"nbf":{bad}}}"#, NOW + 10);
        assert!(
            matches!(
                target.refuses(&forge(GOOD_HEADER, &not_before)),
                TokenError::InvalidClaim { claim: "nbf", .. }
            ),
            "nbf {bad}"
        );
    }
    assert!(matches!(
        target.refuses(&forge(GOOD_HEADER, &format!(r#"{base},"exp":0}}"#))),
        TokenError::Expired { .. }
    ));
    let future = payload_with(&format!(r#","nbf":{}"#, NOW + 3600));
    assert!(matches!(
        target.refuses(&forge(GOOD_HEADER, &future)),
        TokenError::NotYetValid { .. }
    ));
    // In range, an integer: accepted, so the refusals above are about the values.
    target.accepts(&forge(GOOD_HEADER, &format!(r#"{base},"exp":{},"nbf":0}}"#, NOW + 10)));
}

#[test]
fn a_token_without_exp_is_refused() {
    let no_exp = format!(r#"{{"type":"guest","properties":{{}},"iss":"{ISSUER}","aud":"{AUDIENCE}","iat":{NOW}}}"#);
    assert!(matches!(
        Target::hs256().refuses(&forge(GOOD_HEADER, &no_exp)),
        TokenError::MissingClaim("exp")
    ));
}

/// A payload accepted at [`NOW`] but for its `iat` and `exp` (`None` leaves the claim out).
fn payload_at(issued_at: Option<u64>, expires_at: u64) -> String {
    let iat = issued_at.map(|iat| format!(r#","iat":{iat}"#)).unwrap_or_default();
    format!(
        r#"{{"type":"user","properties":{{"userID":"u1"}},"iss":"{ISSUER}","aud":"{AUDIENCE}"{iat},"exp":{expires_at}}}"#
    )
}

#[test]
fn a_token_issued_in_the_future_is_refused() {
    let target = Target::hs256();
    let ahead = forge(GOOD_HEADER, &payload_at(Some(NOW + 3600), NOW + 7200));
    assert!(matches!(
        target.refuses(&ahead),
        TokenError::IssuedInTheFuture { issued_at, now: NOW } if issued_at == NOW + 3600
    ));
    // Within the leeway (60 s by default), a clock a little ahead is tolerated.
    target.accepts(&forge(GOOD_HEADER, &payload_at(Some(NOW + 30), NOW + 3600)));
}

#[test]
fn a_token_that_outlives_the_configured_lifetime_is_refused() {
    let target = Target::hs256();
    let thirty_days = 30 * 24 * 60 * 60;
    let too_long = forge(GOOD_HEADER, &payload_at(Some(NOW), NOW + thirty_days + 1));
    assert!(matches!(
        target.refuses(&too_long),
        TokenError::LifetimeTooLong { lifetime, max } if lifetime == thirty_days + 1 && max == thirty_days
    ));
    // Without `iat`, what is left of it from now counts.
    let no_iat = forge(GOOD_HEADER, &payload_at(None, NOW + 2 * thirty_days));
    assert!(matches!(target.refuses(&no_iat), TokenError::LifetimeTooLong { .. }));
    target.accepts(&forge(GOOD_HEADER, &payload_at(Some(NOW), NOW + thirty_days)));
    target.accepts(&forge(GOOD_HEADER, &payload_at(None, NOW + 3600)));
}

#[test]
fn issuer_and_audience_must_match_exactly() {
    let target = Target::hs256();
    let payload = |claims: &str| format!(r#"{{"type":"guest","properties":{{}},{claims}"exp":{}}}"#, NOW + 10);
    let good_iss = format!(r#""iss":"{ISSUER}","#);
    let good_aud = format!(r#""aud":"{AUDIENCE}","#);
    type Expected = fn(&TokenError) -> bool;
    let cases: Vec<(String, Expected)> = vec![
        (format!(r#""iss":"https://evil.example",{good_aud}"#), |error| {
            matches!(error, TokenError::WrongIssuer { .. })
        }),
        (format!(r#""iss":"{ISSUER}/",{good_aud}"#), |error| {
            matches!(error, TokenError::WrongIssuer { .. })
        }),
        (format!(r#""iss":"HTTPS://AUTH.EXAMPLE.COM",{good_aud}"#), |error| {
            matches!(error, TokenError::WrongIssuer { .. })
        }),
        (format!(r#"{good_iss}"aud":"other","#), |error| {
            matches!(error, TokenError::WrongAudience { .. })
        }),
        (format!(r#"{good_iss}"aud":"APP","#), |error| {
            matches!(error, TokenError::WrongAudience { .. })
        }),
        (format!(r#""iss":["{ISSUER}"],{good_aud}"#), |error| {
            matches!(error, TokenError::InvalidClaim { claim: "iss", .. })
        }),
        (format!(r#"{good_iss}"aud":["{AUDIENCE}"],"#), |error| {
            matches!(error, TokenError::InvalidClaim { claim: "aud", .. })
        }),
        (format!(r#"{good_iss}"aud":["other","{AUDIENCE}"],"#), |error| {
            matches!(error, TokenError::InvalidClaim { claim: "aud", .. })
        }),
        (format!(r#""iss":null,{good_aud}"#), |error| {
            matches!(error, TokenError::InvalidClaim { claim: "iss", .. })
        }),
        (good_aud.clone(), |error| {
            matches!(error, TokenError::MissingClaim("iss"))
        }),
        (good_iss.clone(), |error| {
            matches!(error, TokenError::MissingClaim("aud"))
        }),
    ];
    for (claims, expected) in cases {
        let error = target.refuses(&forge(GOOD_HEADER, &payload(&claims)));
        assert!(expected(&error), "{claims}: {error:?}");
    }
    target.accepts(&forge(GOOD_HEADER, &payload(&format!("{good_iss}{good_aud}"))));
}

#[test]
fn a_validly_signed_token_of_another_type_is_refused() {
    let target = Target::hs256();
    // A real token of another kind, signed by the same key: a sign-in link's token, say.
    let other_kind = builder(hs256_key())
        .token_type("auth-flow+jwt")
        .clock(|| at(NOW))
        .build()
        .expect("valid");
    let flow_token = other_kind.create(&user("u1")).expect("issues");
    assert!(matches!(
        target.refuses(&flow_token),
        TokenError::WrongTokenType { found: Some(ref typ), .. } if typ == "auth-flow+jwt"
    ));
    for header in [
        r#"{"alg":"HS256","typ":"JWT","kid":"hs256"}"#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs256"}"#,
        r#"{"alg":"HS256","typ":"application/session+jwt","kid":"hs256"}"#,
        r#"{"alg":"HS256","typ":"","kid":"hs256"}"#,
        r#"{"alg":"HS256","kid":"hs256"}"#,
    ] {
        let error = target.refuses(&forge(header, &payload_with("")));
        assert!(
            matches!(error, TokenError::WrongTokenType { .. }),
            "{header}: {error:?}"
        );
    }
}

#[test]
fn duplicate_json_keys_are_refused() {
    let target = Target::hs256();
    for header in [
        r#"{"alg":"HS256","alg":"HS256","typ":"session+jwt","kid":"hs256"}"#,
        r#"{"alg":"HS256","typ":"session+jwt","kid":"other","kid":"hs256"}"#,
        r#"{"alg":"HS256","typ":"JWT","typ":"session+jwt","kid":"hs256"}"#,
    ] {
        let error = target.refuses(&forge(header, &payload_with("")));
        assert!(
            matches!(error, TokenError::Malformed(Malformed::Header(_))),
            "{header}: {error:?}"
        );
    }
    let claims = [
        ("type", r#""guest""#),
        ("properties", r#"{"userID":"admin"}"#),
        ("iss", &format!(r#""{ISSUER}""#)),
        ("aud", &format!(r#""{AUDIENCE}""#)),
        ("exp", &(NOW + 10).to_string()),
        ("iat", &NOW.to_string()),
        ("nbf", &NOW.to_string()),
        ("sub", r#""admin""#),
        ("jti", r#""other""#),
        ("nonce", r#""other""#),
    ];
    for (claim, value) in claims {
        // `payload_with` already holds type, properties, iss, aud, iat and exp; the others get
        // a first occurrence here, so each claim appears exactly twice.
        let first = match claim {
            "sub" => r#","sub":"u1""#.to_owned(),
            "jti" => r#","jti":"j""#.to_owned(),
            "nonce" => r#","nonce":"n""#.to_owned(),
            "nbf" => format!(r#","nbf":{NOW}"#),
            _ => String::new(),
        };
        let payload = payload_with(&format!(r#"{first},"{claim}":{value}"#));
        let error = target.refuses(&forge(GOOD_HEADER, &payload));
        assert!(
            matches!(error, TokenError::InvalidClaim { claim: found, .. } if found == claim),
            "duplicate {claim}: {error:?}"
        );
    }
    let inner = format!(
        r#"{{"type":"user","properties":{{"userID":"u1","userID":"admin"}},"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{}}}"#,
        NOW + 10
    );
    let error = target.refuses(&forge(GOOD_HEADER, &inner));
    assert!(matches!(error, TokenError::InvalidProperties(_)), "{error:?}");
}

#[test]
fn non_utf8_and_trailing_bytes_are_refused() {
    let target = Target::hs256();
    let good_payload = payload_with("");
    // Not UTF-8, inside a string and outside one.
    let bad_header = forge_bytes(
        b"{\"alg\":\"HS256\",\"typ\":\"session+jwt\",\"kid\":\"hs\xff\"}",
        good_payload.as_bytes(),
    );
    assert!(matches!(
        target.refuses(&bad_header),
        TokenError::Malformed(Malformed::Header(_))
    ));
    for payload in [
        {
            let mut bytes = good_payload.clone().into_bytes();
            bytes[good_payload.find("\"u1\"").expect("the user id") + 2] = 0xff;
            bytes
        },
        [good_payload.as_bytes(), b"\xff"].concat(),
    ] {
        let error = target.refuses(&forge_bytes(GOOD_HEADER.as_bytes(), &payload));
        assert!(
            matches!(error, TokenError::Malformed(_) | TokenError::InvalidClaim { .. }),
            "{error:?}"
        );
    }
    // Bytes after the JSON value.
    for trailing in [" x", "}", "\u{0}", ",{}"] {
        let header = format!("{GOOD_HEADER}{trailing}");
        assert!(matches!(
            target.refuses(&forge(&header, &good_payload)),
            TokenError::Malformed(Malformed::Header(_))
        ));
        let payload = format!("{good_payload}{trailing}");
        assert!(matches!(
            target.refuses(&forge(GOOD_HEADER, &payload)),
            TokenError::Malformed(Malformed::Payload(_))
        ));
    }
    // Bytes after the token, padding, and non-canonical base64 (unused bits set), each signed.
    let token = forge(GOOD_HEADER, &good_payload);
    for suffix in [".", "=", "==", " ", "\t"] {
        let error = target
            .sessions
            .verify(&format!("{token}{suffix}"))
            .expect_err("refused");
        assert!(matches!(error, TokenError::Malformed(_)), "{suffix:?}: {error:?}");
    }
    let (header_b64, payload_b64) = message_of(&partial_group(GOOD_HEADER), &partial_group(&good_payload))
        .split_once('.')
        .map(|(header, payload)| (header.to_owned(), payload.to_owned()))
        .expect("two parts");
    for (message, part) in [
        (format!("{header_b64}=.{payload_b64}"), "header"),
        (format!("{header_b64}.{payload_b64}="), "payload"),
        (format!("{}.{payload_b64}", noncanonical(&header_b64)), "header"),
        (format!("{header_b64}.{}", noncanonical(&payload_b64)), "payload"),
    ] {
        let error = target.refuses(&sign_text(&message));
        assert!(
            matches!(error, TokenError::Malformed(Malformed::Base64 { part: found }) if found == part),
            "{message}: {error:?}"
        );
    }
}

/// `json` with trailing spaces so its base64 ends in a partial group, which has unused bits to set.
fn partial_group(json: &str) -> String {
    let mut json = json.to_owned();
    while json.len().is_multiple_of(3) {
        json.push(' ');
    }
    json
}

/// The same bytes with the unused low bits of the last base64 character set: a second spelling
/// a lenient decoder accepts.
fn noncanonical(part: &str) -> String {
    assert!(!part.len().is_multiple_of(4), "needs a partial last group");
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = part.as_bytes()[part.len() - 1];
    let index = alphabet.iter().position(|&c| c == last).expect("base64url");
    let unused_bits = if part.len() % 4 == 2 { 0b1111 } else { 0b11 };
    let changed = alphabet[index | unused_bits] as char;
    assert_ne!(changed as u8, last, "the bits were not set already");
    format!("{}{changed}", &part[..part.len() - 1])
}

#[test]
fn oversized_tokens_and_headers_are_refused() {
    let target = Target::hs256();
    let big = forge(
        GOOD_HEADER,
        &payload_with(&format!(r#","pad":"{}""#, "a".repeat(8 * 1024))),
    );
    assert!(matches!(target.refuses(&big), TokenError::TooLarge { max: 8192, .. }));
    // Deep nesting, as deep as the size limit allows: no stack overflow. An unknown claim is
    // skipped without recursion; in the properties, the typed decode refuses it.
    let nested = format!("{}{}", "[".repeat(2500), "]".repeat(2500));
    target.accepts(&forge(GOOD_HEADER, &payload_with(&format!(r#","deep":{nested}"#))));
    let deep_properties = format!(
        r#"{{"type":"api","properties":{{"client_id":"c","scopes":{nested}}},"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{}}}"#,
        NOW + 10
    );
    let error = target.refuses(&forge(GOOD_HEADER, &deep_properties));
    assert!(matches!(error, TokenError::InvalidProperties(_)), "{error:?}");

    // A 100 KB Authorization header and a 60 KB Cookie header: a clear answer, no panic.
    let huge = format!("Bearer {}", "a".repeat(100 * 1024));
    let reply = http_get(target.addr, "/me", &[("Authorization", &huge)]);
    assert!(matches!(reply.status, 401 | 431), "{}", reply.status);
    let cookies: Vec<String> = (0..5000).map(|index| format!("c{index}=v")).collect();
    let many = cookies.join("; ");
    assert_eq!(
        http_get(target.addr, "/me", &[("Cookie", &many)]).status,
        200,
        "no session cookie: public"
    );
    let with_session = format!("{many}; auth-token={big}");
    assert!(matches!(
        http_get(target.addr, "/me", &[("Cookie", &with_session)]).status,
        401 | 431
    ));
}

#[test]
fn a_cookie_replayed_after_logout_is_refused() {
    let outbox: quickstart::Outbox = Arc::new(|_| {});
    let sessions = quickstart::development_sessions().expect("sessions");
    let addr = serve(quickstart::app(sessions, "http://localhost:3000", outbox).expect("app"));
    let mut browser = Browser::default();
    let base = format!("http://{addr}");
    assert_eq!(browser.follow(&format!("{base}/login?name=alice"), None).status, 200);
    let stolen = browser.cookie_header();
    assert_eq!(
        http_get(addr, "/me", &[("Cookie", &stolen)]).status,
        200,
        "a copy works while signed in"
    );

    let logout = common::client::send(
        addr,
        "POST",
        "/logout",
        &[("Cookie", &stolen), ("Sec-Fetch-Site", "same-origin")],
    );
    assert_eq!(logout.status, 302, "{}", logout.body);
    let replayed = http_get(addr, "/me", &[("Cookie", &stolen)]);
    assert_eq!(replayed.status, 401, "{}", replayed.body);
    assert!(replayed.body.contains("revoked"), "{}", replayed.body);
    let twice = common::client::send(
        addr,
        "POST",
        "/logout",
        &[("Cookie", &stolen), ("Sec-Fetch-Site", "same-origin")],
    );
    assert_eq!(twice.status, 401, "cannot log out twice");
}

#[test]
fn a_cookie_replayed_after_key_rotation_is_refused() {
    let old = SigningKey::generate_ed25519().expect("key");
    let old_public: VerificationKey = old.verification_key().clone();
    let before = Target::new(builder(old).clock(|| at(NOW)).build().expect("valid"));
    let token = before.sessions.create(&user("u1")).expect("issues");
    before.accepts(&token);

    // Rotated, old key kept for verification: still good, as rotation promises.
    let new = SigningKey::generate_ed25519().expect("key");
    let new_kid = new.kid().to_owned();
    let rotated = builder(new.clone())
        .verification_key(old_public)
        .clock(|| at(NOW))
        .build()
        .expect("valid");
    assert!(rotated.verify(&token).is_ok());

    // Old key retired: the cookie is refused, through the layer as a cookie too.
    let after = Target::new(builder(new).clock(|| at(NOW)).build().expect("valid"));
    assert!(matches!(after.refuses(&token), TokenError::UnknownKey { .. }));
    let reply = http_get(after.addr, "/me", &[("Cookie", &format!("auth-token={token}"))]);
    assert_eq!(reply.status, 401);
    // Relabelling it with the new key's id does not make the old signature the new key's.
    let (header_b64, rest) = token.split_once('.').expect("parts");
    let mut header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).expect("base64")).expect("JSON");
    header["kid"] = new_kid.into();
    let relabelled = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()));
    assert!(matches!(after.refuses(&relabelled), TokenError::BadSignature));
}

#[test]
fn open_redirects_are_refused_where_a_request_asks_for_one() {
    let outbox: quickstart::Outbox = Arc::new(|_| {});
    let sessions = quickstart::development_sessions().expect("sessions");
    let addr = serve(quickstart::app(sessions, "http://localhost:3000", outbox).expect("app"));
    for redirect in OPEN_REDIRECTS {
        let encoded: String = url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect();
        for via in ["cookie", "parameter"] {
            let reply = http_get(addr, &format!("/login?name=eve&via={via}&redirect={encoded}"), &[]);
            assert_eq!(
                reply.status,
                400,
                "{redirect:?} via {via}: {:?}",
                reply.header("location")
            );
            assert!(reply.header("location").is_none() && reply.header("set-cookie").is_none());
        }
    }
    let allowed = http_get(addr, "/login?name=eve&redirect=%2Fme", &[]);
    assert_eq!(allowed.status, 302, "the same request with a safe target works");
}

#[test]
fn query_tokens_count_only_on_the_landing_route() {
    let sessions = sessions_at(NOW);
    let token = sessions.create(&user("u1")).expect("issues");
    let cache = SessionCache::builder(sessions).clock(|| at(NOW)).build();
    let layer = SessionLayer::builder(cache)
        .landing_route("/landing")
        .build()
        .expect("valid");
    let who = || async {
        auth_runtime::use_session::<AppSession>().map_or("public".to_owned(), |session| format!("{session:?}"))
    };
    let app = Router::new()
        .route("/landing", get(who))
        .route("/other", get(who))
        .layer(layer);
    let addr = serve(app);
    for path in [
        format!("/other?token={token}"),
        format!("/other?access_token={token}"),
        format!("/other?auth-token={token}"),
        format!("/landing/?token={token}"),
        format!("/Landing?token={token}"),
    ] {
        let reply = http_get(addr, &path, &[]);
        assert_ne!(reply.status, 302, "{path}");
        assert!(reply.header("set-cookie").is_none(), "{path}");
        assert!(!reply.body.contains("u1"), "{path}: {}", reply.body);
    }
    // The landing route itself takes it: a token not bound to this browser after a click on its
    // page (a same-origin POST).
    let landing = http_get(addr, &format!("/landing?token={token}"), &[]);
    assert_eq!(landing.status, 200, "asks first");
    assert!(landing.header("set-cookie").is_none());
    let confirmed = common::client::send(
        addr,
        "POST",
        &format!("/landing?token={token}"),
        &[("Sec-Fetch-Site", "same-origin")],
    );
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    assert!(confirmed.header("set-cookie").is_some());
}
