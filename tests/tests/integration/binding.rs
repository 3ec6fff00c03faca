//! Sign-in bound to the browser that started it, through the quickstart over HTTP: a GET never
//! spends a link or a code, a link opened in another browser asks before it signs anyone in, and
//! no other site can complete a flow or plant a session.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use auth_examples::quickstart_app as quickstart;
use auth_runtime::store::MemoryStore;
use common::client::{Reply, get, path_of, post_form, redeem_link, send};

use crate::common;

type Sent = Arc<Mutex<Vec<quickstart::Message>>>;

fn quickstart_app() -> (SocketAddr, Sent) {
    crate::limits::quickstart_on(Arc::new(MemoryStore::new()))
}

/// Asks for a link from a browser: the link's path, and that browser's flow cookie.
fn request_link(addr: SocketAddr, sent: &Sent, email: &str) -> (String, String) {
    let requested = post_form(addr, "/auth/link/authorize", &[], &[("email", email)]);
    assert_eq!(requested.status, 200, "{}", requested.body);
    let flow = format!(
        "auth-flow-link={}",
        requested
            .cookie("auth-flow-link")
            .expect("the link is bound to this browser")
    );
    let link = match sent.lock().unwrap().last() {
        Some(quickstart::Message::Link { url, .. }) => path_of(url),
        other => panic!("no link sent: {other:?}"),
    };
    (link, flow)
}

fn signed_in(reply: &Reply) -> bool {
    reply.cookie("auth-token").is_some_and(|token| !token.is_empty())
}

/// Mail scanners fetch links before the person does: any number of GETs, and the link still
/// works once for the person.
#[test]
fn a_get_never_spends_a_magic_link() {
    let (addr, sent) = quickstart_app();
    let (link, _) = request_link(addr, &sent, "ada@example.com");
    for _ in 0..3 {
        let scanned = get(addr, &link, &[]);
        assert_eq!(scanned.status, 200, "{}", scanned.body);
        assert!(!signed_in(&scanned));
    }
    let redeemed = redeem_link(addr, &link, &[]);
    assert_eq!(redeemed.status, 302, "{}", redeemed.body);
    assert!(signed_in(&redeemed));
}

/// In the browser that asked, the link's page goes on by itself; in another (a phone, or a
/// victim an attacker sent their own link to) it asks "Sign in as ...?" and waits for a click.
#[test]
fn a_link_opened_in_another_browser_asks_first() {
    let (addr, sent) = quickstart_app();
    let (link, flow) = request_link(addr, &sent, "ada@example.com");

    let same = get(addr, &link, &[("Cookie", &flow)]);
    assert_eq!(same.status, 200);
    assert!(
        same.body.contains("Signing you in as <b>ada@example.com</b>"),
        "{}",
        same.body
    );
    assert!(same.body.contains("document.forms[0].submit()"), "{}", same.body);

    let other = get(addr, &link, &[]);
    assert_eq!(other.status, 200);
    // Never framed: another site cannot lay a decoy over the button (clickjacking).
    assert_eq!(other.header("content-security-policy"), Some("frame-ancestors 'none'"));
    assert_eq!(other.header("x-frame-options"), Some("DENY"));
    assert!(
        other.body.contains("Sign in as <b>ada@example.com</b>?"),
        "{}",
        other.body
    );
    assert!(
        !other.body.contains("<script"),
        "another browser must click: {}",
        other.body
    );
    let wrong_browser = get(addr, &link, &[("Cookie", "auth-flow-link=someone-elses-nonce")]);
    assert!(!wrong_browser.body.contains("<script"), "{}", wrong_browser.body);

    let redeemed = redeem_link(addr, &link, &[("Cookie", &flow)]);
    assert_eq!(redeemed.status, 302);
    assert!(signed_in(&redeemed));
    assert_eq!(redeemed.cookie("auth-flow-link"), Some(""), "the flow is over");
}

/// Another site can neither redeem a link nor submit a code: its POSTs carry its own `Origin`.
#[test]
fn another_site_cannot_complete_a_sign_in() {
    let (addr, sent) = quickstart_app();
    let (link, _) = request_link(addr, &sent, "ada@example.com");
    let token = link.split("token=").nth(1).expect("token");
    for header in [("Origin", "https://evil.example"), ("Sec-Fetch-Site", "cross-site")] {
        let forged = post_form(addr, "/auth/link/callback", &[header], &[("token", token)]);
        assert_eq!(forged.status, 403, "{}", forged.body);
        assert!(!signed_in(&forged));
    }
    let own_origin = post_form(
        addr,
        "/auth/link/callback",
        &[("Origin", "http://localhost:3000")],
        &[("token", token)],
    );
    assert_eq!(own_origin.status, 302, "the site's own origin: {}", own_origin.body);

    let requested = post_form(addr, "/auth/code/authorize", &[], &[("email", "bob@example.com")]);
    let flow = format!("auth-flow-code={}", requested.cookie("auth-flow-code").expect("flow"));
    let code = match sent.lock().unwrap().last() {
        Some(quickstart::Message::Code { code, .. }) => code.clone(),
        other => panic!("no code sent: {other:?}"),
    };
    let forged = post_form(
        addr,
        "/auth/code/callback",
        &[("Cookie", &flow), ("Origin", "https://evil.example")],
        &[("code", &code)],
    );
    assert_eq!(forged.status, 403);
    // A cross-site top-level navigation carries the Lax flow cookie, but a GET submits nothing.
    let navigation = get(addr, &format!("/auth/code/callback?code={code}"), &[("Cookie", &flow)]);
    assert_eq!(navigation.status, 405, "{}", navigation.body);
    assert!(!signed_in(&navigation));
    // Neither spent the code: the person's own submission still works.
    let own = post_form(
        addr,
        "/auth/code/callback",
        &[("Cookie", &flow), ("Sec-Fetch-Site", "same-origin")],
        &[("code", &code)],
    );
    assert_eq!(own.status, 302, "{}", own.body);
    assert!(signed_in(&own));
}

/// `?token=` never turns into a cookie for another site: a form it POSTs to the landing route is
/// refused, and a navigation it starts with a token this browser did not ask for only asks.
#[test]
fn another_site_cannot_plant_a_session_through_the_landing_route() {
    let (addr, _) = quickstart_app();
    let minted = get(addr, "/token?name=mallory", &[]);
    assert_eq!(minted.status, 200);
    let token = minted.body;
    let landing = format!("/me?token={token}");
    let posted = send(addr, "POST", &landing, &[("Origin", "https://evil.example")]);
    assert_eq!(posted.status, 403, "{}", posted.body);
    assert!(!signed_in(&posted));
    let navigated = get(addr, &landing, &[("Accept", "text/html")]);
    assert_eq!(navigated.status, 200);
    assert!(!signed_in(&navigated), "a navigation only asks");
    assert!(
        navigated.body.contains("Continue signing in as <b>mallory</b>?"),
        "{}",
        navigated.body
    );
    let clicked = send(addr, "POST", &landing, &[("Sec-Fetch-Site", "same-origin")]);
    assert_eq!(clicked.status, 303);
    assert!(signed_in(&clicked), "the person's own click on the page signs in");
}
