//! The authorization server against the real clients: OpenAuth's own `createClient` from
//! `@openauthjs/openauth` 0.4.3 (tests/issuers' npm lock file) signs a person in through the
//! issuer example's app, exchanges, verifies and refreshes; and headless Chromium runs the
//! example's front end on another origin, which does the same PKCE dance with `fetch` and CORS.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use auth_examples::issuer_app::{FRONT_END_CLIENT, front_end, front_end_client};
use auth_runtime::providers::authorization::{Client, Clients};

use crate::authorization::{Issuer, WEB, WEB_REDIRECT};
use crate::common::browser::{Driver, clear_screenshots};
use crate::common::client::{Browser, serve_later};

#[test]
#[ignore = "needs Node.js (OpenAuth's client, from tests/issuers' npm lock file)"]
fn openauths_client_signs_a_person_in_exchanges_verifies_and_refreshes() {
    crate::common::tools::require("Node.js", "node", &["--version"]);
    let dir = crate::common::tools::dir("issuers");
    crate::common::tools::npm_install(&dir, "@openauthjs/openauth");
    let issuer = Issuer::with_clients(Clients::new().client(Client::public(WEB).redirect_uri(WEB_REDIRECT)));
    let mut node = Command::new("node")
        .arg("openauth-authorize.mjs")
        .args([&issuer.issuer(), WEB, WEB_REDIRECT])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(node.stdout.take().expect("stdout")).lines();
    let mut next_line = || lines.next().and_then(Result::ok).unwrap_or_default();
    let first: serde_json::Value = serde_json::from_str(&next_line()).expect("the authorize URL as JSON");
    let url = first["url"].as_str().expect("a URL");
    assert!(url.starts_with(&format!("{}/authorize?", issuer.issuer())), "{url}");

    // The person signs in through what OpenAuth's client sent them to.
    let mut browser = Browser::default();
    let done = issuer.sign_in(&mut browser, url, "ada@example.com");
    assert_eq!(done.status, 302, "{}", done.body);
    let back = done.header("location").expect("back to the client").to_owned();
    writeln!(node.stdin.take().expect("stdin"), "{back}").expect("the redirect reaches node");

    let line = next_line();
    let status = node.wait().expect("node ends");
    let mut stderr = String::new();
    if let Some(mut pipe) = node.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    assert!(status.success(), "node failed: {line}\n{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|error| panic!("no report from node ({error}): {line}\n{stderr}"));
    let ada = serde_json::json!({ "type": "user", "properties": { "userID": "ada@example.com" } });
    assert_eq!(report["stateMatches"], true, "{report}");
    assert_eq!(report["iss"], issuer.issuer(), "{report}");
    assert_eq!(report["exchanged"]["err"], false, "{report}");
    assert_eq!(report["verified"]["subject"], ada, "{report}");
    assert_eq!(report["verified"]["aud"], WEB, "{report}");
    assert_eq!(report["refreshed"]["err"], false, "{report}");
    assert_eq!(report["refreshed"]["changed"], true, "{report}");
    assert_eq!(report["verifiedRefreshed"]["subject"], ada, "{report}");
    assert_eq!(report["replayed"]["err"], "InvalidAuthorizationCodeError", "{report}");
}

/// The example's front end on `http://127.0.0.1:<port>` (another site than the issuer on
/// `http://localhost:<port>`) signs in through the issuer in Chromium: PKCE with WebCrypto, the
/// code exchanged with a cross-origin `fetch` (CORS), the tokens refreshed the same way.
#[test]
#[ignore = "needs chromium and chromium-driver (apt install chromium chromium-driver)"]
fn a_front_end_on_another_origin_signs_in_through_the_issuer_in_chromium() {
    let test = "authorization_front_end";
    clear_screenshots(test);
    let (front_addr, start_front) = serve_later();
    let front_url = format!("http://127.0.0.1:{}", front_addr.port());
    let issuer = Issuer::on_host("localhost", Clients::new().client(front_end_client(&front_url)));
    start_front(front_end(&issuer.issuer(), &front_url));
    let driver = Driver::start();
    crate::common::runtime().block_on(async {
        let mut browser = driver.browser(test, "front").await;
        browser.open(&format!("{front_url}/"), "front-end").await;
        browser.wait_for_text("You are not signed in.", "signed-out").await;
        browser.click("Sign in").await;
        browser.wait_for_text("to continue to front-end", "picker").await;
        browser.fill("Email", "ada@example.com").await;
        browser.click("Continue with code").await;
        browser.wait_for_text("Enter your code", "code-form").await;
        let code = issuer.next_code();
        browser.fill("Code", &code).await;
        browser.click("Sign in").await;
        browser
            .wait_for_text("Signed in as ada@example.com.", "signed-in")
            .await;
        assert!(browser.url().await.starts_with(&front_url), "back on the front end");
        let details = browser.text().await;
        assert!(
            details.contains(&format!("\"aud\": \"{FRONT_END_CLIENT}\"")),
            "{details}"
        );
        browser.click("Refresh the tokens").await;
        browser
            .wait_for_text("Refreshed: signed in as ada@example.com.", "refreshed")
            .await;
        browser.close().await;
    });
}
