//! The password provider over HTTP (`providers::password::PasswordProvider`): register with a
//! code, sign in, reset, change; the answers that must not tell whether an address has an
//! account (byte for byte, and the time of a sign-in as a ratio of medians); the policy; the
//! rehash of an old hash; and the revocation of the account's other sessions after a reset or a
//! change.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_runtime::password::{Credential, MemoryPasswordStore, PasswordStore, Passwords};
use auth_runtime::providers::password::{PasswordClaims, PasswordMail, PasswordProvider};
use auth_runtime::providers::{AuthHandler, FlowError, RateLimit};
use auth_runtime::revocation::{Revocable, Revocations};
use auth_runtime::store::{MemoryStore, Store};
use auth_runtime::{SessionTypes, SessionVerifier, Sessions, SigningKey};

use crate::common::client::{Browser, Reply, serve};

const BASE: &str = "http://localhost:3000";
const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a brand new phrase for the account";

#[derive(SessionTypes, Debug, Clone, PartialEq)]
enum User {
    Person { id: String },
}

struct App {
    addr: SocketAddr,
    /// Mail received so far, and where the mailer's tasks send it.
    mail: Mutex<Vec<PasswordMail>>,
    inbox: Mutex<std::sync::mpsc::Receiver<PasswordMail>>,
    credentials: Arc<MemoryPasswordStore>,
    verifier: Revocable<Sessions<User>>,
}

impl App {
    /// The app with the password provider at `/auth/password`; `generous` raises the limits for
    /// tests that sign in many times.
    fn start(generous: bool) -> App {
        let sessions: Sessions<User> = Sessions::builder()
            .signing_key(SigningKey::generate_ed25519().expect("key"))
            .issuer(BASE)
            .audience("app")
            .subject_from(|User::Person { id }| Some(id.clone()))
            .build()
            .expect("sessions");
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let revocations = Revocations::new(Arc::clone(&store));
        let credentials = Arc::new(MemoryPasswordStore::new());
        let (outbox, inbox) = std::sync::mpsc::channel();
        let outbox = Mutex::new(outbox);
        let mut provider = PasswordProvider::new(
            Passwords::new().expect("argon2id"),
            Arc::clone(&credentials) as Arc<dyn PasswordStore>,
            revocations.clone(),
            move |sent| {
                let _ = outbox.lock().expect("outbox").send(sent);
                std::future::ready(Ok::<(), FlowError>(()))
            },
        );
        let mut builder = AuthHandler::builder(sessions.clone(), BASE).store(Arc::clone(&store));
        if generous {
            let plenty = RateLimit::new(10_000, Duration::from_secs(60));
            provider = provider.tries_per_identity(plenty);
            builder = builder
                .limit_requests_per_client(plenty)
                .limit_requests_per_identity(plenty)
                .limit_code_tries_per_identity(plenty);
        }
        let signer = sessions.clone();
        let auth = builder
            .provider("password", provider, move |claims: PasswordClaims| {
                let session = User::Person { id: claims.subject };
                std::future::ready(signer.cookie(&session, "/home").map_err(FlowError::from))
            })
            .build()
            .expect("handler");
        App {
            addr: serve(auth.router()),
            mail: Mutex::default(),
            inbox: Mutex::new(inbox),
            credentials,
            verifier: Revocable::new(sessions, revocations),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}/auth/password/{path}", self.addr)
    }

    /// A browser on the page `action`, its flow started.
    fn open(&self, action: &str, email: &str) -> Browser {
        let mut browser = Browser::default();
        let reply = browser.post_form(
            &self.url("authorize"),
            SAME_SITE,
            &[("action", action), ("email", email)],
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        browser
    }

    fn step(&self, browser: &mut Browser, form: &[(&str, &str)]) -> Reply {
        browser.post_form(&self.url("callback"), SAME_SITE, form)
    }

    /// The `count`th mail the provider handed to the mailer for `to` (it is sent on a task of its
    /// own: received as it arrives, waited for at most 5 s in all).
    fn mail_to(&self, to: &str, count: usize) -> PasswordMail {
        let deadline = Instant::now() + Duration::from_secs(5);
        let inbox = self.inbox.lock().expect("inbox");
        let mut mail = self.mail.lock().expect("mail");
        loop {
            if let Some(found) = mail.iter().filter(|mail| mail.to() == to).nth(count - 1) {
                return found.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match inbox.recv_timeout(left) {
                Ok(arrived) => mail.push(arrived),
                Err(_) => panic!("no mail #{count} to {to}"),
            }
        }
    }

    /// Every mail received so far, without waiting.
    fn mail_so_far(&self) -> Vec<PasswordMail> {
        let inbox = self.inbox.lock().expect("inbox");
        let mut mail = self.mail.lock().expect("mail");
        mail.extend(inbox.try_iter());
        mail.clone()
    }

    /// Whether the session in `cookie` passes the app's revocable verifier.
    fn accepts(&self, cookie: &str) -> bool {
        let token = cookie.split(';').next().expect("a value").to_owned();
        crate::common::runtime()
            .block_on(self.verifier.verify_session(&token, &http::HeaderMap::new()))
            .is_ok()
    }
}

const SAME_SITE: &[(&str, &str)] = &[("Sec-Fetch-Site", "same-origin")];

fn code_of(mail: &PasswordMail) -> String {
    match mail {
        PasswordMail::VerifyEmail { code, .. } | PasswordMail::ResetCode { code, .. } => code.clone(),
        other => panic!("no code in {other:?}"),
    }
}

/// The session cookie a successful step set, after its redirect.
fn signed_in(reply: &Reply) -> String {
    assert_eq!(reply.status, 302, "{}", reply.body);
    assert_eq!(reply.header("location"), Some("/home"));
    reply.cookie("auth-token").expect("a session cookie").to_owned()
}

fn register(app: &App, email: &str, password: &str) -> String {
    let mut browser = app.open("register", email);
    let reply = app.step(
        &mut browser,
        &[("action", "register"), ("email", email), ("password", password)],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("We sent a code to"), "{}", reply.body);
    let code = code_of(&app.mail_to(email, 1));
    signed_in(&app.step(&mut browser, &[("action", "verify"), ("code", &code)]))
}

fn sign_in(app: &App, email: &str, password: &str) -> Reply {
    let mut browser = app.open("sign-in", email);
    app.step(
        &mut browser,
        &[("action", "sign-in"), ("email", email), ("password", password)],
    )
}

/// Register, sign in, forget, reset, change, each through its page and form, and what each does
/// to the account's other sessions.
#[test]
fn register_sign_in_reset_and_change() {
    // Generous limits: this one address opens more flows than a person would in 15 minutes.
    let app = App::start(true);
    let email = "ada@example.com";
    // A wrong code first: the form again, with the attempts left, and no account yet.
    let mut browser = app.open("register", email);
    let reply = app.step(
        &mut browser,
        &[("action", "register"), ("email", email), ("password", PASSWORD)],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let code = code_of(&app.mail_to(email, 1));
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let reply = app.step(&mut browser, &[("action", "verify"), ("code", wrong)]);
    assert_eq!(reply.status, 401);
    assert!(reply.body.contains("4 attempts left"), "{}", reply.body);
    let found = crate::common::runtime()
        .block_on(app.credentials.find(email))
        .expect("read");
    assert_eq!(found, None, "no account before the code");
    let registered = signed_in(&app.step(&mut browser, &[("action", "verify"), ("code", &code)]));
    assert!(app.accepts(&registered));
    // The code worked once.
    let again = app.step(&mut browser, &[("action", "verify"), ("code", &code)]);
    assert_ne!(again.status, 302, "a code signs in once");

    let wrong = sign_in(&app, email, "not the password at all, sorry");
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("do not match an account"), "{}", wrong.body);
    assert_eq!(wrong.cookie("auth-token"), None);
    let second = signed_in(&sign_in(&app, "  Ada@Example.com", PASSWORD));

    // Forgot, then reset: every earlier session of the account ends; the new one works.
    let mut browser = app.open("forgot", email);
    let reply = app.step(&mut browser, &[("action", "forgot"), ("email", email)]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let code = code_of(&app.mail_to(email, 2));
    let weak = app.step(
        &mut browser,
        &[("action", "reset"), ("code", &code), ("password", "short")],
    );
    assert_eq!(weak.status, 400, "the policy holds at a reset too: {}", weak.body);
    let reset = signed_in(&app.step(
        &mut browser,
        &[("action", "reset"), ("code", &code), ("password", NEW_PASSWORD)],
    ));
    assert!(!app.accepts(&registered), "a reset ends the sessions from before it");
    assert!(!app.accepts(&second));
    assert!(app.accepts(&reset), "the reset's own session works");
    assert_eq!(
        sign_in(&app, email, PASSWORD).status,
        401,
        "the old password is refused"
    );

    // Change while signed in: the current password is asked for; the earlier sessions end.
    let mut browser = app.open("change", email);
    let form = |current: &'static str| {
        [
            ("action", "change"),
            ("email", email),
            ("current", current),
            ("password", "yet another long passphrase here"),
        ]
    };
    let refused = app.step(&mut browser, &form("not the current one at all"));
    assert_eq!(refused.status, 401, "{}", refused.body);
    let changed = signed_in(&app.step(&mut browser, &form(NEW_PASSWORD)));
    assert!(!app.accepts(&reset), "a change ends the sessions from before it");
    assert!(app.accepts(&changed));
    assert_eq!(sign_in(&app, email, NEW_PASSWORD).status, 401);
    signed_in(&sign_in(&app, email, "yet another long passphrase here"));
}

/// NIST SP 800-63B's rules on a new password, each refused with a reason and no account made:
/// too short, on the list of common passwords, the address itself. Long ones with spaces and
/// any characters pass; there are no composition rules.
#[test]
fn the_policy_refuses_weak_passwords_with_a_reason() {
    let app = App::start(false);
    let email = "grace@example.com";
    let mut browser = app.open("register", email);
    for (password, says) in [
        ("fourteen chars", "at least 15 characters"),
        ("passwordpassword", "common"),
        ("grace@example.com", ""),
    ] {
        let reply = app.step(
            &mut browser,
            &[("action", "register"), ("email", email), ("password", password)],
        );
        assert_eq!(reply.status, 400, "{password}: {}", reply.body);
        assert!(reply.body.contains(says), "{password}: {}", reply.body);
        assert!(reply.body.contains("role=\"alert\""));
    }
    assert!(app.mail_so_far().is_empty(), "nothing sent for a refused password");
    let reply = app.step(
        &mut browser,
        &[
            ("action", "register"),
            ("email", email),
            ("password", "all lowercase words and spaces"),
        ],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Replaces `email` in a page with a placeholder: the one difference allowed between two
/// answers is the address the person typed, shown back to them.
fn without(reply: &Reply, email: &str) -> (u16, Vec<(String, String)>, String) {
    let headers = reply
        .headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("date"))
        .cloned()
        .collect();
    (reply.status, headers, reply.body.replace(email, "ADDRESS"))
}

/// Whether an address has an account changes no answer: sign-in (wrong password vs no
/// account), registration (taken vs new), reset (known vs unknown), and the code pages after
/// them. Only the mail differs, and only the address's owner reads it.
#[test]
fn answers_do_not_tell_whether_an_address_has_an_account() {
    let app = App::start(true);
    // Addresses of one length, so that the pages, which show the typed address, differ only
    // in its letters.
    let known = "known@example.com";
    let unknown = "fresh@example.com";
    register(&app, known, PASSWORD);

    let wrong = sign_in(&app, known, "a wrong password for this one");
    let missing = sign_in(&app, unknown, "a wrong password for this one");
    assert_eq!(wrong.status, 401);
    assert_eq!(without(&wrong, known), without(&missing, unknown), "sign-in");

    let mut taken = app.open("register", known);
    let mut fresh = app.open("register", unknown);
    let taken_reply = app.step(
        &mut taken,
        &[("action", "register"), ("email", known), ("password", NEW_PASSWORD)],
    );
    let fresh_reply = app.step(
        &mut fresh,
        &[("action", "register"), ("email", unknown), ("password", NEW_PASSWORD)],
    );
    assert_eq!(taken_reply.status, 200);
    assert_eq!(without(&taken_reply, known), without(&fresh_reply, unknown), "register");
    assert_eq!(
        app.mail_to(known, 2),
        PasswordMail::AlreadyRegistered { to: known.into() }
    );
    assert!(matches!(app.mail_to(unknown, 1), PasswordMail::VerifyEmail { .. }));
    // The taken address's verify page refuses codes like a wrong one; nothing was sent to try.
    let taken_code = app.step(&mut taken, &[("action", "verify"), ("code", "123456")]);
    let fresh_code = app.step(&mut fresh, &[("action", "verify"), ("code", "12345x")]);
    assert_eq!(taken_code.status, 401);
    assert_eq!(without(&taken_code, known), without(&fresh_code, unknown), "verify");

    let mut known_browser = app.open("forgot", known);
    let mut unknown_browser = app.open("forgot", "ghost@example.com");
    let known_reply = app.step(&mut known_browser, &[("action", "forgot"), ("email", known)]);
    let unknown_reply = app.step(
        &mut unknown_browser,
        &[("action", "forgot"), ("email", "ghost@example.com")],
    );
    assert_eq!(known_reply.status, 200);
    assert_eq!(
        without(&known_reply, known),
        without(&unknown_reply, "ghost@example.com"),
        "forgot"
    );
    assert!(matches!(app.mail_to(known, 3), PasswordMail::ResetCode { .. }));
    assert_eq!(
        app.mail_to("ghost@example.com", 1),
        PasswordMail::NoAccount {
            to: "ghost@example.com".into()
        }
    );
    let form = |code| [("action", "reset"), ("code", code), ("password", NEW_PASSWORD)];
    let known_reset = app.step(&mut known_browser, &form("999999x"));
    let unknown_reset = app.step(&mut unknown_browser, &form("999999x"));
    assert_eq!(known_reset.status, 401);
    assert_eq!(
        without(&known_reset, known),
        without(&unknown_reset, "ghost@example.com"),
        "reset"
    );
}

/// The time a sign-in takes does not tell either: a wrong password for an account and any
/// password for no account cost one argon2id check each. Compared as the ratio of the medians of
/// interleaved samples in one run, never against a wall-clock threshold.
#[test]
fn a_sign_in_for_no_account_takes_as_long_as_a_wrong_password() {
    let app = App::start(true);
    let known = "timed@example.com";
    register(&app, known, PASSWORD);
    // Each sample opens a flow (the same page for both) and signs in with a wrong password.
    let sign_in_wrong = |email: &str| {
        let mut browser = app.open("sign-in", email);
        let form = [
            ("action", "sign-in"),
            ("email", email),
            ("password", "wrong password entirely"),
        ];
        assert_eq!(app.step(&mut browser, &form).status, 401);
    };
    let (wrong, missing, ratio) =
        crate::common::timing::ratio_of_medians(15, || sign_in_wrong(known), || sign_in_wrong("nobody@example.com"));
    println!("median no-account sign-in / median wrong-password sign-in: {ratio:.2}");
    assert!(
        (0.67..1.5).contains(&ratio),
        "no account {missing:?} vs wrong password {wrong:?}"
    );
}

/// A hash with weaker parameters than the current ones (or OpenAuth's scrypt) is replaced by
/// an argon2id hash with the current parameters at the next sign-in.
#[test]
fn an_old_hash_is_rehashed_at_the_next_sign_in() {
    let app = App::start(false);
    let email = "old@example.com";
    let old = crate::common::runtime().block_on(async {
        let weaker = Passwords::with_params(46 * 1024, 1, 1).expect("OWASP's other minimum");
        let hash = weaker.hash(PASSWORD).await.expect("hashed");
        let created = app
            .credentials
            .create(email, &Credential::new("old-subject", hash.clone()))
            .await;
        assert!(created.expect("stored"));
        hash
    });
    assert!(old.starts_with("$argon2id$v=19$m=47104,t=1,p=1$"), "{old}");
    signed_in(&sign_in(&app, email, PASSWORD));
    let now = crate::common::runtime()
        .block_on(app.credentials.find(email))
        .expect("read")
        .expect("the account");
    assert!(now.hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", now.hash);
    assert_eq!(now.subject, "old-subject");
    signed_in(&sign_in(&app, email, PASSWORD));
}

/// Every step is bound to the browser that started the flow (its flow cookie) and taken only
/// from this site; password tries are limited per address.
#[test]
fn steps_need_this_browsers_flow_this_site_and_stay_within_limits() {
    let app = App::start(false);
    let email = "bound@example.com";
    register(&app, email, PASSWORD);
    let mut stranger = Browser::default();
    let reply = app.step(
        &mut stranger,
        &[("action", "sign-in"), ("email", email), ("password", PASSWORD)],
    );
    assert_eq!(reply.status, 400, "no flow cookie: {}", reply.body);
    let mut browser = app.open("sign-in", email);
    let cross = browser.post_form(
        &app.url("callback"),
        &[("Origin", "https://evil.example")],
        &[("action", "sign-in"), ("email", email), ("password", PASSWORD)],
    );
    assert_eq!(cross.status, 403, "another site's POST: {}", cross.body);
    let get = browser.follow(&format!("{}?page=register", app.url("callback")), None);
    assert_eq!(get.status, 200, "a GET only shows a page");
    assert!(get.body.contains("Create an account"));
    // Ten password tries per address per 15 minutes (the registration tried none: the code
    // signed it in), then 429 with Retry-After, whatever the password.
    for _ in 0..10 {
        let reply = app.step(
            &mut browser,
            &[
                ("action", "sign-in"),
                ("email", email),
                ("password", "guess guess guess guess"),
            ],
        );
        assert_eq!(reply.status, 401);
    }
    let limited = app.step(
        &mut browser,
        &[("action", "sign-in"), ("email", email), ("password", PASSWORD)],
    );
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.header("retry-after").is_some());
}
