//! Every event the crate emits while a person signs in (link, code with a wrong one first,
//! landing, logout, a stale cookie) and while attacks of the security matrix are refused, captured
//! by a subscriber of our own: the decisions are there with their stable targets and fields, and
//! no token, code, magic link, cookie value or flow state appears in any field or message.

use std::fmt::Write as _;

use base64::Engine;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use auth_examples::quickstart_app as quickstart;
use auth_runtime::store::MemoryStore;
use common::client::{Reply, get, path_of, post_form, redeem_link, send};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

use crate::common;

/// One captured event: its target, level, and every field (the message included) as text.
#[derive(Debug, Clone)]
struct Captured {
    target: String,
    level: tracing::Level,
    fields: String,
}

#[derive(Default)]
struct Fields(String);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, "{}={value} ", field.name());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

/// Records every event of every thread (the servers run on their own).
struct Capture(Arc<Mutex<Vec<Captured>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _context: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let metadata = event.metadata();
        self.0.lock().unwrap().push(Captured {
            target: metadata.target().to_owned(),
            level: *metadata.level(),
            fields: fields.0,
        });
    }
}

/// The process-wide capture (a global subscriber can be set once per process).
fn captured() -> &'static Arc<Mutex<Vec<Captured>>> {
    static CAPTURED: OnceLock<Arc<Mutex<Vec<Captured>>>> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let events = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry().with(Capture(Arc::clone(&events)));
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        events
    })
}

type Sent = Arc<Mutex<Vec<quickstart::Message>>>;

/// Every secret a run handed out, to look for in the events.
#[derive(Default)]
struct Secrets {
    texts: Vec<String>,
    codes: Vec<String>,
}

impl Secrets {
    fn cookie_values(&mut self, reply: &Reply) {
        for pair in reply.set_cookies() {
            if let Some((_, value)) = pair.split_once('=')
                && value.len() >= 16
            {
                self.texts.push(value.to_owned());
            }
        }
    }
}

fn sign_in_and_attack(addr: SocketAddr, sent: &Sent, secrets: &mut Secrets) {
    // A magic link: asked for, its page, redeemed.
    let asked = post_form(addr, "/auth/link/authorize", &[], &[("email", "ada@example.com")]);
    assert_eq!(asked.status, 200);
    secrets.cookie_values(&asked);
    let link = match sent.lock().unwrap().last() {
        Some(quickstart::Message::Link { url, .. }) => url.clone(),
        other => panic!("no link: {other:?}"),
    };
    secrets.texts.push(link.clone());
    let link_token = url::Url::parse(&link)
        .expect("URL")
        .query_pairs()
        .find(|(name, _)| name == "token")
        .map(|(_, token)| token.into_owned())
        .expect("a token");
    secrets.texts.push(link_token);
    assert_eq!(get(addr, &path_of(&link), &[]).status, 200);
    let redeemed = redeem_link(addr, &path_of(&link), &[]);
    assert_eq!(redeemed.status, 302);
    secrets.cookie_values(&redeemed);
    let session = format!("auth-token={}", redeemed.cookie("auth-token").expect("signed in"));
    assert_eq!(get(addr, "/me", &[("Cookie", &session)]).status, 200);
    assert_eq!(get(addr, "/me", &[("Cookie", &session)]).status, 200);

    // A code: a wrong one first, then the right one.
    let asked = post_form(addr, "/auth/code/authorize", &[], &[("email", "bob@example.com")]);
    secrets.cookie_values(&asked);
    let flow = format!(
        "auth-flow-code={}",
        asked.cookie("auth-flow-code").expect("flow cookie")
    );
    let code = match sent.lock().unwrap().last() {
        Some(quickstart::Message::Code { code, .. }) => code.clone(),
        other => panic!("no code: {other:?}"),
    };
    secrets.codes.push(code.clone());
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let same_site = ("Sec-Fetch-Site", "same-origin");
    assert_eq!(
        get(addr, "/auth/code/callback", &[("Cookie", &flow)]).status,
        405,
        "codes by POST only"
    );
    let refused = post_form(
        addr,
        "/auth/code/callback",
        &[("Cookie", &flow), same_site],
        &[("code", wrong)],
    );
    assert_eq!(refused.status, 401);
    let accepted = post_form(
        addr,
        "/auth/code/callback",
        &[("Cookie", &flow), same_site],
        &[("code", &code)],
    );
    assert_eq!(accepted.status, 302, "{}", accepted.body);
    secrets.cookie_values(&accepted);

    // The landing route with a token of the developer shortcut, bound and not.
    let shortcut = get(addr, "/login?name=carol&via=parameter", &[]);
    secrets.cookie_values(&shortcut);
    let location = shortcut.header("location").expect("landing URL").to_owned();
    secrets.texts.push(location.trim_start_matches("/me?token=").to_owned());
    assert_eq!(get(addr, &location, &[]).status, 200, "asks");

    // The security matrix's refusals, each through the layer: another site's POST with the
    // cookie, a tampered token, two session cookies, a malformed Bearer, an unknown key.
    let cross = send(
        addr,
        "POST",
        "/logout",
        &[("Cookie", &session), ("Origin", "https://evil.example")],
    );
    assert_eq!(cross.status, 403);
    let token = session.trim_start_matches("auth-token=");
    let signed_part = token.rsplit_once('.').expect("three parts").0;
    let tampered = format!(
        "{signed_part}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 64])
    );
    secrets.texts.push(tampered.clone());
    assert_eq!(
        get(addr, "/me", &[("Authorization", &format!("Bearer {tampered}"))]).status,
        401
    );
    let tossed = format!("{session}; auth-token=other");
    assert_eq!(get(addr, "/me", &[("Cookie", &tossed)]).status, 401);
    assert_eq!(get(addr, "/me", &[("Authorization", "Bearer not a token")]).status, 401);
    let stranger = common::forge(r#"{"alg":"HS256","typ":"session+jwt","kid":"k<script>"}"#, "{}");
    secrets.texts.push(stranger.clone());
    assert_eq!(
        get(addr, "/me", &[("Authorization", &format!("Bearer {stranger}"))]).status,
        401
    );

    // Log out, then the revoked cookie again.
    let logout = send(addr, "POST", "/logout", &[("Cookie", &session), same_site]);
    assert_eq!(logout.status, 302);
    assert_eq!(get(addr, "/me", &[("Cookie", &session)]).status, 401);
}

#[test]
fn events_tell_every_decision_and_never_a_secret() {
    let events = captured();
    let sent: Sent = Arc::default();
    let recorder = Arc::clone(&sent);
    let outbox: quickstart::Outbox = Arc::new(move |message| recorder.lock().unwrap().push(message));
    let sessions = quickstart::development_sessions().expect("sessions");
    let store = Arc::new(MemoryStore::new());
    let app = quickstart::app_with_store(sessions, "http://localhost:3000", outbox, store).expect("app");
    let addr = common::client::serve(app);
    let mut secrets = Secrets::default();
    sign_in_and_attack(addr, &sent, &mut secrets);

    let events = events.lock().unwrap().clone();
    let ours: Vec<&Captured> = events
        .iter()
        .filter(|event| event.target.starts_with("auth_runtime::"))
        .collect();
    let all: String = ours
        .iter()
        .map(|event| format!("{} {} {}\n", event.level, event.target, event.fields))
        .collect();

    for secret in &secrets.texts {
        assert!(
            !all.contains(secret.as_str()),
            "a secret in the events: {secret}\n{all}"
        );
    }
    let numbers: Vec<&str> = all.split(|c: char| !c.is_ascii_digit()).collect();
    for code in &secrets.codes {
        assert!(!numbers.contains(&code.as_str()), "a code in the events: {code}\n{all}");
    }
    // The sign-in flows never name the person (the session events carry the subject, which the
    // quickstart makes the email address: the app's choice).
    let flows: String = ours
        .iter()
        .filter(|event| event.target == "auth_runtime::sign_in")
        .map(|event| event.fields.clone())
        .collect();
    assert!(
        !flows.contains("@example.com"),
        "an email address in a flow event: {flows}"
    );

    // The decisions are there, under their targets, with their fields.
    let has = |target: &str, needles: &[&str]| {
        ours.iter()
            .any(|event| event.target == target && needles.iter().all(|needle| event.fields.contains(needle)))
    };
    let expected: [(&str, &[&str]); 10] = [
        (
            "auth_runtime::session",
            &[
                "message=session accepted",
                "source=cookie",
                "cache=miss",
                "session_type=user",
            ],
        ),
        ("auth_runtime::session", &["message=session accepted", "cache=hit"]),
        (
            "auth_runtime::session",
            &["message=token refused", "reason=bad_signature", "source=bearer"],
        ),
        (
            "auth_runtime::session",
            &["message=token refused", "reason=unknown_key", "kid=k<script>"],
        ),
        (
            "auth_runtime::session",
            &["message=credentials refused", "reason=multiple_cookies"],
        ),
        (
            "auth_runtime::session",
            &[
                "message=cross-site request with the session cookie refused",
                "origin=https://evil.example",
            ],
        ),
        ("auth_runtime::session", &["confirmation asked"]),
        ("auth_runtime::sign_in", &["message=signed in", "provider=code"]),
        (
            "auth_runtime::sign_in",
            &[
                "message=sign-in step answered",
                "provider=code",
                "step=callback",
                "status=401",
            ],
        ),
        (
            "auth_runtime::sign_in",
            &["message=sign-in step refused", "error=use_post", "step=callback"],
        ),
    ];
    let missing: Vec<_> = expected
        .iter()
        .filter(|(target, needles)| !has(target, needles))
        .collect();
    assert!(missing.is_empty(), "missing events {missing:#?}\nin:\n{all}");
    assert!(has("auth_runtime::revocation", &["message=session revoked"]), "{all}");
    // INFO is quiet: per-request decisions are DEBUG.
    assert!(
        ours.iter()
            .filter(|event| event.fields.contains("session accepted") || event.fields.contains("token refused"))
            .all(|event| event.level == tracing::Level::DEBUG),
        "{all}"
    );
}
