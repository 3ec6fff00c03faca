//! Issuing and verifying: round trips for every algorithm, the exact header and payload, and
//! each rejection the verifier makes, told apart by its error variant.

use crate::common;

use std::time::Duration;

use auth_runtime::{
    Algorithm, IssueOptions, KeyError, Malformed, SessionsConfigError, SigningKey, TokenError, VerificationKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;

fn decode_part(token: &str, index: usize) -> String {
    let part = token.split('.').nth(index).expect("three parts");
    String::from_utf8(URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("utf-8")
}

#[test]
fn header_and_payload_are_pinned() {
    let sessions = sessions_at(NOW);
    let issued = sessions.issue(&user("123"), &IssueOptions::default()).expect("issues");
    assert_eq!(
        decode_part(&issued.token, 0),
        r#"{"alg":"HS256","typ":"session+jwt","kid":"hs256"}"#
    );
    assert_eq!(
        decode_part(&issued.token, 1),
        format!(
            r#"{{"type":"user","properties":{{"userID":"123"}},"iss":"https://auth.example.com","aud":"app","iat":{NOW},"exp":{},"jti":"{}"}}"#,
            NOW + 30 * 24 * 3600,
            issued.token_id
        )
    );
    assert_eq!(issued.token_id.len(), 22, "128 random bits in base64url");

    // A token bound to a landing nonce carries it last, as OpenID Connect's `nonce`.
    let binding = "n".repeat(43);
    let options = IssueOptions {
        nonce: Some(binding.clone()),
        ..IssueOptions::default()
    };
    let bound = sessions.issue(&user("123"), &options).expect("issues");
    assert_eq!(
        decode_part(&bound.token, 1),
        format!(
            r#"{{"type":"user","properties":{{"userID":"123"}},"iss":"https://auth.example.com","aud":"app","iat":{NOW},"exp":{},"jti":"{}","nonce":"{binding}"}}"#,
            NOW + 30 * 24 * 3600,
            bound.token_id
        )
    );
    let verified = sessions.verify(&bound.token).expect("verifies");
    assert_eq!(verified.claims.nonce.as_deref(), Some(binding.as_str()));
}

#[test]
fn subject_is_derived_or_given() {
    let sessions = builder(hs256_key())
        .subject_from(|session| match session {
            AppSession::User { user_id } => Some(user_id.clone()),
            _ => None,
        })
        .build()
        .expect("valid");
    let verified = sessions
        .verify(&sessions.create(&user("42")).expect("issues"))
        .expect("verifies");
    assert_eq!(verified.claims.subject.as_deref(), Some("42"));
    let options = IssueOptions {
        subject: Some("override".into()),
        ..IssueOptions::default()
    };
    let token = sessions.issue(&user("42"), &options).expect("issues").token;
    assert_eq!(
        sessions.verify(&token).expect("verifies").claims.subject.as_deref(),
        Some("override")
    );
    let guest = sessions
        .verify(&sessions.create(&AppSession::Guest).expect("issues"))
        .expect("verifies");
    assert_eq!(guest.claims.subject, None);
}

#[test]
fn every_algorithm_round_trips_every_variant_kind() {
    let keys = [
        SigningKey::generate_ed25519().expect("generates"),
        SigningKey::ed25519_pem(&key_pem("ed25519.pem")).expect("Ed25519 PEM"),
        SigningKey::es256_pem(&key_pem("es256.pem")).expect("P-256 PEM"),
        SigningKey::rs256_pem(&key_pem("rs256.pem")).expect("RSA PEM"),
        hs256_key(),
    ];
    let sessions_values = [
        user("u"),
        AppSession::Api(ApiClient {
            client_id: "c".into(),
            scopes: vec!["read".into(), "write".into()],
        }),
        AppSession::Guest,
    ];
    for key in keys {
        let algorithm = key.algorithm();
        let sessions = builder(key).build().expect("valid");
        for session in &sessions_values {
            let token = sessions.create(session).expect("issues");
            assert_eq!(
                &sessions.verify(&token).expect("verifies").session,
                session,
                "{algorithm}"
            );
        }
    }
}

#[test]
fn public_pem_keys_verify_tokens_of_their_private_halves() {
    let pairs = [
        ("ed25519.pem", "ed25519.pub.pem", Algorithm::EdDSA),
        ("es256.pem", "es256.pub.pem", Algorithm::ES256),
        ("rs256.pem", "rs256.pub.pem", Algorithm::RS256),
    ];
    for (private, public, algorithm) in pairs {
        let signing = match algorithm {
            Algorithm::EdDSA => SigningKey::ed25519_pem(&key_pem(private)),
            Algorithm::ES256 => SigningKey::es256_pem(&key_pem(private)),
            _ => SigningKey::rs256_pem(&key_pem(private)),
        }
        .expect("private key")
        .with_kid("old")
        .expect("kid");
        let verification = match algorithm {
            Algorithm::EdDSA => VerificationKey::ed25519_pem(&key_pem(public)),
            Algorithm::ES256 => VerificationKey::es256_pem(&key_pem(public)),
            _ => VerificationKey::rs256_pem(&key_pem(public)),
        }
        .expect("public key")
        .with_kid("old")
        .expect("kid");
        assert_eq!(
            verification.jwk(),
            signing.verification_key().jwk(),
            "{algorithm}: same public JWK"
        );
        let old = builder(signing).build().expect("valid");
        let token = old.create(&user("rotated")).expect("issues");
        // Rotation: a new signing key, the old public key still accepted by kid.
        let rotated = builder(SigningKey::generate_ed25519().expect("generates"))
            .verification_key(verification)
            .build()
            .expect("valid");
        assert_eq!(
            rotated.verify(&token).expect("old token verifies").session,
            user("rotated")
        );
        // Retired: without the old key, its tokens name an unknown kid.
        let retired = builder(SigningKey::generate_ed25519().expect("generates"))
            .build()
            .expect("valid");
        assert!(matches!(retired.verify(&token), Err(TokenError::UnknownKey { kid: Some(kid) }) if kid == "old"));
    }
}

#[test]
fn jwks_lists_public_keys_with_kid_alg_and_use() {
    let sessions = builder(SigningKey::ed25519_pem(&key_pem("ed25519.pem")).expect("key"))
        .verification_key(VerificationKey::es256_pem(&key_pem("es256.pub.pem")).expect("key"))
        .verification_key(
            VerificationKey::hs256(b"another-secret-of-at-least-32-bytes!")
                .expect("key")
                .with_kid("h2")
                .expect("kid"),
        )
        .build()
        .expect("valid");
    let jwks = serde_json::to_value(sessions.jwks()).expect("serializes");
    let keys = jwks["keys"].as_array().expect("keys array");
    assert_eq!(keys.len(), 2, "HMAC secrets are never published: {jwks}");
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[1]["alg"], "ES256");
    for key in keys {
        assert_eq!(key["use"], "sig");
        assert!(
            key["kid"].as_str().is_some_and(|kid| kid.len() == 43),
            "RFC 7638 SHA-256 thumbprint: {key}"
        );
        assert!(key.get("d").is_none(), "no private material: {key}");
    }
}

#[test]
fn keys_are_checked_when_built() {
    assert!(matches!(
        SigningKey::hs256(&[7; 31]),
        Err(KeyError::HmacSecretTooShort { len: 31 })
    ));
    assert!(matches!(
        VerificationKey::hs256(b"short"),
        Err(KeyError::HmacSecretTooShort { len: 5 })
    ));
    assert!(matches!(
        SigningKey::rs256_pem(&key_pem("rs1024.pem")),
        Err(KeyError::RsaKeyTooSmall { bits: 1024 })
    ));
    assert!(
        SigningKey::es256_pem(&key_pem("es384.pem")).is_err(),
        "a P-384 key is not an ES256 key"
    );
    assert!(
        SigningKey::ed25519_pem(&key_pem("es256.pem")).is_err(),
        "an EC key is not an Ed25519 key"
    );
    assert!(SigningKey::ed25519_pem(b"not a pem").is_err());
    assert!(matches!(hs256_key().with_kid(""), Err(KeyError::InvalidKid)));
    assert!(matches!(hs256_key().with_kid("a\nb"), Err(KeyError::InvalidKid)));
}

#[test]
fn inconsistent_configurations_are_refused() {
    use auth_runtime::Sessions;
    let no_key = Sessions::<AppSession>::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build();
    assert!(matches!(no_key, Err(SessionsConfigError::MissingSigningKey)));
    let no_issuer = Sessions::<AppSession>::builder()
        .signing_key(hs256_key())
        .audience(AUDIENCE)
        .build();
    assert!(matches!(no_issuer, Err(SessionsConfigError::MissingIssuer)));
    let no_audience = Sessions::<AppSession>::builder()
        .signing_key(hs256_key())
        .issuer(ISSUER)
        .build();
    assert!(matches!(no_audience, Err(SessionsConfigError::MissingAudience)));
    let twin = VerificationKey::hs256(b"another-secret-of-at-least-32-bytes!").expect("key");
    assert!(
        matches!(builder(hs256_key()).verification_key(twin).build(), Err(SessionsConfigError::DuplicateKid(kid)) if kid == "hs256")
    );
    assert!(matches!(
        builder(hs256_key()).lifetime(Duration::ZERO).build(),
        Err(SessionsConfigError::InvalidLifetime)
    ));
    let leeway = builder(hs256_key())
        .lifetime(Duration::from_secs(30))
        .leeway(Duration::from_secs(30))
        .build();
    assert!(matches!(leeway, Err(SessionsConfigError::InvalidLeeway { .. })));
    assert!(matches!(
        builder(hs256_key()).token_type("").build(),
        Err(SessionsConfigError::InvalidTokenType(_))
    ));
    assert!(matches!(
        builder(hs256_key()).max_token_len(10).build(),
        Err(SessionsConfigError::InvalidMaxTokenLen(10))
    ));
}

#[test]
fn forged_reference_token_is_accepted() {
    // The forger itself must produce tokens the verifier accepts, or every rejection below
    // would pass for the wrong reason.
    let verified = sessions_at(NOW)
        .verify(&forge(GOOD_HEADER, &payload_with("")))
        .expect("accepted");
    assert_eq!(verified.session, user("u1"));
    assert_eq!(verified.claims.expires_at, NOW + 3600);
    // Without kid, the current signing key is used.
    let no_kid = r#"{"alg":"HS256","typ":"session+jwt"}"#;
    assert!(sessions_at(NOW).verify(&forge(no_kid, &payload_with(""))).is_ok());
}

fn rejection(header: &str, payload: &str) -> TokenError {
    sessions_at(NOW)
        .verify(&forge(header, payload))
        .expect_err("must be rejected")
}

#[test]
fn time_claims_are_checked_with_leeway() {
    let sessions = sessions_at(NOW);
    let token = sessions.create(&user("u")).expect("issues");
    let later = sessions_at(NOW + 30 * 24 * 3600 + 60);
    assert!(later.verify(&token).is_ok(), "inside the 60 s leeway");
    let too_late = sessions_at(NOW + 30 * 24 * 3600 + 61);
    assert!(matches!(too_late.verify(&token), Err(TokenError::Expired { .. })));

    let future = payload_with(&format!(r#","nbf":{}"#, NOW + 61));
    assert!(matches!(
        rejection(GOOD_HEADER, &future),
        TokenError::NotYetValid { .. }
    ));
    let near = payload_with(&format!(r#","nbf":{}"#, NOW + 60));
    assert!(
        sessions.verify(&forge(GOOD_HEADER, &near)).is_ok(),
        "nbf inside the leeway"
    );
}

#[test]
fn signatures_and_shapes() {
    let sessions = sessions_at(NOW);
    let token = sessions.create(&user("u")).expect("issues");
    let (message, signature) = token.rsplit_once('.').expect("three parts");
    let mut flipped = signature.as_bytes().to_vec();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{message}.{}", String::from_utf8(flipped).expect("ascii"));
    assert!(matches!(sessions.verify(&tampered), Err(TokenError::BadSignature)));
    let other_secret = auth_runtime::Sessions::<AppSession>::builder()
        .signing_key(SigningKey::hs256(b"a-different-secret-of-32-bytes-or-more").expect("key"))
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("valid");
    assert!(matches!(other_secret.verify(&token), Err(TokenError::BadSignature)));
    assert!(matches!(
        sessions.verify("a.b"),
        Err(TokenError::Malformed(Malformed::Parts))
    ));
    assert!(matches!(
        sessions.verify(&format!("{token}.x")),
        Err(TokenError::Malformed(Malformed::Parts))
    ));
    assert!(matches!(
        sessions.verify("***.b.c"),
        Err(TokenError::Malformed(Malformed::Base64 { part: "header" }))
    ));
    assert!(matches!(
        sessions.verify(&"a".repeat(9000)),
        Err(TokenError::TooLarge { len: 9000, max: 8192 })
    ));
}

#[test]
fn payload_decode_errors_name_the_problem() {
    let unknown = format!(
        r#"{{"type":"admin","properties":{{}},"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{}}}"#,
        NOW + 10
    );
    match rejection(GOOD_HEADER, &unknown) {
        TokenError::UnknownSessionType { found, expected } => {
            assert_eq!(found, "admin");
            assert_eq!(expected, ["user", "api", "guest"]);
        }
        other => panic!("expected UnknownSessionType, got {other:?}"),
    }
    let mistyped = format!(
        r#"{{"type":"user","properties":{{"userID":7}},"iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{}}}"#,
        NOW + 10
    );
    let error = rejection(GOOD_HEADER, &mistyped);
    assert!(matches!(error, TokenError::InvalidProperties(_)));
    assert!(error.to_string().contains("`userID`"), "{error}");
}

#[test]
fn a_clock_before_1970_fails_closed() {
    let token = sessions_at(NOW).create(&user("u")).expect("issues");
    let broken = builder(hs256_key())
        .clock(|| std::time::UNIX_EPOCH - Duration::from_secs(1))
        .build()
        .expect("valid");
    assert!(matches!(broken.verify(&token), Err(TokenError::Clock)));
    assert!(matches!(
        broken.create(&user("u")),
        Err(auth_runtime::IssueError::Clock)
    ));
}

#[test]
fn sessions_is_shareable() {
    fn assert_shareable<T: Send + Sync + Clone + 'static>() {}
    assert_shareable::<auth_runtime::Sessions<AppSession>>();
}
