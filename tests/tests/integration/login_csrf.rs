//! Login CSRF through the quickstart over HTTP: another site must not be able to sign a browser in
//! to the attacker's account. The attack this pins (issue "sign-in that cannot be bent, round
//! two", item 1): a cross-site navigation of the victim's browser to
//! `/auth/link/authorize?email=<attacker>` used to answer 200 and set the link flow cookie
//! (`SameSite=Lax` travels on top-level GETs); the link mailed to the attacker, opened in the
//! victim's browser, then saw "the same browser" and submitted itself. Now a flow whose account
//! the requester names starts only with a same-origin POST, so a link continues on its own only in
//! a browser this site started it in, and everywhere else asks on a page that names the account.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use auth_examples::quickstart_app as quickstart;
use auth_runtime::store::MemoryStore;
use common::client::{Reply, get, path_of, post_form};

use crate::common;

type Sent = Arc<Mutex<Vec<quickstart::Message>>>;

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const ATTACKER: &str = "mallory@evil.example";

fn links_sent(sent: &Sent) -> Vec<String> {
    sent.lock()
        .unwrap()
        .iter()
        .filter_map(|message| match message {
            quickstart::Message::Link { url, .. } => Some(path_of(url)),
            quickstart::Message::Code { .. } | quickstart::Message::Password(_) => None,
        })
        .collect()
}

/// A top-level navigation from another site, as a browser sends it.
fn cross_site_navigation(addr: SocketAddr, path: &str, cookie: Option<&str>) -> Reply {
    let mut headers = vec![
        ("Accept", BROWSER_ACCEPT),
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Mode", "navigate"),
    ];
    if let Some(cookie) = cookie {
        headers.push(("Cookie", cookie));
    }
    get(addr, path, &headers)
}

fn flow_cookie(reply: &Reply, provider: &str) -> Option<String> {
    let name = format!("auth-flow-{provider}");
    reply
        .cookie(&name)
        .filter(|value| !value.is_empty())
        .map(|value| format!("{name}={value}"))
}

fn submits_itself(page: &Reply) -> bool {
    page.body.contains("<script>")
}

/// The whole attack, step by step: it ends on a page that names the attacker's account and asks,
/// and the victim's browser holds no session.
#[test]
fn another_site_cannot_sign_a_browser_in_to_the_attackers_account() {
    let (addr, sent) = crate::limits::quickstart_on(Arc::new(MemoryStore::new()));

    // 1. The attacker's page navigates the victim's browser to the authorize step by GET.
    let started = cross_site_navigation(
        addr,
        &format!("/auth/link/authorize?email={}", ATTACKER.replace('@', "%40")),
        None,
    );
    assert_eq!(started.status, 405, "{}", started.body);
    assert_eq!(started.header("allow"), Some("POST"));
    let planted = flow_cookie(&started, "link");
    assert_eq!(planted, None, "a GET starts no flow in the victim's browser");
    assert!(links_sent(&sent).is_empty(), "and mails nothing");

    // ... or by a form POST from its own origin: refused as another site's.
    let posted = post_form(
        addr,
        "/auth/link/authorize",
        &[("Origin", "https://evil.example"), ("Sec-Fetch-Site", "cross-site")],
        &[("email", ATTACKER)],
    );
    assert_eq!(posted.status, 403, "{}", posted.body);
    assert_eq!(flow_cookie(&posted, "link"), None);

    // 2. The attacker asks for a link to their own address, in their own browser.
    let asked = post_form(
        addr,
        "/auth/link/authorize",
        &[("Sec-Fetch-Site", "same-origin")],
        &[("email", ATTACKER)],
    );
    assert_eq!(asked.status, 200, "{}", asked.body);
    let link = links_sent(&sent).pop().expect("the attacker's link");

    // 3. The attacker navigates the victim's browser to that link (with whatever flow cookie step
    //    1 could plant): the page names the attacker's account and waits for a click.
    let opened = cross_site_navigation(addr, &link, planted.as_deref());
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert!(opened.body.contains(ATTACKER), "{}", opened.body);
    assert!(opened.body.contains("another browser"), "{}", opened.body);
    assert!(!submits_itself(&opened), "{}", opened.body);
    assert_eq!(opened.cookie("auth-token"), None, "no session is set");
}

/// The same for codes: another site's navigation cannot start a code flow whose code the attacker
/// receives.
#[test]
fn another_site_cannot_start_a_code_flow() {
    let (addr, sent) = crate::limits::quickstart_on(Arc::new(MemoryStore::new()));
    let started = cross_site_navigation(
        addr,
        &format!("/auth/code/authorize?email={}", ATTACKER.replace('@', "%40")),
        None,
    );
    assert_eq!(started.status, 405, "{}", started.body);
    assert_eq!(flow_cookie(&started, "code"), None);
    assert!(sent.lock().unwrap().is_empty(), "no code is sent");
}

/// A refused start ends nothing: a flow the person started on this site keeps its cookie when
/// another site navigates them to the authorize step.
#[test]
fn a_refused_start_leaves_the_persons_flow_alone() {
    let (addr, _sent) = crate::limits::quickstart_on(Arc::new(MemoryStore::new()));
    let started = cross_site_navigation(addr, "/auth/code/authorize?email=x%40evil.example", None);
    assert_eq!(started.status, 405);
    assert_eq!(started.cookie("auth-flow-code"), None, "not even cleared");
}

/// The person's own flow, from the quickstart's form (a same-origin POST): the link's page goes
/// on by itself in that browser, and only there.
#[test]
fn the_sites_own_form_still_continues_on_its_own() {
    let (addr, sent) = crate::limits::quickstart_on(Arc::new(MemoryStore::new()));
    let asked = post_form(
        addr,
        "/auth/link/authorize",
        &[("Sec-Fetch-Site", "same-origin"), ("Origin", "http://localhost:3000")],
        &[("email", "ada@example.com")],
    );
    assert_eq!(asked.status, 200, "{}", asked.body);
    let flow = flow_cookie(&asked, "link").expect("the flow is bound to this browser");
    let link = links_sent(&sent).pop().expect("a link");
    let here = get(
        addr,
        &link,
        &[
            ("Cookie", &flow),
            ("Accept", BROWSER_ACCEPT),
            ("Sec-Fetch-Site", "none"),
        ],
    );
    assert!(submits_itself(&here), "{}", here.body);
    let elsewhere = get(addr, &link, &[("Accept", BROWSER_ACCEPT)]);
    assert!(!submits_itself(&elsewhere), "{}", elsewhere.body);
    assert!(elsewhere.body.contains("ada@example.com"));
}
