//! Drives the quickstart app over real HTTP on 127.0.0.1: sign in, read `/me` with the cookie
//! and with a Bearer token, refuse a bad token and an open redirect, log out.

#[allow(dead_code, reason = "the example's own main is not used here")]
#[path = "../examples/quickstart.rs"]
mod quickstart;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection, read to the end (`Connection: close`).
fn get(addr: SocketAddr, path: &str, extra_headers: &[(&str, &str)]) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in extra_headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("writes");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("reads");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

#[test]
fn quickstart_signs_in_reads_back_and_logs_out() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("binds");
    let addr = listener.local_addr().expect("address");
    let app = quickstart::app(quickstart::development_sessions().expect("sessions"));
    let server = std::thread::spawn(move || {
        runtime.block_on(async move {
            // Serves until the test's last request; the thread ends with the process.
            let _ = axum::serve(listener, app).await;
        })
    });

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
    assert_eq!(body["source"], "Cookie");
    assert_eq!(body["subject"], "alice");

    let token = get(addr, "/token?name=bob", &[]).body;
    let bearer = get(addr, "/me", &[("Authorization", &format!("Bearer {token}"))]);
    assert_eq!(bearer.status, 200);
    assert!(bearer.body.contains("\"bob\""), "{}", bearer.body);

    let tampered = format!("Bearer {}x", token);
    let rejected = get(addr, "/me", &[("Authorization", &tampered)]);
    assert_eq!(rejected.status, 401);
    assert!(rejected.body.contains("rejected"), "{}", rejected.body);

    let open_redirect = get(addr, "/login?name=eve&redirect=//evil.example", &[]);
    assert_eq!(open_redirect.status, 400);
    assert!(open_redirect.header("set-cookie").is_none());

    let logout = get(addr, "/logout", &[("Cookie", cookie)]);
    assert_eq!(logout.status, 302);
    assert_eq!(
        logout.header("set-cookie"),
        Some("auth-token=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0")
    );

    let home = get(addr, "/", &[("Cookie", cookie)]);
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Signed in as"));
    drop(server);
}
