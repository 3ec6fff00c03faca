//! The quickstart as a person uses it: every sign-in flow driven in a real headless Chromium
//! (Debian's `chromium` through `chromium-driver`, over WebDriver), where cookie rules (`Secure`
//! on `localhost`, `SameSite`, paths), redirects and forms behave as a browser decides.
//!
//! The quickstart is served at `http://localhost:<port>`; another site is served at
//! `http://127.0.0.1:<other port>`, which the browser treats as a different site (a different
//! host), for the cross-site cases. The last test serves a small app in pair mode (short access
//! tokens, a refresh cookie) to show the session layer's refresh in the browser. A screenshot of
//! every step is written to
//! `target/tmp/browser/<test>/` (see `common::browser`).
//!
//! Needs `chromium` and `chromium-driver` (apt, as `.ci/run` installs them): ignored with that
//! reason by a plain `cargo test`, a failure when asked for and missing.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use auth_examples::quickstart_app::{self as quickstart, Message};
use auth_runtime::providers::password::PasswordMail;
use axum::response::Html;
use axum::routing::get;

use crate::common::browser::{Browser, Driver, clear_screenshots, free_port};

/// How long a test waits for the quickstart's "email".
const MESSAGE_WAIT: Duration = Duration::from_secs(20);

/// The quickstart app served on one port, with its outbox read by the test; it can be stopped
/// and started again on the same port (a restart: a new signing key, the old sessions invalid).
struct Quickstart {
    addr: SocketAddr,
    messages: mpsc::Receiver<Message>,
    sender: mpsc::Sender<Message>,
    running: Option<(tokio::sync::oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Quickstart {
    fn start() -> Quickstart {
        let (sender, messages) = mpsc::channel();
        let mut quickstart = Quickstart {
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            messages,
            sender,
            running: None,
        };
        quickstart.run();
        quickstart
    }

    /// `http://localhost:<port>`: the address people open, as the quickstart prints it.
    fn base_url(&self) -> String {
        format!("http://localhost:{}", self.addr.port())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// Serves a new instance of the app (a fresh development key, an empty store).
    fn run(&mut self) {
        let sender = self.sender.clone();
        let outbox: quickstart::Outbox = std::sync::Arc::new(move |message| {
            let _ = sender.send(message);
        });
        let sessions = quickstart::development_sessions().expect("sessions");
        let app = quickstart::app(sessions, &self.base_url(), outbox).expect("the app");
        self.running = Some(serve_until_stopped(self.addr, app));
    }

    /// Stops this instance and starts a new one on the same port.
    fn restart(&mut self) {
        if let Some((stop, thread)) = self.running.take() {
            let _ = stop.send(());
            thread.join().expect("the quickstart's thread ends");
        }
        self.run();
    }

    /// The next message the app "emailed".
    fn next_message(&self) -> Message {
        self.messages
            .recv_timeout(MESSAGE_WAIT)
            .expect("the quickstart sends a message")
    }
}

impl Drop for Quickstart {
    fn drop(&mut self) {
        if let Some((stop, _)) = self.running.take() {
            let _ = stop.send(());
        }
    }
}

/// Another origin's pages, whose forms and links point at the quickstart; served on a port of its
/// own, so reached as `http://localhost:<port>` it is the same site as the quickstart (another
/// origin: the browser sends the `SameSite=Lax` cookie with its form posts), and reached as
/// `http://127.0.0.1:<port>` it is another site (a different host: the cookie stays home).
fn other_origin(quickstart: &Quickstart) -> u16 {
    let target = quickstart.base_url();
    let logout = format!(
        "<!doctype html><title>Another site</title><h1>Another site</h1>\
         <form method=\"post\" action=\"{target}/logout\"><button>Claim your prize</button></form>"
    );
    // Login CSRF: start a sign-in for the attacker's address in the visitor's browser.
    let start = format!(
        "<!doctype html><title>Another site</title><h1>Another site</h1>\
         <p><a id=\"navigate\" href=\"{target}/auth/link/authorize?email=mallory%40evil.example\">See your prize</a></p>\
         <form method=\"post\" action=\"{target}/auth/link/authorize\">\
         <input type=\"hidden\" name=\"email\" value=\"mallory@evil.example\"><button>Claim it</button></form>"
    );
    let code_post = move |code: String| {
        format!(
            "<!doctype html><title>Another site</title><h1>Another site</h1>\
             <form method=\"post\" action=\"{target}/auth/code/callback\">\
             <input type=\"hidden\" name=\"code\" value=\"{code}\"><button>Continue</button></form>\
             <p><a id=\"navigate\" href=\"{target}/auth/code/callback?code={code}\">Continue by link</a></p>"
        )
    };
    let app = axum::Router::new()
        .route("/start", get(move || std::future::ready(Html(start.clone()))))
        .route("/logout", get(move || std::future::ready(Html(logout.clone()))))
        .route(
            "/code/{code}",
            get(move |axum::extract::Path(code): axum::extract::Path<String>| {
                std::future::ready(Html(code_post(code)))
            }),
        );
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    // Served until the test process ends, like `common::client::serve`.
    std::mem::forget(serve_until_stopped(addr, app));
    addr.port()
}

/// Serves `app` on `addr` on a thread of its own, until the returned sender is used or dropped.
/// Binds with the standard library, so it can be called from async code too.
fn serve_until_stopped(addr: SocketAddr, app: axum::Router) -> (tokio::sync::oneshot::Sender<()>, JoinHandle<()>) {
    let listener = std::net::TcpListener::bind(addr).expect("binds the port");
    listener.set_nonblocking(true).expect("a non-blocking listener");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
            tokio::select! {
                _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()) => {}
                _ = stopped => {}
            }
        });
        // Dropping the runtime ends every connection, the browser's keep-alive ones too.
    });
    (stop, thread)
}

fn link_of(message: Message) -> String {
    match message {
        Message::Link { url, .. } => url,
        other => panic!("expected a sign-in link, got {other:?}"),
    }
}

fn code_of(message: Message) -> String {
    match message {
        Message::Code { code, .. } => code,
        other => panic!("expected a sign-in code, got {other:?}"),
    }
}

/// The code in a password email (to verify an address or reset a password).
fn password_code_of(message: Message) -> String {
    match message {
        Message::Password(PasswordMail::VerifyEmail { code, .. } | PasswordMail::ResetCode { code, .. }) => code,
        other => panic!("expected a password email with a code, got {other:?}"),
    }
}

/// A code of the same length that is not `code`.
fn wrong_code(code: &str) -> String {
    code.chars().map(|digit| if digit == '0' { '1' } else { '0' }).collect()
}

/// The session cookie as the browser keeps it: HttpOnly, Secure (which Chromium accepts on
/// `http://localhost`), SameSite=Lax, for the whole site.
async fn assert_session_cookie(browser: &Browser) {
    let cookie = browser
        .cookie("auth-token")
        .await
        .expect("the browser keeps the session cookie");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.same_site(), Some(cookie::SameSite::Lax));
    assert_eq!(cookie.path(), Some("/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromium-driver (apt install chromium chromium-driver)"]
async fn a_person_signs_in_with_a_link_reads_their_session_and_logs_out() {
    let test = "link";
    clear_screenshots(test);
    let quickstart = Quickstart::start();
    let driver = Driver::start();
    let mut browser = driver.browser(test, "").await;

    browser.open(&quickstart.url("/"), "home-signed-out").await;
    assert!(browser.text().await.contains("You are not signed in"));
    browser.fill("Email", "ada@example.com").await;
    browser.click("Email me a sign-in link").await;
    browser.wait_for_text("Check your email", "link-sent").await;
    let text = browser.text().await;
    assert!(text.contains("ada@example.com"), "{text}");
    assert!(text.contains("printed in the terminal"), "{text}");

    let link = link_of(quickstart.next_message());
    assert!(link.starts_with(&quickstart.url("/auth/link/callback?")), "{link}");
    // Opened in the browser that asked for it, the link's page submits itself.
    browser.open(&link, "link-opened").await;
    browser.wait_for_text("Your session", "signed-in").await;
    assert_eq!(browser.url().await, quickstart.url("/me"));
    let text = browser.text().await;
    assert!(text.contains("You are signed in as ada@example.com"), "{text}");
    assert!(text.contains("\"userID\": \"ada@example.com\""), "{text}");
    assert_session_cookie(&browser).await;

    browser.open(&quickstart.url("/"), "home-signed-in").await;
    assert!(browser.text().await.contains("You are signed in as ada@example.com"));
    browser.click("Log out").await;
    browser.wait_for_text("You are not signed in", "logged-out").await;
    assert!(browser.cookie("auth-token").await.is_none(), "the cookie is gone");

    // The same link again: its flow in this browser is over, so the page asks; and the link
    // worked once, so saying yes only says so.
    browser.open(&link, "link-reused").await;
    browser
        .wait_for_text("Sign in as ada@example.com?", "link-reused-asks")
        .await;
    browser.click("Sign in").await;
    browser.wait_for_text("already used", "link-reused-refused").await;
    assert!(browser.text().await.contains("Sign-in did not work"));
    assert!(browser.cookie("auth-token").await.is_none());
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromium-driver (apt install chromium chromium-driver)"]
async fn a_person_signs_in_with_a_code_after_a_wrong_one() {
    let test = "code";
    clear_screenshots(test);
    let quickstart = Quickstart::start();
    let driver = Driver::start();
    let mut browser = driver.browser(test, "").await;

    browser.open(&quickstart.url("/"), "home").await;
    browser.fill("Email", "grace@example.com").await;
    browser.click("Email me a code instead").await;
    browser.wait_for_text("Enter your code", "code-sent").await;
    let text = browser.text().await;
    assert!(text.contains("grace@example.com"), "{text}");
    assert!(text.contains("printed in the terminal"), "{text}");
    let code = code_of(quickstart.next_message());

    browser.fill("Code", &wrong_code(&code)).await;
    browser.click("Sign in").await;
    browser.wait_for_text("That code is not right", "wrong-code").await;
    assert!(browser.text().await.contains("attempts left"));
    assert!(browser.cookie("auth-token").await.is_none());

    browser.fill("Code", &code).await;
    browser.click("Sign in").await;
    browser.wait_for_text("Your session", "signed-in").await;
    assert!(browser.text().await.contains("You are signed in as grace@example.com"));
    assert_session_cookie(&browser).await;
    browser.close().await;
}

/// From the home page, "Sign in with a password" with `email`, to the provider's sign-in page.
async fn open_password_sign_in(browser: &mut Browser, quickstart: &Quickstart, email: &str, step: &str) {
    browser.open(&quickstart.url("/"), step).await;
    browser.fill("Email", email).await;
    browser.click("Sign in with a password").await;
    browser.wait_for_text("Forgot your password?", step).await;
}

/// Signs out from `/me`.
async fn log_out(browser: &mut Browser, step: &str) {
    browser.click("Log out").await;
    browser.wait_for_text("You are not signed in", step).await;
    assert!(browser.cookie("auth-token").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromium-driver (apt install chromium chromium-driver)"]
async fn a_person_registers_signs_in_and_resets_a_password() {
    const FIRST: &str = "a long first passphrase for lin";
    const SECOND: &str = "and a second one after the reset";
    let test = "password";
    clear_screenshots(test);
    let quickstart = Quickstart::start();
    let driver = Driver::start();
    let mut browser = driver.browser(test, "").await;
    let email = "lin@example.com";

    // Register: the address is proved by a code before the account exists.
    open_password_sign_in(&mut browser, &quickstart, email, "sign-in-page").await;
    browser.click_link("Create an account").await;
    browser.wait_for_text("Choose a password", "register-page").await;
    // A common password is refused with the reason (a short one the field itself refuses).
    browser.fill("Choose a password", "passwordpassword").await;
    browser.click("Create account").await;
    browser
        .wait_for_text("this password is too common", "common-refused")
        .await;
    browser.fill("Choose a password", FIRST).await;
    browser.click("Create account").await;
    browser.wait_for_text("We sent a code to", "code-sent").await;
    let code = password_code_of(quickstart.next_message());
    browser.fill("Code from the email", &wrong_code(&code)).await;
    browser.click("Verify").await;
    browser.wait_for_text("That code is not right", "wrong-code").await;
    browser.fill("Code from the email", &code).await;
    browser.click("Verify").await;
    browser.wait_for_text("Your session", "registered").await;
    assert!(browser.text().await.contains("You are signed in as lin@example.com"));
    assert_session_cookie(&browser).await;
    log_out(&mut browser, "logged-out").await;

    // Sign in with the password.
    open_password_sign_in(&mut browser, &quickstart, email, "sign-in-again").await;
    browser.fill("Password", FIRST).await;
    browser.click("Sign in").await;
    browser.wait_for_text("Your session", "signed-in").await;
    log_out(&mut browser, "logged-out-again").await;

    // Forgot: a code, a new password, signed in; the old password is refused after.
    open_password_sign_in(&mut browser, &quickstart, email, "before-forgot").await;
    browser.click_link("Forgot your password?").await;
    browser.wait_for_text("Reset your password", "forgot-page").await;
    browser.click("Email me a code").await;
    browser.wait_for_text("Choose a new password", "reset-page").await;
    let code = password_code_of(quickstart.next_message());
    browser.fill("Code from the email", &code).await;
    browser.fill("New password", SECOND).await;
    browser.click("Set new password").await;
    browser.wait_for_text("Your session", "reset-signed-in").await;
    log_out(&mut browser, "logged-out-after-reset").await;

    open_password_sign_in(&mut browser, &quickstart, email, "old-password").await;
    browser.fill("Password", FIRST).await;
    browser.click("Sign in").await;
    browser
        .wait_for_text(
            "That email and password do not match an account",
            "old-password-refused",
        )
        .await;
    assert!(browser.cookie("auth-token").await.is_none());
    browser.fill("Password", SECOND).await;
    browser.click("Sign in").await;
    browser.wait_for_text("Your session", "new-password-signed-in").await;
    assert!(browser.text().await.contains("You are signed in as lin@example.com"));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromium-driver (apt install chromium chromium-driver)"]
async fn the_developer_shortcut_me_and_the_token_parameter_work_in_a_browser() {
    let test = "shortcut";
    clear_screenshots(test);
    let quickstart = Quickstart::start();
    let driver = Driver::start();
    let mut browser = driver.browser(test, "").await;

    browser.open(&quickstart.url("/me"), "me-signed-out").await;
    let text = browser.text().await;
    assert!(text.contains("You are not signed in"), "an HTML page, not JSON: {text}");
    assert!(!text.contains("{\""), "{text}");

    browser.open(&quickstart.url("/"), "home").await;
    browser.fill("Name", "alice").await;
    browser.click("Sign in without proof").await;
    browser.wait_for_text("Your session", "me").await;
    assert!(browser.text().await.contains("You are signed in as alice"));
    assert_session_cookie(&browser).await;

    // `?via=parameter`: the token travels in `?token=` to the landing route, with the landing
    // nonce in a cookie scoped to that route's path; the browser sends it there, so it lands at once.
    browser
        .open(&quickstart.url("/login?name=carol&via=parameter"), "token-parameter")
        .await;
    browser.wait_for_text("You are signed in as carol", "landed").await;
    assert_eq!(
        browser.url().await,
        quickstart.url("/me"),
        "the token left the address bar"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromium-driver (apt install chromium chromium-driver)"]
async fn after_a_restart_with_a_new_key_the_home_page_shows_signed_out_and_the_cookie_is_gone() {
    let test = "restart";
    clear_screenshots(test);
    let mut quickstart = Quickstart::start();
    let driver = Driver::start();
    let mut browser = driver.browser(test, "").await;

    browser.open(&quickstart.url("/login?name=alice"), "signed-in").await;
    browser.wait_for_text("You are signed in as alice", "me").await;
    assert!(browser.cookie("auth-token").await.is_some());

    quickstart.restart();
    browser.open(&quickstart.url("/"), "home-after-restart").await;
    let text = browser.text().await;
    assert!(text.contains("You are not signed in"), "{text}");
    assert!(
        browser.cookie("auth-token").await.is_none(),
        "the stale cookie was cleared by the response"
    );
    browser.open(&quickstart.url("/me"), "me-after-restart").await;
    assert!(browser.text().await.contains("You are not signed in"));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromium-driver (apt install chromium chromium-driver)"]
async fn another_site_cannot_log_out_complete_a_code_flow_or_use_a_link_silently() {
    let test = "cross-site";
    clear_screenshots(test);
    let quickstart = Quickstart::start();
    let port = other_origin(&quickstart);
    let same_site = format!("http://localhost:{port}");
    let other = format!("http://127.0.0.1:{port}");
    let driver = Driver::start();
    let mut browser = driver.browser(test, "a-").await;
    browser.open(&quickstart.url("/login?name=alice"), "signed-in").await;
    browser.wait_for_text("You are signed in as alice", "me").await;

    // Another origin of the same site posts a form to /logout: the browser sends the session
    // cookie with it, and the session layer refuses the request, with a page.
    browser.open(&format!("{same_site}/logout"), "other-origin").await;
    browser.click("Claim your prize").await;
    browser
        .wait_for_text("Request refused", "other-origin-logout-refused")
        .await;
    assert!(
        browser
            .text()
            .await
            .contains("Cross-site request with the session cookie refused")
    );
    assert_session_cookie(&browser).await;

    // Another site posts the same form: Chromium leaves the Lax cookie out, so the request
    // carries no session and logs no one out; the person lands home, still signed in.
    browser.open(&format!("{other}/logout"), "other-site").await;
    browser.click("Claim your prize").await;
    browser
        .wait_for_text("You are signed in as alice", "other-site-logout-ignored")
        .await;
    assert_session_cookie(&browser).await;

    // A code flow started here cannot be completed from another site, by form or by link, even
    // with the right code; no session cookie is set.
    browser.click("Log out").await;
    browser.wait_for_text("You are not signed in", "logged-out").await;
    browser.fill("Email", "ada@example.com").await;
    browser.click("Email me a code instead").await;
    browser.wait_for_text("Enter your code", "code-sent").await;
    let code = code_of(quickstart.next_message());
    browser.open(&format!("{other}/code/{code}"), "other-site-code").await;
    browser.click("Continue").await;
    browser
        .wait_for_text("Sign-in did not work", "cross-site-post-refused")
        .await;
    assert!(browser.cookie("auth-token").await.is_none());
    browser
        .open(&format!("{other}/code/{code}"), "other-site-code-again")
        .await;
    browser.click_id("navigate").await;
    browser
        .wait_for_text("Sign-in did not work", "cross-site-link-refused")
        .await;
    assert!(browser.cookie("auth-token").await.is_none());

    // A magic link opened in a second, fresh profile asks first instead of signing in.
    browser.open(&quickstart.url("/"), "home-again").await;
    browser.fill("Email", "ada@example.com").await;
    browser.click("Email me a sign-in link").await;
    browser.wait_for_text("Check your email", "link-sent").await;
    let link = link_of(quickstart.next_message());
    let mut second = driver.browser(test, "b-").await;
    second.open(&link, "link-in-a-fresh-profile").await;
    second.wait_for_text("ada@example.com", "asks-first").await;
    assert!(second.text().await.contains("Sign in as"));
    assert!(
        second.cookie("auth-token").await.is_none(),
        "the fresh profile is not signed in until the person says so"
    );
    second.close().await;
    browser.close().await;
}

/// Login CSRF in Chromium: another site navigates the browser to the link provider's authorize
/// step with the attacker's address (a top-level `GET`, which carries `SameSite=Lax` cookies and
/// used to set the flow cookie), or posts its form there; neither starts a flow. The attacker's own
/// link, opened in that browser, then asks on a page that names the attacker's account instead of
/// continuing on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromium-driver (apt install chromium chromium-driver)"]
async fn another_site_cannot_start_a_sign_in_in_someones_browser() {
    let test = "login-csrf";
    clear_screenshots(test);
    let quickstart = Quickstart::start();
    let port = other_origin(&quickstart);
    let other = format!("http://127.0.0.1:{port}");
    let driver = Driver::start();
    let mut victim = driver.browser(test, "a-").await;
    victim.open(&format!("{other}/start"), "other-site").await;
    victim.click_id("navigate").await;
    victim
        .wait_for_text("Sign-in did not work", "get-authorize-refused")
        .await;
    assert!(
        victim.text().await.contains("form submission (POST)"),
        "{}",
        victim.text().await
    );
    assert!(victim.cookie("auth-flow-link").await.is_none(), "no flow was started");

    victim.open(&format!("{other}/start"), "other-site-again").await;
    victim.click("Claim it").await;
    victim
        .wait_for_text("Sign-in did not work", "cross-site-post-refused")
        .await;
    assert!(victim.cookie("auth-flow-link").await.is_none());

    // The attacker asks for a link to their own address, in their own browser.
    let mut attacker = driver.browser(test, "b-").await;
    attacker.open(&quickstart.url("/"), "attacker-home").await;
    attacker.fill("Email", "mallory@evil.example").await;
    attacker.click("Email me a sign-in link").await;
    attacker.wait_for_text("Check your email", "attacker-link-sent").await;
    let link = link_of(quickstart.next_message());
    attacker.close().await;

    // Opened in the victim's browser, it asks and names the account; nothing signs in.
    victim.open(&link, "attackers-link-in-victims-browser").await;
    victim.wait_for_text("another browser", "asks-first").await;
    assert!(victim.text().await.contains("mallory@evil.example"));
    victim.open(&quickstart.url("/"), "victim-home").await;
    victim.wait_for_text("You are not signed in", "still-signed-out").await;
    assert!(victim.cookie("auth-token").await.is_none());
    victim.close().await;
}

/// Pair mode in a real browser: sign-in sets the access and refresh cookies; once the server's
/// clock has moved past the access token's 15 minutes, a page load refreshes on its own (both
/// cookies replaced on that response, Chromium keeps them) and the person stays signed in; a
/// family logged out elsewhere signs the browser out and deletes both cookies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromium-driver (apt install chromium chromium-driver)"]
async fn an_expired_access_token_is_refreshed_in_the_browser_from_the_refresh_cookie() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use auth_runtime::axum::Session;
    use auth_runtime::refresh::RefreshTokens;
    use auth_runtime::{SessionCache, SessionLayer, Sessions, SigningKey};

    use crate::common::stores::TestStore;
    use crate::common::{AppSession, user};

    let test = "refresh";
    clear_screenshots(test);
    // The server's clock runs `ahead` seconds ahead of the real one.
    let ahead = Arc::new(AtomicU64::new(0));
    let clock = {
        let ahead = Arc::clone(&ahead);
        move || std::time::SystemTime::now() + Duration::from_secs(ahead.load(Ordering::SeqCst))
    };
    let sessions: Sessions<AppSession> = Sessions::builder()
        .signing_key(SigningKey::generate_ed25519().expect("a key"))
        .issuer("http://localhost/auth")
        .audience("browser-test")
        .subject_from(|session| match session {
            AppSession::User { user_id } => Some(user_id.clone()),
            _ => None,
        })
        .clock(clock.clone())
        .build()
        .expect("sessions");
    let store = TestStore::default();
    let tokens = RefreshTokens::builder(sessions.clone(), Arc::new(store.clone()))
        .build()
        .expect("refresh tokens");
    let layer = SessionLayer::builder(SessionCache::builder(sessions.clone()).clock(clock).build())
        .refresh_tokens(tokens.clone())
        .build()
        .expect("a layer");
    let sign_in = {
        let tokens = tokens.clone();
        move || {
            let tokens = tokens.clone();
            async move {
                tokens
                    .sign_in::<axum::body::Body>(&user("ada"), "/me")
                    .await
                    .expect("signed in")
            }
        }
    };
    let me = |session: Option<Session<AppSession>>| async move {
        let text = match session {
            Some(Session(AppSession::User { user_id })) => format!("Signed in as {user_id}"),
            _ => "Signed out".to_owned(),
        };
        Html(format!("<!doctype html><title>Pair mode</title><h1>{text}</h1>"))
    };
    let app = axum::Router::new()
        .route("/me", get(me))
        .layer(layer)
        .route("/signin", get(sign_in));
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (_stop, _thread) = serve_until_stopped(addr, app);
    let url = |path: &str| format!("http://localhost:{}{path}", addr.port());
    let rotations = || store.writes_under("refresh-retired:");

    let driver = Driver::start();
    let mut browser = driver.browser(test, "").await;
    browser.open(&url("/signin"), "signed-in").await;
    browser.wait_for_text("Signed in as ada", "me").await;
    let refresh = browser.cookie("auth-token-refresh").await.expect("the refresh cookie");
    assert_eq!(refresh.http_only(), Some(true));
    assert_eq!(refresh.secure(), Some(true));
    assert_eq!(refresh.same_site(), Some(cookie::SameSite::Lax));
    assert_eq!(refresh.path(), Some("/"));
    let first_refresh = refresh.value().to_owned();
    let first_access = browser
        .cookie("auth-token")
        .await
        .expect("the access cookie")
        .value()
        .to_owned();

    ahead.store(20 * 60, Ordering::SeqCst);
    browser.open(&url("/me"), "after-20-minutes").await;
    assert!(
        browser.text().await.contains("Signed in as ada"),
        "refreshed on its own"
    );
    assert_eq!(rotations(), 1);
    let second_refresh = browser
        .cookie("auth-token-refresh")
        .await
        .expect("kept")
        .value()
        .to_owned();
    let second_access = browser.cookie("auth-token").await.expect("kept").value().to_owned();
    assert_ne!(second_refresh, first_refresh, "Chromium took the new refresh cookie");
    assert_ne!(second_access, first_access, "and the new access cookie");
    browser.open(&url("/me"), "next-page").await;
    assert!(browser.text().await.contains("Signed in as ada"));
    assert_eq!(rotations(), 1, "a valid access token refreshes nothing");

    // Logged out elsewhere (another device's logout, or a detected theft): the family ends.
    tokens.revoke(&second_refresh).await.expect("the family is revoked");
    ahead.store(40 * 60, Ordering::SeqCst);
    browser.open(&url("/me"), "after-the-family-ended").await;
    assert!(browser.text().await.contains("Signed out"));
    assert!(
        browser.cookie("auth-token").await.is_none(),
        "the access cookie is deleted"
    );
    assert!(
        browser.cookie("auth-token-refresh").await.is_none(),
        "so is the refresh cookie"
    );
    browser.close().await;
}
