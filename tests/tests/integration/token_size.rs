//! How long a session token is: the figures BENCHMARKS.md reports, pinned so they stay true.
//!
//! The session `{type: "user", properties: {userID: "123"}}` as the quickstart issues it
//! (its issuer and audience, an Ed25519 key), against the same header and payload signed RS512
//! with a 2048-bit and a 3072-bit RSA key.

use crate::common;

use auth_examples::quickstart::AppSession;
use auth_runtime::{Sessions, SigningKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{at, key_pem};

#[test]
fn an_eddsa_session_token_against_the_same_session_signed_rs512() {
    let sessions = Sessions::<AppSession>::builder()
        .signing_key(SigningKey::ed25519_pem(&key_pem("ed25519.pem")).expect("Ed25519 key"))
        .issuer("http://localhost:3000")
        .audience("quickstart")
        .clock(|| at(common::NOW))
        .build()
        .expect("valid configuration");
    let session = AppSession::User {
        user_id: "123".to_owned(),
    };
    let eddsa = sessions.create(&session).expect("signs");
    let (payload, _) = eddsa
        .split_once('.')
        .and_then(|(_, rest)| rest.rsplit_once('.'))
        .expect("three parts");

    let rs512 = |pem: &str| {
        let private = key_pem(pem);
        // The RSA key's own thumbprint as kid, as our keys are named.
        let kid = SigningKey::rs256_pem(&private).expect("RSA key").kid().to_owned();
        let header = format!(r#"{{"alg":"RS512","typ":"session+jwt","kid":"{kid}"}}"#);
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(&private).expect("RSA key");
        let message = format!("{}.{payload}", URL_SAFE_NO_PAD.encode(header));
        common::sign_text_with(&message, &key, jsonwebtoken::Algorithm::RS512).len()
    };
    let (rs512_2048, rs512_3072) = (rs512("rs256.pem"), rs512("rs3072.pem"));

    // Header 116 characters (kid: a 43-character thumbprint), payload 212, signature 86 / 342 / 512.
    assert_eq!(eddsa.len(), 416, "{eddsa}");
    assert_eq!(rs512_2048, 672);
    assert_eq!(rs512_3072, 842);
    // The target, at most half the RS512 length, holds against a 3072-bit key but not a 2048-bit
    // one (0.62): the header and claims alone are 330 characters (see BENCHMARKS.md).
    assert!(eddsa.len() * 2 <= rs512_3072);
    assert!(eddsa.len() * 2 > rs512_2048);
}
