//! The authorization server (`AuthHandlerBuilder::clients`): the issuer example's app served on
//! 127.0.0.1, driven over real sockets by a small cookie-keeping client. A person signs in with a
//! one-time code; the code the client gets back is exchanged at the token endpoint. Every
//! refusal the issue lists has a case here: redirect URI mismatches, code replay, a code used by
//! another client, PKCE missing, wrong or `plain`, `state` passed through untouched, `iss`, an
//! unknown client never redirected to, and CORS. OpenAuth's own client and Chromium drive the
//! same app in `authorization_interop.rs`.

use std::net::SocketAddr;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use auth_examples::issuer_app::{issuer_app, issuer_sessions};
use auth_examples::quickstart::AppSession;
use auth_examples::quickstart_app::{Message, Outbox};
use auth_runtime::RateLimit;
use auth_runtime::providers::authorization::{Client, ClientSecretHash, Clients};
use auth_runtime::providers::{AuthHandler, AuthHandlerBuilder, CodeProvider, CodeRequest, FlowResponse};
use auth_runtime::refresh::RefreshTokens;
use auth_runtime::store::MemoryStore;
use auth_runtime::{Sessions, SigningKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use crate::common::client::{Browser, Reply, get, post_form, send, serve_later};
use crate::common::clock::MovableClock;

/// The verifier of every test's PKCE pair, and its S256 challenge.
const VERIFIER: &str = "a-verifier-of-enough-length-0123456789-abcdefghijklmnop";

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The issuer example's app on 127.0.0.1, with the outbox its codes go to.
pub struct Issuer {
    pub addr: SocketAddr,
    pub base: String,
    messages: mpsc::Receiver<Message>,
}

/// The web client every test registers, and a second one.
pub const WEB: &str = "web";
pub const WEB_REDIRECT: &str = "https://web.example.com/callback";
const OTHER: &str = "other";
const OTHER_REDIRECT: &str = "https://other.example.com/callback";
const BACKEND: &str = "backend";
const BACKEND_REDIRECT: &str = "https://backend.example.com/auth/callback";
const NATIVE: &str = "native";

impl Issuer {
    /// The issuer with `web`, `other`, a confidential `backend` (its secret returned) and a
    /// `native` app on the loopback interface.
    pub fn start() -> (Issuer, String) {
        let (secret, hash) = ClientSecretHash::generate().expect("a secret");
        let clients = Clients::new()
            .client(Client::public(WEB).redirect_uri(WEB_REDIRECT))
            .client(Client::public(OTHER).redirect_uri(OTHER_REDIRECT))
            .client(Client::confidential(BACKEND, hash).redirect_uri(BACKEND_REDIRECT))
            .client(Client::public(NATIVE).redirect_uri("http://127.0.0.1/callback"));
        (Issuer::with_clients(clients), secret)
    }

    pub fn with_clients(clients: Clients) -> Issuer {
        Issuer::on_host("127.0.0.1", clients)
    }

    /// The issuer at `http://<host>:<port>` (`localhost`, for a browser that must see it as
    /// another site than a front end on `127.0.0.1`).
    pub fn on_host(host: &str, clients: Clients) -> Issuer {
        let (addr, start) = serve_later();
        let base = format!("http://{host}:{}", addr.port());
        let (sender, messages) = mpsc::channel();
        let outbox: Outbox = Arc::new(move |message| {
            let _ = sender.send(message);
        });
        let sessions = issuer_sessions(&base).expect("sessions");
        let app = issuer_app(sessions, &base, clients, outbox, Arc::new(MemoryStore::new())).expect("the issuer");
        start(app);
        Issuer { addr, base, messages }
    }

    pub fn issuer(&self) -> String {
        format!("{}/auth", self.base)
    }

    /// `/auth/authorize` for `client` with these parameters on top of the usual ones.
    pub fn authorize_url(&self, client: &str, redirect: &str, state: &str, extra: &[(&str, &str)]) -> String {
        let challenge = challenge(VERIFIER);
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("client_id", client)
            .append_pair("redirect_uri", redirect)
            .append_pair("response_type", "code")
            .append_pair("state", state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        for (name, value) in extra {
            query.append_pair(name, value);
        }
        format!("{}/auth/authorize?{}", self.base, query.finish())
    }

    /// The next code the issuer "emailed".
    pub fn next_code(&self) -> String {
        match self.messages.recv_timeout(Duration::from_secs(10)) {
            Ok(Message::Code { code, .. }) => code,
            other => panic!("expected a code, got {other:?}"),
        }
    }

    /// A person signs in as `email` from the picker `authorize` leads to; returns the reply that
    /// ends the flow (the redirect to the client, or an error page).
    pub fn sign_in(&self, browser: &mut Browser, authorize: &str, email: &str) -> Reply {
        let picker = browser.follow(authorize, None);
        assert_eq!(picker.status, 200, "the picker: {}", picker.body);
        let authorization = hidden_authorization(&picker.body);
        let origin = [("Origin", self.base.as_str())];
        let asked = browser.post_form(
            &format!("{}/auth/code/authorize", self.base),
            &origin,
            &[("authorization", &authorization), ("email", email)],
        );
        assert_eq!(asked.status, 200, "the code form: {}", asked.body);
        let code = self.next_code();
        browser.post_form(
            &format!("{}/auth/code/callback", self.base),
            &origin,
            &[("code", &code)],
        )
    }

    /// `POST /auth/token` with `form` (and `headers`).
    pub fn token(&self, headers: &[(&str, &str)], form: &[(&str, &str)]) -> Reply {
        post_form(self.addr, "/auth/token", headers, form)
    }

    /// The code grant for `client` with the usual verifier and `redirect`.
    pub fn exchange(&self, client: &str, redirect: &str, code: &str) -> Reply {
        self.token(
            &[],
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect),
                ("client_id", client),
                ("code_verifier", VERIFIER),
            ],
        )
    }
}

/// The `authorization` field of the picker's form.
pub fn hidden_authorization(page: &str) -> String {
    let marker = "name=\"authorization\" value=\"";
    let start = page
        .find(marker)
        .map(|at| at + marker.len())
        .expect("the picker's authorization field");
    let end = page[start..].find('"').expect("the field's end") + start;
    page[start..end].to_owned()
}

/// The query parameters of a redirect's `Location`.
pub fn location_query(reply: &Reply) -> Vec<(String, String)> {
    let location = reply
        .header("location")
        .unwrap_or_else(|| panic!("a redirect: {} {}", reply.status, reply.body));
    let url = url::Url::parse(location).expect("an absolute location");
    url.query_pairs().into_owned().collect()
}

pub fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The payload of a compact JWS, decoded without verifying (the tests read what was issued).
pub fn payload(token: &str) -> serde_json::Value {
    let part = token.split('.').nth(1).expect("a JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

/// A full sign-in for `web`: the code the client gets back.
fn code_for_web(issuer: &Issuer) -> String {
    let mut browser = Browser::default();
    let done = issuer.sign_in(
        &mut browser,
        &issuer.authorize_url(WEB, WEB_REDIRECT, "s1", &[]),
        "ada@example.com",
    );
    assert_eq!(done.status, 302, "{}", done.body);
    let query = location_query(&done);
    param(&query, "code").expect("a code").to_owned()
}

#[test]
fn a_person_signs_in_and_the_client_gets_a_pair_for_its_audience() {
    let (issuer, _) = Issuer::start();
    let mut browser = Browser::default();
    // `state` as the client sent it, bytes it must not touch included.
    let state = "st/ate+with spaces&=é%20";
    let done = issuer.sign_in(
        &mut browser,
        &issuer.authorize_url(WEB, WEB_REDIRECT, state, &[]),
        "ada@example.com",
    );
    assert_eq!(done.status, 302, "{}", done.body);
    let location = done.header("location").expect("a location");
    assert!(location.starts_with(&format!("{WEB_REDIRECT}?")), "{location}");
    let query = location_query(&done);
    assert_eq!(param(&query, "state"), Some(state), "state comes back untouched");
    assert_eq!(param(&query, "iss"), Some(issuer.issuer().as_str()), "RFC 9207's iss");
    // Nothing is signed in on the issuer's origin, and the authorization is over.
    assert_eq!(done.cookie("auth-token"), None, "no session cookie on the issuer");
    assert_eq!(
        done.cookie("auth-authorization"),
        Some(""),
        "the authorization cookie is cleared"
    );
    let code = param(&query, "code").expect("a code");
    assert_eq!(code.len(), 43);

    let answer = issuer.exchange(WEB, WEB_REDIRECT, code);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let pair = answer.json();
    let access = pair["access_token"].as_str().expect("an access token");
    let claims = payload(access);
    assert_eq!(claims["aud"], WEB, "the access token is for the client");
    assert_eq!(claims["iss"], issuer.issuer());
    assert_eq!(claims["mode"], "access");
    assert_eq!(claims["type"], "user");
    assert_eq!(claims["properties"]["userID"], "ada@example.com");
    assert_eq!(claims["sub"], "ada@example.com");

    // The pair rotates at the token endpoint, and keeps its audience.
    let refresh = pair["refresh_token"].as_str().expect("a refresh token");
    let next = issuer.token(&[], &[("grant_type", "refresh_token"), ("refresh_token", refresh)]);
    assert_eq!(next.status, 200, "{}", next.body);
    assert_eq!(
        payload(next.json()["access_token"].as_str().expect("access"))["aud"],
        WEB
    );
}

#[test]
fn a_code_works_once_and_a_replay_revokes_what_it_bought() {
    let (issuer, _) = Issuer::start();
    let code = code_for_web(&issuer);
    let first = issuer.exchange(WEB, WEB_REDIRECT, &code);
    assert_eq!(first.status, 200, "{}", first.body);
    let refresh = first.json()["refresh_token"].as_str().expect("refresh").to_owned();
    let again = issuer.exchange(WEB, WEB_REDIRECT, &code);
    assert_eq!(again.status, 400);
    assert_eq!(again.json()["error"], "invalid_grant");
    // The family the first exchange started is revoked: its refresh token no longer works.
    let refreshed = issuer.token(&[], &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    assert_eq!(refreshed.status, 400, "{}", refreshed.body);
    assert_eq!(refreshed.json()["error"], "invalid_grant");
}

#[test]
fn a_code_is_refused_to_another_client_another_redirect_and_without_the_verifier() {
    let (issuer, _) = Issuer::start();
    let invalid_grant = |reply: Reply, why: &str| {
        assert_eq!(reply.status, 400, "{why}: {}", reply.body);
        assert_eq!(reply.json()["error"], "invalid_grant", "{why}");
    };
    invalid_grant(
        issuer.exchange(OTHER, WEB_REDIRECT, &code_for_web(&issuer)),
        "another client",
    );
    invalid_grant(
        issuer.exchange(WEB, OTHER_REDIRECT, &code_for_web(&issuer)),
        "another redirect URI",
    );
    let code = code_for_web(&issuer);
    let missing = issuer.token(
        &[],
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", WEB_REDIRECT),
            ("client_id", WEB),
        ],
    );
    invalid_grant(missing, "no verifier");
    let code = code_for_web(&issuer);
    let wrong = issuer.token(
        &[],
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", WEB_REDIRECT),
            ("client_id", WEB),
            (
                "code_verifier",
                "another-verifier-of-enough-length-0123456789-abcdefghij",
            ),
        ],
    );
    invalid_grant(wrong, "a wrong verifier");
    // `plain`: the challenge itself sent as the verifier.
    let code = code_for_web(&issuer);
    let plain = issuer.token(
        &[],
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", WEB_REDIRECT),
            ("client_id", WEB),
            ("code_verifier", &challenge(VERIFIER)),
        ],
    );
    invalid_grant(plain, "the challenge as a plain verifier");
    // Each of those codes was spent by its failed attempt: the right request no longer works.
    invalid_grant(
        issuer.exchange(WEB, WEB_REDIRECT, &code),
        "a code spent by a failed attempt",
    );
}

#[test]
fn redirect_uris_that_are_not_registered_get_a_page_never_a_redirect() {
    let (issuer, _) = Issuer::start();
    let mismatches = [
        "https://web.example.com/callback/extra",
        "https://web.example.com/call",
        "https://web.example.com/callback?next=1",
        "https://attacker@web.example.com/callback",
        "https://WEB.example.com/callback",
        "https://web.example.com/Callback",
        "https://web.example.com/%63allback",
        "https://web.example.com.attacker.example/callback",
        "https://web.example.com:443/callback",
        "http://web.example.com/callback",
        "https://web.example.com/callback#fragment",
    ];
    for redirect in mismatches {
        let reply = get(issuer.addr, &path(&issuer.authorize_url(WEB, redirect, "s", &[])), &[]);
        assert_eq!(reply.status, 400, "{redirect}: {}", reply.body);
        assert_eq!(reply.header("location"), None, "{redirect} is never redirected to");
    }
    // An unknown client and a missing redirect URI: pages too.
    let unknown = get(
        issuer.addr,
        &path(&issuer.authorize_url("nobody", WEB_REDIRECT, "s", &[])),
        &[],
    );
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.header("location"), None);
    assert!(unknown.body.contains("not registered"), "{}", unknown.body);
    let no_redirect = get(
        issuer.addr,
        &format!("/auth/authorize?client_id={WEB}&response_type=code"),
        &[],
    );
    assert_eq!(no_redirect.status, 400);
    assert_eq!(no_redirect.header("location"), None);
    // The loopback rule: any port on 127.0.0.1 for the native app, nothing else.
    let native = get(
        issuer.addr,
        &path(&issuer.authorize_url(NATIVE, "http://127.0.0.1:61234/callback", "s", &[])),
        &[],
    );
    assert_eq!(native.status, 200, "{}", native.body);
    let elsewhere = get(
        issuer.addr,
        &path(&issuer.authorize_url(NATIVE, "http://localhost:61234/callback", "s", &[])),
        &[],
    );
    assert_eq!(elsewhere.status, 400);
}

/// Errors about the request itself go back to the (registered) redirect URI, with `state` and
/// `iss`: `response_type=token` (OAuth 2.1 has no implicit grant), PKCE missing or `plain`.
#[test]
fn request_errors_go_back_to_a_registered_redirect_uri() {
    let (issuer, _) = Issuer::start();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("code_challenge_method", "plain")], "invalid_request"),
        (&[("code_challenge", "")], "invalid_request"),
        (&[("provider", "nope")], "invalid_request"),
    ];
    for (changed, error) in cases {
        let url = issuer.authorize_url(WEB, WEB_REDIRECT, "keep-me", &[]);
        let mut parsed = url::Url::parse(&url).expect("url");
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .into_owned()
            .filter(|(name, _)| !changed.iter().any(|(changed, _)| changed == name))
            .chain(
                changed
                    .iter()
                    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
            )
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
        let reply = get(issuer.addr, &path(parsed.as_str()), &[]);
        assert_eq!(reply.status, 302, "{changed:?}: {}", reply.body);
        let query = location_query(&reply);
        assert!(reply.header("location").expect("location").starts_with(WEB_REDIRECT));
        assert_eq!(param(&query, "error"), Some(error), "{changed:?}");
        assert_eq!(param(&query, "state"), Some("keep-me"));
        assert_eq!(param(&query, "iss"), Some(issuer.issuer().as_str()));
        assert_eq!(reply.cookie("auth-authorization"), None, "nothing was started");
    }
}

#[test]
fn a_confidential_client_authenticates_with_basic_or_post() {
    let (issuer, secret) = Issuer::start();
    let code_for_backend = || {
        let mut browser = Browser::default();
        let done = issuer.sign_in(
            &mut browser,
            &issuer.authorize_url(BACKEND, BACKEND_REDIRECT, "s", &[]),
            "ada@example.com",
        );
        param(&location_query(&done), "code").expect("a code").to_owned()
    };
    let grant = |code: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", BACKEND_REDIRECT.to_owned()),
            ("code_verifier", VERIFIER.to_owned()),
        ]
    };
    let as_form = |pairs: &[(&'static str, String)]| -> Vec<(&'static str, String)> { pairs.to_vec() };
    let send_form = |headers: &[(&str, &str)], pairs: Vec<(&str, String)>| {
        let form: Vec<(&str, &str)> = pairs.iter().map(|(name, value)| (*name, value.as_str())).collect();
        issuer.token(headers, &form)
    };
    // Without its secret: refused, and the code is spent.
    let mut unauthenticated = as_form(&grant(&code_for_backend()));
    unauthenticated.push(("client_id", BACKEND.to_owned()));
    let refused = send_form(&[], unauthenticated);
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(refused.json()["error"], "invalid_client");
    // A wrong secret by Basic: 401 with the Basic challenge.
    let wrong = format!("Basic {}", STANDARD.encode(format!("{BACKEND}:{}", "x".repeat(43))));
    let refused = send_form(&[("Authorization", &wrong)], grant(&code_for_backend()));
    assert_eq!(refused.status, 401);
    assert!(
        refused
            .header("www-authenticate")
            .is_some_and(|value| value.starts_with("Basic"))
    );
    // client_secret_basic.
    let basic = format!("Basic {}", STANDARD.encode(format!("{BACKEND}:{secret}")));
    let by_basic = send_form(&[("Authorization", &basic)], grant(&code_for_backend()));
    assert_eq!(by_basic.status, 200, "{}", by_basic.body);
    // client_secret_post.
    let mut post = grant(&code_for_backend());
    post.push(("client_id", BACKEND.to_owned()));
    post.push(("client_secret", secret.clone()));
    let by_post = send_form(&[], post.clone());
    assert_eq!(by_post.status, 200, "{}", by_post.body);
    // Both at once: refused (RFC 6749 section 2.3).
    let both = send_form(&[("Authorization", &basic)], post);
    assert_eq!(both.status, 400);
    // Its family refreshes only with its secret.
    let refresh = by_post.json()["refresh_token"].as_str().expect("refresh").to_owned();
    let anonymous = issuer.token(&[], &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    assert_eq!(anonymous.status, 400, "{}", anonymous.body);
    let authenticated = issuer.token(
        &[("Authorization", &basic)],
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    );
    assert_eq!(authenticated.status, 200, "{}", authenticated.body);
}

/// A public client's family refreshes without credentials, but never for another client's.
#[test]
fn a_family_refreshes_only_for_its_own_client() {
    let (issuer, secret) = Issuer::start();
    let pair = issuer.exchange(WEB, WEB_REDIRECT, &code_for_web(&issuer)).json();
    let refresh = pair["refresh_token"].as_str().expect("refresh");
    let basic = format!("Basic {}", STANDARD.encode(format!("{BACKEND}:{secret}")));
    let as_backend = issuer.token(
        &[("Authorization", &basic)],
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    );
    assert_eq!(
        as_backend.status, 400,
        "the backend cannot rotate web's family: {}",
        as_backend.body
    );
}

/// The picker's `authorization` field ties a flow to this browser's authorization in progress;
/// a sign-in started without it (the app's own sign-in page) abandons the authorization.
#[test]
fn only_a_flow_started_for_the_authorization_ends_in_a_code() {
    let (issuer, _) = Issuer::start();
    let origin = [("Origin", issuer.base.as_str())];
    // Another browser's authorization id: refused.
    let mut attacker = Browser::default();
    let picker = attacker.follow(&issuer.authorize_url(WEB, WEB_REDIRECT, "s", &[]), None);
    let attackers = hidden_authorization(&picker.body);
    let mut victim = Browser::default();
    victim.follow(&issuer.authorize_url(WEB, WEB_REDIRECT, "s", &[]), None);
    let refused = victim.post_form(
        &format!("{}/auth/code/authorize", issuer.base),
        &origin,
        &[("authorization", &attackers), ("email", "victim@example.com")],
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(issuer.messages.try_recv().is_err(), "no code was sent");

    // A sign-in of the issuer's own, started without the id: the authorization cookie goes, and
    // the flow ends in a session here, not in a code for the client.
    let mut person = Browser::default();
    person.follow(&issuer.authorize_url(WEB, WEB_REDIRECT, "s", &[]), None);
    let own = person.post_form(
        &format!("{}/auth/code/authorize", issuer.base),
        &origin,
        &[("email", "ada@example.com")],
    );
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(
        own.cookie("auth-authorization"),
        Some(""),
        "the abandoned authorization is cleared"
    );
    let code = issuer.next_code();
    let done = person.post_form(
        &format!("{}/auth/code/callback", issuer.base),
        &origin,
        &[("code", &code)],
    );
    assert_eq!(done.status, 302);
    assert_eq!(done.header("location"), Some("/"), "signed in on the issuer itself");
    assert!(done.cookie("auth-token").is_some_and(|token| !token.is_empty()));
}

/// A handler of the test's own for `web` (a code provider whose codes reach the test, sessions
/// on `clock`), with `configure` applied to its builder.
fn custom_issuer(
    clock: &MovableClock,
    configure: impl FnOnce(AuthHandlerBuilder<AppSession>) -> AuthHandlerBuilder<AppSession>,
) -> Issuer {
    let clients = Clients::new().client(Client::public(WEB).redirect_uri(WEB_REDIRECT));
    let (addr, start) = serve_later();
    let base = format!("http://{addr}");
    let sessions = Sessions::builder()
        .signing_key(SigningKey::generate_ed25519().expect("a key"))
        .issuer(format!("{base}/auth"))
        .audience("issuer")
        .subject_from(|_| Some("ada".to_owned()))
        .clock(clock.source())
        .build()
        .expect("sessions");
    let tokens = RefreshTokens::builder(sessions.clone(), Arc::new(MemoryStore::new()))
        .build()
        .expect("tokens");
    let (sender, messages) = mpsc::channel();
    let sender = std::sync::Mutex::new(sender);
    let codes = CodeProvider::new(
        move |request: CodeRequest| {
            if let Ok(sender) = sender.lock() {
                let to = request.claims.get("email").unwrap_or_default().to_owned();
                let _ = sender.send(Message::Code { to, code: request.code });
            }
            async { Ok(FlowResponse::new("sent".into())) }
        },
        |_| async { Ok(FlowResponse::new("wrong".into())) },
    );
    let builder = AuthHandler::builder(sessions.clone(), &base)
        .provider("code", codes, move |_| {
            let sessions = sessions.clone();
            async move {
                let ada = AppSession::User { user_id: "ada".into() };
                Ok(sessions.cookie(&ada, "/")?)
            }
        })
        .refresh_tokens(tokens)
        .clients(clients);
    start(configure(builder).build().expect("a handler").router());
    Issuer { addr, base, messages }
}

#[test]
fn a_code_works_for_sixty_seconds() {
    let clock = MovableClock::from_now();
    let issuer = custom_issuer(&clock, |builder| builder);
    let in_time = code_for_web(&issuer);
    clock.advance(Duration::from_secs(59));
    assert_eq!(issuer.exchange(WEB, WEB_REDIRECT, &in_time).status, 200);
    let late = code_for_web(&issuer);
    clock.advance(Duration::from_secs(60));
    let refused = issuer.exchange(WEB, WEB_REDIRECT, &late);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.json()["error"], "invalid_grant");
}

#[test]
fn the_allow_hook_can_refuse_what_the_registry_accepts() {
    let issuer = custom_issuer(&MovableClock::from_now(), |builder| {
        builder.allow(|request| async move { request.headers.get("x-allowed").is_some() })
    });
    let url = path(&issuer.authorize_url(WEB, WEB_REDIRECT, "s", &[]));
    let refused = get(issuer.addr, &url, &[]);
    assert_eq!(refused.status, 302);
    assert_eq!(param(&location_query(&refused), "error"), Some("unauthorized_client"));
    let allowed = get(issuer.addr, &url, &[("X-Allowed", "1")]);
    assert_eq!(allowed.status, 200, "{}", allowed.body);
}

/// Each authorization request keeps a record: a client address past the handler's per-client
/// limit is sent back with `temporarily_unavailable`, and nothing more is kept.
#[test]
fn authorization_requests_count_against_the_per_client_limit() {
    let issuer = custom_issuer(&MovableClock::from_now(), |builder| {
        builder.limit_requests_per_client(RateLimit::new(3, Duration::from_secs(60)))
    });
    let url = path(&issuer.authorize_url(WEB, WEB_REDIRECT, "s", &[]));
    for _ in 0..3 {
        let reply = get(issuer.addr, &url, &[]);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(reply.cookie("auth-authorization").is_some());
    }
    let limited = get(issuer.addr, &url, &[]);
    assert_eq!(limited.status, 302);
    assert_eq!(
        param(&location_query(&limited), "error"),
        Some("temporarily_unavailable")
    );
    assert_eq!(limited.cookie("auth-authorization"), None, "nothing was kept");
}

#[test]
fn cors_lets_registered_origins_exchange_and_anyone_read_the_public_documents() {
    let clients = Clients::new().client(
        Client::public(WEB)
            .redirect_uri(WEB_REDIRECT)
            .cors_origin("https://spa.example.com"),
    );
    let issuer = Issuer::with_clients(clients);
    let preflight = |origin: &str| {
        send(
            issuer.addr,
            "OPTIONS",
            "/auth/token",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type"),
            ],
        )
    };
    for origin in ["https://web.example.com", "https://spa.example.com"] {
        let reply = preflight(origin);
        assert_eq!(reply.header("access-control-allow-origin"), Some(origin), "{origin}");
        assert!(
            reply
                .header("access-control-allow-methods")
                .is_some_and(|methods| methods.contains("POST"))
        );
    }
    for origin in ["https://evil.example.com", "null"] {
        assert_eq!(
            preflight(origin).header("access-control-allow-origin"),
            None,
            "{origin}"
        );
    }
    let exchange = post_form(
        issuer.addr,
        "/auth/token",
        &[("Origin", "https://evil.example.com")],
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    );
    assert_eq!(exchange.header("access-control-allow-origin"), None);
    for document in [
        "/auth/.well-known/jwks.json",
        "/auth/.well-known/oauth-authorization-server",
    ] {
        let reply = get(issuer.addr, document, &[("Origin", "https://anyone.example.com")]);
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("access-control-allow-origin"), Some("*"), "{document}");
    }
}

#[test]
fn the_metadata_lists_every_endpoint_grant_and_method() {
    let (issuer, _) = Issuer::start();
    let metadata = get(issuer.addr, "/auth/.well-known/oauth-authorization-server", &[]).json();
    let base = issuer.issuer();
    assert_eq!(metadata["issuer"], base);
    assert_eq!(metadata["authorization_endpoint"], format!("{base}/authorize"));
    assert_eq!(metadata["token_endpoint"], format!("{base}/token"));
    assert_eq!(metadata["jwks_uri"], format!("{base}/.well-known/jwks.json"));
    assert_eq!(metadata["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        metadata["grant_types_supported"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        serde_json::json!(["none", "client_secret_basic", "client_secret_post"])
    );
    assert_eq!(metadata["authorization_response_iss_parameter_supported"], true);
}

/// The path and query of an absolute URL on the issuer.
fn path(url: &str) -> String {
    crate::common::client::path_of(url)
}

/// Without clients the handler is no authorization server: a parameter called `authorization`
/// is an ordinary claim, as before, not a refusal.
#[test]
fn without_clients_authorization_is_an_ordinary_parameter() {
    use auth_runtime::providers::{Link, LinkProvider};
    let (addr, start) = serve_later();
    let base = format!("http://{addr}");
    let sessions = issuer_sessions(&base).expect("sessions");
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let links = {
        let seen = Arc::clone(&seen);
        LinkProvider::new(move |link: Link| {
            seen.lock()
                .expect("lock")
                .push(link.claims.get("authorization").map(str::to_owned));
            async { Ok(FlowResponse::new("sent".into())) }
        })
    };
    let handler = AuthHandler::builder(sessions.clone(), &base)
        .provider("link", links, move |_| {
            let sessions = sessions.clone();
            async move { Ok(sessions.cookie(&AppSession::User { user_id: "ada".into() }, "/")?) }
        })
        .build()
        .expect("a handler");
    start(handler.router());
    let reply = post_form(
        addr,
        "/auth/link/authorize",
        &[("Origin", &base)],
        &[("email", "ada@example.com"), ("authorization", "an ordinary value")],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        seen.lock().expect("lock").pop(),
        Some(Some("an ordinary value".to_owned()))
    );
}
