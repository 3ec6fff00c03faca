//! Drives the quickstart app over real HTTP on 127.0.0.1: sign in, read `/me` with the cookie
//! and with a Bearer token, refuse a bad token and an open redirect, log out (revoking the session).

use auth_examples::quickstart_app as quickstart;

use crate::common;

use common::client::{get, serve};

#[test]
fn quickstart_signs_in_reads_back_and_logs_out() {
    let outbox: quickstart::Outbox = std::sync::Arc::new(|_| {});
    let sessions = quickstart::development_sessions().expect("sessions");
    let addr = serve(quickstart::app(sessions, "http://localhost:3000", outbox).expect("app"));

    let anonymous = get(addr, "/me", &[]);
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.body.contains("no session"), "{}", anonymous.body);

    let login = get(addr, "/login?name=alice", &[]);
    assert_eq!(login.status, 302);
    assert_eq!(login.header("location"), Some("/me"));
    let set_cookie = login.header("set-cookie").expect("a session cookie");
    assert!(
        set_cookie.contains("; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age="),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().expect("name=value");

    let me = get(addr, "/me", &[("Cookie", cookie)]);
    assert_eq!(me.status, 200, "{}", me.body);
    let body: serde_json::Value = serde_json::from_str(&me.body).expect("JSON");
    assert_eq!(
        body["session"],
        serde_json::json!({"type": "user", "properties": {"userID": "alice"}})
    );
    assert_eq!(body["subject"], "alice");

    let token = get(addr, "/token?name=bob", &[]).body;
    let bearer = get(addr, "/me", &[("Authorization", &format!("Bearer {token}"))]);
    assert_eq!(bearer.status, 200);
    assert!(bearer.body.contains("\"bob\""), "{}", bearer.body);

    let tampered = format!("Bearer {}x", token);
    let rejected = get(addr, "/me", &[("Authorization", &tampered)]);
    assert_eq!(
        rejected.status, 401,
        "the session layer refuses it before the handler runs"
    );
    assert_eq!(rejected.json()["error"], "invalid_token");

    let parameter = get(addr, "/login?name=carol&via=parameter", &[]);
    assert_eq!(parameter.status, 302);
    let location = parameter.header("location").expect("a redirect").to_owned();
    assert!(location.starts_with("/me?token="), "{location}");
    let nonce = parameter
        .cookie("auth-token-landing")
        .expect("the shortcut binds the token to this browser");
    let landing = get(addr, &location, &[("Cookie", &format!("auth-token-landing={nonce}"))]);
    assert_eq!(landing.status, 302, "the landing route moves the token into the cookie");
    assert_eq!(landing.header("location"), Some("/me"));
    let landed_cookie = format!("auth-token={}", landing.cookie("auth-token").expect("cookie"));
    assert_eq!(landing.cookie("auth-token-landing"), Some(""), "the nonce is spent");
    let landed_cookie = landed_cookie.as_str();
    let me = get(addr, "/me", &[("Cookie", landed_cookie)]);
    assert!(me.body.contains("\"carol\""), "{}", me.body);

    let open_redirect = get(addr, "/login?name=eve&redirect=//evil.example", &[]);
    assert_eq!(open_redirect.status, 400);
    assert!(open_redirect.header("set-cookie").is_none());

    let logout = common::client::send(
        addr,
        "POST",
        "/logout",
        &[("Cookie", cookie), ("Sec-Fetch-Site", "same-origin")],
    );
    assert_eq!(logout.status, 302);
    assert_eq!(
        logout.header("set-cookie"),
        Some("auth-token=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0")
    );

    // Logout revoked the session: a copy of the cookie no longer signs anyone in.
    let replayed = get(addr, "/", &[("Cookie", cookie)]);
    assert_eq!(replayed.status, 401, "{}", replayed.body);
    assert!(
        replayed.json()["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("revoked"))
    );
    let other = get(addr, "/me", &[("Authorization", &format!("Bearer {token}"))]);
    assert_eq!(other.status, 200, "other sessions go on");
}

const CLEARED: &str = "auth-token=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0";
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

fn quickstart_server() -> std::net::SocketAddr {
    let outbox: quickstart::Outbox = std::sync::Arc::new(|_| {});
    let sessions = quickstart::development_sessions().expect("sessions");
    serve(quickstart::app(sessions, "http://localhost:3000", outbox).expect("app"))
}

fn signed_in_cookie(addr: std::net::SocketAddr) -> String {
    let login = get(addr, "/login?name=alice", &[]);
    let set_cookie = login.header("set-cookie").expect("a session cookie");
    set_cookie.split(';').next().expect("name=value").to_owned()
}

/// The quickstart makes a new key at every start, so after a restart the browser still sends a
/// cookie that can never verify. The home page shows the person signed out and deletes the
/// cookie; an API call gets its 401 and the cookie deleted too; a Bearer token stays a plain 401.
#[test]
fn a_stale_cookie_after_a_restart_signs_out_and_is_cleared() {
    let cookie = signed_in_cookie(quickstart_server());
    let restarted = quickstart_server();

    let home = get(restarted, "/", &[("Cookie", &cookie), ("Accept", BROWSER_ACCEPT)]);
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("You are not signed in"), "{}", home.body);
    assert_eq!(home.header("set-cookie"), Some(CLEARED));

    let api = get(restarted, "/me", &[("Cookie", &cookie)]);
    assert_eq!(api.status, 401, "{}", api.body);
    assert_eq!(api.json()["error"], "invalid_token");
    assert_eq!(api.header("set-cookie"), Some(CLEARED));

    let token = cookie.trim_start_matches("auth-token=");
    let bearer = get(
        restarted,
        "/",
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("Accept", BROWSER_ACCEPT),
        ],
    );
    assert_eq!(bearer.status, 401, "a Bearer token is never downgraded");
    assert_eq!(bearer.header("set-cookie"), None);
}

/// Logging out changes state: `GET /logout` shows a button and ends nothing (a link or an image on
/// another site cannot log anyone out); a cross-site `POST` is refused; a same-origin one logs out.
#[test]
fn logging_out_takes_a_same_origin_post() {
    let addr = quickstart_server();
    let cookie = signed_in_cookie(addr);
    let page = get(addr, "/logout", &[("Cookie", &cookie), ("Accept", BROWSER_ACCEPT)]);
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<form method=\"post\" action=\"/logout\">"),
        "{}",
        page.body
    );
    assert_eq!(page.header("set-cookie"), None);
    assert_eq!(get(addr, "/me", &[("Cookie", &cookie)]).status, 200, "still signed in");

    let post = |extra: (&str, &str)| common::client::send(addr, "POST", "/logout", &[("Cookie", &cookie), extra]);
    assert_eq!(post(("Origin", "https://evil.example")).status, 403);
    assert_eq!(get(addr, "/me", &[("Cookie", &cookie)]).status, 200, "still signed in");
    let logout = post(("Origin", &format!("http://{addr}")));
    assert_eq!(logout.status, 302);
    assert_eq!(logout.header("set-cookie"), Some(CLEARED));
    assert_eq!(get(addr, "/me", &[("Cookie", &cookie)]).status, 401);
}

/// A form on another site posts to `/logout` without the `SameSite=Lax` session cookie (the
/// browser leaves it out; the browser tests show it in Chromium). The request carries no
/// session, so it must not clear the cookie: before, it did, and any site could sign anyone out.
#[test]
fn a_logout_without_the_session_clears_nothing() {
    let addr = quickstart_server();
    let cross_site = common::client::send(
        addr,
        "POST",
        "/logout",
        &[
            ("Sec-Fetch-Site", "cross-site"),
            ("Origin", "https://evil.example"),
            ("Accept", BROWSER_ACCEPT),
        ],
    );
    assert_eq!(cross_site.status, 303, "{}", cross_site.body);
    assert_eq!(cross_site.header("location"), Some("/"));
    assert_eq!(
        cross_site.header("set-cookie"),
        None,
        "the browser keeps its session cookie"
    );
}

/// Pages for people on the HTML routes: `/me` without a session is a page in a browser and JSON
/// for an API client; a refusal of the session layer is a page for a browser too.
#[test]
fn a_browser_gets_pages_and_an_api_client_json() {
    let addr = quickstart_server();
    let page = get(addr, "/me", &[("Accept", BROWSER_ACCEPT)]);
    assert_eq!(page.status, 401);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(page.body.contains("You are not signed in"), "{}", page.body);
    let api = get(addr, "/me", &[]);
    assert_eq!(api.status, 401);
    assert_eq!(api.json()["error"], "no session");

    let cookie = signed_in_cookie(addr);
    let refused = common::client::send(
        addr,
        "POST",
        "/logout",
        &[
            ("Cookie", &cookie),
            ("Sec-Fetch-Site", "same-site"),
            ("Origin", "http://localhost:4000"),
            ("Accept", BROWSER_ACCEPT),
        ],
    );
    assert_eq!(refused.status, 403);
    assert_eq!(refused.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(refused.body.contains("<h1>Request refused</h1>"), "{}", refused.body);
}

/// Started with a bad base URL, the quickstart says what is wrong as a sentence (the program
/// prints this and exits 1), not as the error's `Debug` form (`Error: BaseUrl("notaurl")`).
#[test]
fn a_bad_base_url_is_said_as_a_sentence() {
    let outbox: quickstart::Outbox = std::sync::Arc::new(|_| {});
    let sessions = quickstart::development_sessions().expect("sessions");
    let Err(error) = quickstart::app(sessions, "notaurl", outbox) else {
        panic!("a base URL that is not a URL is refused");
    };
    assert_eq!(
        auth_examples::error_message("quickstart", &*error),
        "quickstart: base URL `notaurl` must be an absolute http(s) URL without query or fragment, like `https://app.example.com`"
    );
}

/// Opens the quickstart's store on `runtime`, as a start of the app would.
type Opener<'a> = dyn Fn(&tokio::runtime::Runtime) -> std::sync::Arc<dyn auth_runtime::store::Store> + 'a;

/// Starts the quickstart on the store `open` opens, as its `main` does (the development key read
/// from the store, or made and saved by the first start); its address.
fn start_on(
    open: &Opener<'_>,
    sent: &std::sync::Arc<std::sync::Mutex<Vec<quickstart::Message>>>,
) -> std::net::SocketAddr {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = open(&runtime);
    let pem = runtime
        .block_on(quickstart::development_key(store.as_ref()))
        .expect("the development key");
    let sessions = quickstart::sessions_with_key(&pem).expect("sessions");
    let recorder = std::sync::Arc::clone(sent);
    let outbox: quickstart::Outbox = std::sync::Arc::new(move |message| recorder.lock().unwrap().push(message));
    let app = quickstart::app_with_store(sessions, "http://localhost:3000", outbox, store).expect("app");
    common::client::serve_on(runtime, app)
}

/// The quickstart restarted on the same durable store: a session from before the restart still
/// works (the development key was kept), a logout is still revoked, and a magic link used before
/// the restart is still used.
fn a_restart_keeps_sessions_revocations_and_used_links(open: &Opener<'_>) {
    use common::client::{path_of, post_form, redeem_link};
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let before = start_on(open, &sent);
    let requested = post_form(before, "/auth/link/authorize", &[], &[("email", "ada@example.com")]);
    assert_eq!(requested.status, 200, "{}", requested.body);
    let link = match sent.lock().unwrap().last() {
        Some(quickstart::Message::Link { url, .. }) => path_of(url),
        other => panic!("no link sent: {other:?}"),
    };
    let redeemed = redeem_link(before, &link, &[]);
    assert_eq!(redeemed.status, 302, "{}", redeemed.body);
    let kept = format!(
        "auth-token={}",
        redeemed.cookie("auth-token").expect("a session cookie")
    );
    let logged_out = signed_in_cookie(before);
    let logout = common::client::send(
        before,
        "POST",
        "/logout",
        &[("Cookie", &logged_out), ("Sec-Fetch-Site", "same-origin")],
    );
    assert_eq!(logout.status, 302);

    let after = start_on(open, &sent);
    let me = get(after, "/me", &[("Cookie", &kept)]);
    assert_eq!(me.status, 200, "signed in across the restart: {}", me.body);
    let replayed = get(after, "/me", &[("Cookie", &logged_out)]);
    assert_eq!(replayed.status, 401, "{}", replayed.body);
    assert!(
        replayed.json()["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("revoked"))
    );
    let again = redeem_link(after, &link, &[]);
    assert_eq!(again.status, 400, "a used link stays used: {}", again.body);
    assert!(again.body.contains("already used"), "{}", again.body);
}

#[test]
fn a_restart_on_sqlite_keeps_sessions_revocations_and_used_links() {
    let data = std::env::temp_dir().join(format!("auth-quickstart-restart-{}", std::process::id()));
    std::fs::create_dir_all(&data).expect("a data folder");
    let file = data.join("auth.sqlite");
    a_restart_keeps_sessions_revocations_and_used_links(&|runtime| {
        std::sync::Arc::new(
            runtime
                .block_on(auth_runtime::store::SqliteStore::connect(&file))
                .expect("open"),
        )
    });
    let _ = std::fs::remove_dir_all(&data);
}

#[ignore = "needs PostgreSQL (initdb, pg_ctl)"]
#[test]
fn a_restart_on_postgres_keeps_sessions_revocations_and_used_links() {
    let server = common::backends::postgres_server();
    let url = server.url();
    a_restart_keeps_sessions_revocations_and_used_links(&|runtime| {
        std::sync::Arc::new(
            runtime
                .block_on(auth_runtime::store::PostgresStore::connect(url.clone()))
                .expect("connect"),
        )
    });
}

/// The variable that makes this test binary, run again by the test below, serve the quickstart on
/// the SQLite file in the folder it names instead of running tests.
const CHILD_DATA: &str = "AUTH_TEST_QUICKSTART_DATA";

/// The quickstart on SQLite is killed with SIGKILL while sign-ins and logouts are under way, then
/// started again on the same file: every session it had answered still works, and every logout
/// it had answered is still revoked. (The app runs in a process of its own: this test binary,
/// run again with [`CHILD_DATA`] set.)
#[test]
fn a_kill_9_in_the_middle_of_sign_ins_loses_nothing_answered() {
    if let Some(data) = std::env::var_os(CHILD_DATA) {
        serve_quickstart_on_sqlite_forever(std::path::Path::new(&data));
    }
    let data = std::env::temp_dir().join(format!("auth-quickstart-kill-{}", std::process::id()));
    std::fs::create_dir_all(&data).expect("a data folder");

    let (mut child, addr) = start_child(&data);
    let answered = std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), Vec::new())));
    let worker = {
        let answered = std::sync::Arc::clone(&answered);
        std::thread::spawn(move || {
            // Sign in, then log out every other session, until the server stops answering.
            for i in 0.. {
                let Ok(login) = common::client::try_send_body(addr, "GET", "/login?name=alice", &[], "") else {
                    return;
                };
                let Some(cookie) = login.header("set-cookie").and_then(|set| set.split(';').next()) else {
                    panic!("a login answered without a cookie: {}", login.status);
                };
                let cookie = cookie.to_owned();
                if i % 2 == 0 {
                    answered.lock().unwrap().0.push(cookie);
                    continue;
                }
                let headers = [("Cookie", cookie.as_str()), ("Sec-Fetch-Site", "same-origin")];
                match common::client::try_send_body(addr, "POST", "/logout", &headers, "") {
                    Ok(reply) if reply.status == 302 => answered.lock().unwrap().1.push(cookie),
                    Ok(reply) => panic!("logout answered {}: {}", reply.status, reply.body),
                    Err(_) => return,
                }
            }
        })
    };
    // Kill it once it has answered a few dozen of each, mid-stream.
    while answered.lock().unwrap().1.len() < 40 {
        std::thread::yield_now();
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    worker.join().expect("the worker ends when the server is gone");

    let (mut restarted, addr) = start_child(&data);
    let (kept, revoked) = std::mem::take(&mut *answered.lock().unwrap());
    for cookie in &kept {
        let me = get(addr, "/me", &[("Cookie", cookie)]);
        assert_eq!(me.status, 200, "an answered sign-in works after the crash: {}", me.body);
    }
    for cookie in &revoked {
        let me = get(addr, "/me", &[("Cookie", cookie)]);
        assert_eq!(me.status, 401, "an answered logout stays revoked: {}", me.body);
    }
    eprintln!(
        "{} sessions and {} logouts answered before SIGKILL, all as they were",
        kept.len(),
        revoked.len()
    );
    let _ = restarted.kill();
    let _ = restarted.wait();
    let _ = std::fs::remove_dir_all(&data);
}

/// This test binary run again as the quickstart on `data`; its address, once it listens (it
/// writes it into `data/address`).
fn start_child(data: &std::path::Path) -> (std::process::Child, std::net::SocketAddr) {
    let address = data.join("address");
    let _ = std::fs::remove_file(&address);
    let mut child = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "quickstart::a_kill_9_in_the_middle_of_sign_ins_loses_nothing_answered",
        ])
        .args(["--include-ignored", "--test-threads=1"])
        .env(CHILD_DATA, data)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the test binary runs again");
    let started = std::time::Instant::now();
    loop {
        if let Some(addr) = std::fs::read_to_string(&address)
            .ok()
            .and_then(|text| text.parse().ok())
        {
            return (child, addr);
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the quickstart child exited before it listened: {status}");
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the child never listened"
        );
        std::thread::yield_now();
    }
}

fn serve_quickstart_on_sqlite_forever(data: &std::path::Path) -> ! {
    let file = data.join("auth.sqlite");
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let addr = start_on(
        &|runtime| {
            std::sync::Arc::new(
                runtime
                    .block_on(auth_runtime::store::SqliteStore::connect(&file))
                    .expect("open"),
            )
        },
        &sent,
    );
    // Written whole under another name, then renamed: the parent never reads half an address.
    let partial = data.join("address.partial");
    std::fs::write(&partial, addr.to_string()).expect("write the address");
    std::fs::rename(&partial, data.join("address")).expect("publish the address");
    loop {
        std::thread::park();
    }
}
