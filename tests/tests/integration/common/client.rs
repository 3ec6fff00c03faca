//! A minimal HTTP/1.1 client over `std::net`, and a helper that serves an axum router on
//! 127.0.0.1 for the duration of a test. Real sockets, no mocks.

#![allow(dead_code, reason = "each test file uses a different part of the helpers")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }
}

/// One request on a fresh connection, read to the end (`Connection: close`).
pub fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    send_body(addr, method, path, headers, "")
}

/// A `POST` of an HTML form (`application/x-www-form-urlencoded`).
pub fn post_form(addr: SocketAddr, path: &str, headers: &[(&str, &str)], form: &[(&str, &str)]) -> Reply {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut headers = headers.to_vec();
    headers.push(("Content-Type", "application/x-www-form-urlencoded"));
    send_body(addr, "POST", path, &headers, &body)
}

/// Redeems a sign-in link as a browser does from the link's page: `POST`s its token to the
/// callback, from this site. (A `GET` of the link only answers that page.)
pub fn redeem_link(addr: SocketAddr, link_path: &str, headers: &[(&str, &str)]) -> Reply {
    let (path, query) = link_path.split_once('?').expect("a link with a query");
    let token = url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
        .expect("a token in the link");
    let mut headers = headers.to_vec();
    headers.push(("Sec-Fetch-Site", "same-origin"));
    post_form(addr, path, &headers, &[("token", &token)])
}

/// [`send`] with a request body.
pub fn send_body(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    try_send_body(addr, method, path, headers, body).unwrap_or_else(|error| panic!("{method} {path}: {error}"))
}

/// [`send_body`], or why no complete answer came (the server was killed, say).
pub fn try_send_body(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Reply, String> {
    let mut stream = TcpStream::connect(addr).map_err(|error| format!("connect: {error}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|error| error.to_string())?;
    let length = body.len();
    let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {length}\r\n");
    // `Host: <addr>` unless the test names another (a site's public name, say).
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("host")) {
        request.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .map_err(|error| format!("write: {error}"))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|error| format!("read: {error}"))?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n").ok_or("an incomplete response")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or("no status")?;
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: body.to_owned(),
    })
}

pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    send(addr, "GET", path, headers)
}

impl Reply {
    /// The `name=value` part of every `Set-Cookie`.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, value)| value.split(';').next())
            .collect()
    }

    /// The value this reply sets for cookie `name` (empty when it deletes it).
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies()
            .into_iter()
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    }
}

/// The socket address of an absolute `http://127.0.0.1:<port>/...` URL.
pub fn addr_of(url: &str) -> SocketAddr {
    let url = url::Url::parse(url).expect("absolute URL");
    format!("{}:{}", url.host_str().expect("host"), url.port().expect("port"))
        .parse()
        .expect("a 127.0.0.1 address")
}

/// The path and query of an absolute URL.
pub fn path_of(url: &str) -> String {
    let url = url::Url::parse(url).expect("absolute URL");
    url[url::Position::BeforePath..].to_owned()
}

/// A browser in miniature: follows redirects across hosts (at most 20 hops) and keeps the
/// cookies it is given, one jar for all of 127.0.0.1 as a browser would (cookies ignore ports).
#[derive(Default)]
pub struct Browser {
    cookies: Vec<(String, String)>,
}

impl Browser {
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, reply: &Reply) {
        for pair in reply.set_cookies() {
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            self.cookies.retain(|(known, _)| known != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    /// A form `POST` to an absolute `url` with this browser's cookies (and `headers`), keeping
    /// the cookies the reply sets; redirects are not followed.
    pub fn post_form(&mut self, url: &str, headers: &[(&str, &str)], form: &[(&str, &str)]) -> Reply {
        let cookies = self.cookie_header();
        let mut all = headers.to_vec();
        if !cookies.is_empty() {
            all.push(("Cookie", &cookies));
        }
        let reply = post_form(addr_of(url), &path_of(url), &all, form);
        self.keep(&reply);
        reply
    }

    /// `GET url`, then every redirect, until a reply that is not a redirect or whose target is
    /// `stop_at` (the target is returned in that reply's `location`, unfollowed).
    pub fn follow(&mut self, url: &str, stop_at: Option<&str>) -> Reply {
        let mut url = url::Url::parse(url).expect("absolute URL");
        for _ in 0..20 {
            let (addr, path) = (addr_of(url.as_str()), path_of(url.as_str()));
            let cookies = self.cookie_header();
            let headers: Vec<(&str, &str)> = if cookies.is_empty() {
                vec![]
            } else {
                vec![("Cookie", &cookies)]
            };
            let reply = get(addr, &path, &headers);
            self.keep(&reply);
            let Some(location) = reply.header("location").filter(|_| (300..400).contains(&reply.status)) else {
                return reply;
            };
            let next = url.join(location).expect("a valid redirect");
            if stop_at.is_some_and(|stop| next.as_str().starts_with(stop)) {
                return reply;
            }
            url = next;
        }
        panic!("more than 20 redirects");
    }
}

/// Serves `app` on an ephemeral 127.0.0.1 port from a background thread, with each connection's
/// peer address (`ConnectInfo`, which the per-client limits count); the server lives until the
/// test process ends.
pub fn serve(app: axum::Router) -> SocketAddr {
    serve_on(server_runtime(), app)
}

/// [`serve`] without the peer address: the app cannot tell one client from another.
pub fn serve_without_peer(app: axum::Router) -> SocketAddr {
    let (addr, start) = bind(server_runtime());
    start(app, false);
    addr
}

/// An ephemeral 127.0.0.1 port bound now, and the function that serves an app on it: for two
/// servers that must each know the other's address before either app is built.
pub fn serve_later() -> (SocketAddr, impl FnOnce(axum::Router)) {
    let (addr, start) = bind(server_runtime());
    (addr, move |app: axum::Router| start(app, true))
}

/// [`serve`] on `runtime`, which the app's own tasks (a store's subscription, say) were started on.
pub fn serve_on(runtime: tokio::runtime::Runtime, app: axum::Router) -> SocketAddr {
    let (addr, start) = bind(runtime);
    start(app, true);
    addr
}

fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// An ephemeral 127.0.0.1 port bound on `runtime`, and the function that serves an app there from
/// a thread of its own, with or without each connection's peer address.
fn bind(runtime: tokio::runtime::Runtime) -> (SocketAddr, impl FnOnce(axum::Router, bool)) {
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("binds");
    let addr = listener.local_addr().expect("address");
    let start = move |app: axum::Router, with_peer: bool| {
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let _ = if with_peer {
                    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
                } else {
                    axum::serve(listener, app).await
                };
            })
        });
    };
    (addr, start)
}

/// Provider `name`'s flow at `base`, followed to the identity provider's answer at our callback,
/// which is then sent with its `state` changed: refused as a state mismatch, nothing signed in,
/// and the real answer still completes (a forged one did not end the flow).
pub fn a_forged_state_is_refused(base: &str, name: &str) {
    let mut browser = Browser::default();
    let callback = format!("{base}/auth/{name}/callback");
    let to_us = browser.follow(&format!("{base}/auth/{name}/authorize"), Some(&callback));
    let back = to_us.header("location").expect("back to our callback").to_owned();
    let mut forged = url::Url::parse(&back).expect("URL");
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .into_owned()
        .map(|(key, value)| {
            if key == "state" {
                (key, "forged".to_owned())
            } else {
                (key, value)
            }
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let cookies = browser.cookie_header();
    let refused = get(
        addr_of(forged.as_str()),
        &path_of(forged.as_str()),
        &[("Cookie", &cookies)],
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("state mismatch"), "{}", refused.body);
    assert!(refused.cookie("auth-token").is_none());
    let done = get(addr_of(&back), &path_of(&back), &[("Cookie", &cookies)]);
    assert_eq!(done.status, 302, "the real answer still completes: {}", done.body);
}
