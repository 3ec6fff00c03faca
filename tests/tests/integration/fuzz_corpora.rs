//! Replays the fuzz targets' committed inputs (`tests/fuzz/seeds/<target>/`, and any crash
//! reproducers saved in `tests/fuzz/regressions/<target>/`) on every `cargo test`, without the
//! fuzzer: a fixed crash stays fixed, and the harness's oracles are checked on known inputs.

#[allow(dead_code, reason = "cargo-fuzz uses all of it; the replay uses the entry points")]
#[path = "../../fuzz/src/lib.rs"]
mod targets;

use std::path::Path;

/// Every committed input of `target`, by file name.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = Vec::new();
    for folder in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(folder).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("readable folder").path();
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            inputs.push((name, std::fs::read(&path).expect("readable input")));
        }
    }
    inputs.sort();
    assert!(!inputs.is_empty(), "no committed inputs for {target}");
    inputs
}

#[test]
fn request_path_inputs() {
    for (name, data) in inputs("request_path") {
        let signed_in = targets::request_path(&data);
        // Two Authorization headers, an expired token, a cross-site POST, the /admin section
        // without a session, a dot segment under a skip pattern: no session.
        let expected = matches!(name.as_str(), "bearer" | "cookie" | "admin_bearer");
        assert_eq!(signed_in, expected, "{name}");
    }
}

#[test]
fn session_json_inputs() {
    for (_, data) in inputs("session_json") {
        targets::session_json(&data);
    }
}

#[test]
fn redirect_inputs() {
    for (_, data) in inputs("redirect") {
        targets::redirect(&data);
    }
}

#[test]
fn sign_in_flow_inputs() {
    for (name, data) in inputs("sign_in_flow") {
        let status = targets::sign_in_flow(&data);
        let expected = match name.as_str() {
            "link_authorize" | "code_authorize" | "code_authorize_landing" | "list" => 200,
            "link_get" => 400,
            // Login CSRF: a flow whose account the requester names starts only with a POST.
            "link_authorize_get" => 405,
            // An identity given twice is refused before it is counted.
            "email_twice" => 400,
            "code_cross_site" => 403,
            // One password flow, step by step (its flow cookie carried from the first input):
            // the page; a wrong password; a registration (the page asking for the code); a
            // wrong code; a page by GET; the seeded account's password (the harness's
            // `on_success` answers 200); the right password from another site.
            "password_1_authorize" | "password_3_register" | "password_5_page" | "password_6_sign_in" => 200,
            "password_2_wrong" | "password_4_verify" => 401,
            "password_7_cross_site" => 403,
            // Found by the fuzzer: a second `Sec-Fetch-Site` that is not same-origin.
            "two-sec-fetch-site-headers" => 403,
            // Found by the fuzzer: `Sec-Fetch-Site: same-origin` beside an `Origin` that is not ours.
            "empty-origin-beside-same-origin-site" => 403,
            // Found by the fuzzer: another site's POST with a malformed `landing_nonce` was read
            // (400) before it was refused as another site's (403).
            "malformed-landing-nonce-in-a-cross-site-post" => 403,
            other => panic!("an input the test does not know: {other}"),
        };
        assert_eq!(status, expected, "{name}");
    }
}

#[test]
fn authorization_server_inputs() {
    for (name, data) in inputs("authorization_server") {
        let status = targets::authorization_server(&data);
        let expected = match name.as_str() {
            // The provider picker.
            "authorize" => 200,
            // Sent back to the registered redirect URI with `unsupported_response_type` and
            // `invalid_request`.
            "implicit_refused" | "loopback_plain" => 302,
            // A redirect URI with userinfo is not registered: a page, never a redirect.
            "userinfo_redirect" => 400,
            "token_unknown_code" => 400,
            "token_wrong_secret" => 401,
            // A preflight from an unregistered origin: answered without CORS headers.
            "preflight_foreign" => 200,
            other => panic!("an input the test does not know: {other}"),
        };
        assert_eq!(status, expected, "{name}");
    }
}
