//! The fuzz targets' bodies, shared by `cargo fuzz` (`fuzz_targets/*.rs`) and by the corpus replay
//! in `tests/tests/integration/fuzz_corpora.rs`, which runs every committed input on each `cargo test`.
//!
//! Each target has an oracle beyond "does not panic": the request path never lets an unsigned
//! session through, a decoded session serializes back to JSON that decodes to the same session,
//! an accepted redirect resolves to the allowed origin, and the sign-in flows never sign anyone in
//! on a `GET` or on another site's `POST`, nor start a flow there or continue one another site
//! started; the authorization server redirects only to registered redirect URIs and issues no
//! token to a request that holds no code.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use auth_runtime::{SessionCache, SessionLayer, SessionTypes, Sessions, SigningKey};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::get;
use http::{Request, StatusCode};
use serde::{Deserialize, Serialize};
use tower_service::Service;

/// Properties of a newtype variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Client {
    /// Its id.
    pub id: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// An optional number.
    pub limit: Option<u32>,
}

/// Every variant kind the derive supports.
#[derive(SessionTypes, Debug, Clone, PartialEq)]
pub enum FuzzSession {
    /// A struct variant, renamed field.
    User {
        /// The id.
        #[session(rename = "userID")]
        user_id: String,
        /// A number.
        level: u8,
    },
    /// A newtype variant.
    Api(Client),
    /// A unit variant.
    Guest,
}

/// The fixed "now" of the harness: 2026-01-01T00:00:00Z.
pub const NOW: u64 = 1_767_225_600;
/// The harness's HS256 secret (public: these are test tokens).
pub const SECRET: &[u8] = b"fuzzing-secret-of-at-least-32-bytes!!";
/// The only origin redirects may leave for.
pub const ALLOWED_ORIGIN: &str = "https://app.example.com";

fn build() -> Result<Sessions<FuzzSession>, Box<dyn std::error::Error>> {
    Ok(Sessions::builder()
        .signing_key(SigningKey::hs256(SECRET)?)
        .issuer("https://auth.example.com")
        .audience("app")
        .allow_redirect_origin(ALLOWED_ORIGIN)
        .clock(|| UNIX_EPOCH + Duration::from_secs(NOW))
        .build()?)
}

/// The harness's sessions, clock fixed at [`NOW`].
pub static SESSIONS: LazyLock<Sessions<FuzzSession>> =
    LazyLock::new(|| build().unwrap_or_else(|error| panic!("harness configuration: {error}")));

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|error| panic!("runtime: {error}"))
});

static APP: LazyLock<Router> = LazyLock::new(|| {
    let cache = SessionCache::builder(SESSIONS.clone())
        .clock(|| UNIX_EPOCH + Duration::from_secs(NOW))
        .build();
    let rules = auth_runtime::middleware::Rules::deny_by_default()
        .require("/admin/*", auth_runtime::middleware::Condition::any_session())
        .public("*");
    let layer = SessionLayer::builder(cache)
        .landing_route("/landing")
        .skip("/public/*")
        .authorize(rules)
        .build()
        .unwrap_or_else(|error| panic!("layer: {error}"));
    let whoami = || async {
        match auth_runtime::use_session::<FuzzSession>() {
            Some(session) => format!("session {}", session.session_type()),
            None => "public".to_owned(),
        }
    };
    Router::new()
        .route("/", get(whoami).post(whoami))
        .route("/landing", get(whoami))
        .route("/admin", get(whoami).post(whoami))
        .route("/admin/{*rest}", get(whoami).post(whoami))
        .route("/public/{*rest}", get(whoami))
        .layer(layer)
});

/// Whether `token` is one the harness itself could have signed: verifies under [`SESSIONS`].
fn signed_by_us(token: &str) -> bool {
    SESSIONS.verify(token).is_ok()
}

/// The whole request path: the input is a request line (`[METHOD ]/path?query`), then header
/// lines (`name: value`), one per line. Headers → token extraction → verification → typed
/// decode → authorization rules → handler. Oracles: a request answered as signed in carries a
/// token that verifies; the session cookie is only ever set by a navigation that carried a
/// landing nonce cookie, or by a `POST` that says it comes from this site; a response that sets
/// any cookie is never cacheable; the `/admin` section (`require("/admin/*", any session)`)
/// answers its handler only with a session. Returns whether the handler saw a session.
pub fn request_path(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or("/");
    let (method, target) = first.split_once(' ').unwrap_or(("GET", first));
    let mut builder = Request::builder()
        .method(method)
        .uri(if target.starts_with('/') { target } else { "/" });
    let mut credentials = Vec::new();
    let (mut carries_nonce, mut says_same_site) = (false, false);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim_start();
            builder = builder.header(name, value);
            credentials.push(value.to_owned());
            let name = name.trim().to_ascii_lowercase();
            carries_nonce |= name == "cookie" && value.contains("auth-token-landing=");
            says_same_site |= matches!(name.as_str(), "origin" | "sec-fetch-site");
        }
    }
    let Ok(request) = builder.body(Body::empty()) else {
        return false; // Not a request http accepts; nothing of ours runs.
    };
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query_tokens: Vec<String> = request
        .uri()
        .query()
        .map(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .filter(|(name, _)| name == "token")
                .map(|(_, value)| value.into_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut app = APP.clone();
    let response = RUNTIME.block_on(app.call(request));
    let Ok(response) = response;
    let sets_session = response
        .headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .any(|value| value.as_bytes().starts_with(b"auth-token=") && !value.as_bytes().starts_with(b"auth-token=;"));
    if sets_session {
        let bound = method != http::Method::POST && carries_nonce;
        let confirmed = method == http::Method::POST && says_same_site;
        assert!(bound || confirmed, "set the session cookie unasked: {text:?}");
    }
    if response.headers().contains_key(http::header::SET_COOKIE) {
        let cache_control = response
            .headers()
            .get(http::header::CACHE_CONTROL)
            .map(|value| value.as_bytes().to_vec())
            .unwrap_or_default();
        assert!(
            cache_control
                .windows(b"no-store".len())
                .any(|window| window == b"no-store"),
            "a response that sets a cookie may be cached: {text:?}"
        );
    }
    if response.status() != StatusCode::OK {
        return false;
    }
    let body = RUNTIME.block_on(axum::body::to_bytes(response.into_body(), 1 << 20));
    let signed_in = body.is_ok_and(|body| body.starts_with(b"session "));
    if path == "/admin" || path.starts_with("/admin/") {
        assert!(signed_in, "the /admin section answered without a session: {text:?}");
    }
    if signed_in {
        let carried_a_valid_token = credentials
            .iter()
            .flat_map(|value| value.split([' ', ';', '=', ',']))
            .chain(query_tokens.iter().map(String::as_str))
            .any(signed_by_us);
        assert!(carried_a_valid_token, "signed in without a valid token: {text:?}");
    }
    signed_in
}

/// The generated `Deserialize` on arbitrary JSON, and the claims reader on arbitrary payloads.
/// Oracle: whatever decodes serializes back to JSON that decodes to the same session; a payload
/// signed by us is accepted only with its claims in order.
pub fn session_json(data: &[u8]) {
    if let Ok(session) = serde_json::from_slice::<FuzzSession>(data) {
        let json = serde_json::to_vec(&session).unwrap_or_else(|error| panic!("serializes: {error}"));
        let again: FuzzSession =
            serde_json::from_slice(&json).unwrap_or_else(|error| panic!("decodes its own JSON: {error}"));
        assert_eq!(again, session);
    }
    // The same bytes as a token payload, signed with our key: only the claim checks stand.
    let header = br#"{"alg":"HS256","typ":"session+jwt","kid":"hs256"}"#;
    let token = sign(header, data);
    if let Ok(verified) = SESSIONS.verify(&token) {
        assert!(verified.claims.expires_at > NOW - 60, "an expired token was accepted");
        assert_eq!(verified.claims.issuer, "https://auth.example.com");
        assert_eq!(verified.claims.audience, "app");
    }
}

/// `header.payload.signature` over arbitrary bytes, HS256 with [`SECRET`].
pub fn sign(header: &[u8], payload: &[u8]) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let message = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET);
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
        .unwrap_or_else(|error| panic!("signs: {error}"));
    format!("{message}.{signature}")
}

/// Redirect validation. Oracle: an accepted target, resolved the way a browser resolves a
/// `Location` against our page, stays on our origin or goes to the allowed one.
pub fn redirect(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(target) = SESSIONS.check_redirect(text) else {
        return;
    };
    let ours = url::Url::parse("https://ours.example/some/page").unwrap_or_else(|error| panic!("{error}"));
    let resolved = ours
        .join(target.as_str())
        .unwrap_or_else(|error| panic!("accepted {text:?} as {:?}, unresolvable: {error}", target.as_str()));
    let origin = resolved.origin().ascii_serialization();
    assert!(
        origin == "https://ours.example" || origin == ALLOWED_ORIGIN,
        "accepted {text:?} as {:?}, which leaves for {origin}",
        target.as_str()
    );
}

/// The origin the sign-in flows are served on.
pub const FLOW_ORIGIN: &str = "https://app.example.com";

/// Sign-ins the flows' `on_success` has run.
static SIGN_INS: AtomicU64 = AtomicU64::new(0);

/// Password sign-ins (and changes) the password provider's `on_success` has run.
static PASSWORD_SIGN_INS: AtomicU64 = AtomicU64::new(0);

/// The password of the account `ada@example.com` the flows start with; `None` once a change set
/// one outside ASCII (whose NFKC twins the oracle cannot tell apart).
static ADA_PASSWORD: Mutex<Option<String>> = Mutex::new(Some(String::new()));

/// Codes the password provider mailed (to verify an address, to reset a password): a guessed
/// one may sign in, being right. Bounded: past 100 000, new codes are not kept and such sign-ins
/// not judged.
static MAILED_CODES: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);
const MAILED_CODES_CAPACITY: usize = 100_000;

/// The seeded account's first password.
pub const ADA_FIRST_PASSWORD: &str = "correct horse battery staple";

/// The last value the flows set for each flow cookie: an input's `Cookie` value `LAST` stands
/// for it, so a sequence of inputs can walk one flow past its browser binding.
static LAST_FLOW_COOKIES: LazyLock<Mutex<std::collections::HashMap<String, String>>> = LazyLock::new(Default::default);

static FLOWS: LazyLock<Router> = LazyLock::new(|| {
    use std::sync::Arc;

    use auth_runtime::password::{Credential, MemoryPasswordStore, PasswordStore, Passwords};
    use auth_runtime::providers::password::{PasswordClaims, PasswordProvider};
    use auth_runtime::providers::{AuthHandler, CodeProvider, FlowError, FlowResponse, LinkProvider, UserClaims};
    use auth_runtime::revocation::Revocations;
    use auth_runtime::store::MemoryStore;
    let links = LinkProvider::new(|_| async { Ok::<FlowResponse, FlowError>(FlowResponse::default()) });
    let codes = CodeProvider::new(
        |_| async { Ok::<FlowResponse, FlowError>(FlowResponse::default()) },
        |_| async { Ok::<FlowResponse, FlowError>(FlowResponse::default()) },
    );
    let on_success = |_: UserClaims| async {
        SIGN_INS.fetch_add(1, Ordering::SeqCst);
        Ok::<FlowResponse, FlowError>(FlowResponse::default())
    };
    let passwords = Passwords::new().unwrap_or_else(|error| panic!("argon2id: {error}"));
    let accounts = Arc::new(MemoryPasswordStore::with_capacity(10_000));
    RUNTIME.block_on(async {
        let hash = passwords
            .hash(ADA_FIRST_PASSWORD)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let ada = Credential::new("ada", hash);
        accounts
            .create("ada@example.com", &ada)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
    });
    *ADA_PASSWORD.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(ADA_FIRST_PASSWORD.to_owned());
    let revocations = Revocations::new(Arc::new(MemoryStore::new()));
    let password = PasswordProvider::new(passwords, accounts as Arc<dyn PasswordStore>, revocations, |mail| {
        use auth_runtime::providers::password::PasswordMail;
        if let PasswordMail::VerifyEmail { code, .. } | PasswordMail::ResetCode { code, .. } = mail {
            let mut codes = MAILED_CODES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if codes.len() < MAILED_CODES_CAPACITY {
                codes.insert(code);
            }
        }
        async { Ok::<(), FlowError>(()) }
    });
    let on_password = |_: PasswordClaims| async {
        PASSWORD_SIGN_INS.fetch_add(1, Ordering::SeqCst);
        Ok::<FlowResponse, FlowError>(FlowResponse::default())
    };
    AuthHandler::builder(SESSIONS.clone(), FLOW_ORIGIN)
        .provider("link", links, on_success)
        .provider("code", codes, on_success)
        .provider("password", password, on_password)
        .build()
        .unwrap_or_else(|error| panic!("handler: {error}"))
        .router()
});

/// Flow cookies of the link provider that a same-origin `POST` to its authorize step set: the
/// only browsers a link's page may continue in without asking. Bounded: past a million, new ones
/// are not recorded and pages for them are not checked.
static STARTED_HERE: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(|| Mutex::new(HashSet::new()));
const STARTED_HERE_CAPACITY: usize = 1_000_000;

/// The sign-in flows' state machine: the input is a request line (`METHOD /path?query`), header
/// lines, a blank line and a form body, sent to an `AuthHandler` with a link and a code provider
/// whose state (the store, the rate limits) carries over from input to input, from a client
/// address drawn from the input. Oracles:
/// - a `GET` or `HEAD` never signs anyone in, and never starts a flow (sets no flow cookie);
/// - a `POST` a browser sent from another site is refused with 403, signs no one in and starts
///   no flow;
/// - a link's page submits itself only in a browser whose flow cookie a same-origin `POST` to
///   the link's authorize step set (login CSRF: no flow another site started continues alone);
/// - the password provider signs in only with the seeded account's password (`sign-in`, or the
///   `current` of a `change`, which then sets the next one), or with a code it mailed (a
///   registration's or a reset's, which the input must have guessed): no other password or code.
///
/// A `Cookie` value `LAST` is the flow cookie of that name the flows set last, so inputs in a
/// row (the seeds are replayed sorted by name) can walk one flow step by step.
///
/// Returns the status.
pub fn sign_in_flow(data: &[u8]) -> u16 {
    let Some((mut request, text)) = request_of(data) else {
        return 0; // Not a request http accepts; nothing of ours runs.
    };
    LazyLock::force(&FLOWS);
    with_last_flow_cookies(&mut request);
    let mut foreign = false;
    let mut flow_cookies = Vec::new();
    for (name, value) in request.headers() {
        let value = String::from_utf8_lossy(value.as_bytes());
        foreign |= name == http::header::ORIGIN && value != FLOW_ORIGIN;
        foreign |= name.as_str() == "sec-fetch-site" && value != "same-origin";
        if name == http::header::COOKIE {
            flow_cookies.extend(value.split(';').filter_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == "auth-flow-link").then(|| value.to_owned())
            }));
        }
    }
    request.extensions_mut().insert(ConnectInfo(client_of(data)));
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let before = SIGN_INS.load(Ordering::SeqCst);
    let password_before = PASSWORD_SIGN_INS.load(Ordering::SeqCst);
    let mut app = FLOWS.clone();
    let Ok(response) = RUNTIME.block_on(app.call(request));
    let password_signed_in = PASSWORD_SIGN_INS.load(Ordering::SeqCst) != password_before;
    let signed_in = SIGN_INS.load(Ordering::SeqCst) != before || password_signed_in;
    if password_signed_in {
        check_password_sign_in(&text);
    }
    let started: Vec<(String, String)> = response
        .headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| {
            let (name, rest) = value.split_once('=')?;
            let value = rest.split(';').next().unwrap_or_default();
            (name.starts_with("auth-flow-") && !value.is_empty()).then(|| (name.to_owned(), value.to_owned()))
        })
        .collect();
    if method == http::Method::GET || method == http::Method::HEAD {
        assert!(!signed_in, "signed in on a {method}: {text:?}");
        assert!(started.is_empty(), "a {method} started a flow: {text:?}");
    }
    if method == http::Method::POST && foreign {
        assert!(!signed_in, "signed in on another site's POST: {text:?}");
        assert!(started.is_empty(), "another site's POST started a flow: {text:?}");
        // Routed POSTs from another site are refused; other paths and methods are axum's.
        assert!(
            matches!(response.status().as_u16(), 403 | 404 | 405 | 413),
            "another site's POST answered {}: {text:?}",
            response.status()
        );
    }
    remember_flow_cookies(&started);
    let started_here = || STARTED_HERE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if method == http::Method::POST && path == "/auth/link/authorize" {
        let mut started_here = started_here();
        if started_here.len() < STARTED_HERE_CAPACITY {
            started_here.extend(
                started
                    .iter()
                    .filter(|(name, _)| name == "auth-flow-link")
                    .map(|(_, value)| value.clone()),
            );
        }
    }
    let status = response.status().as_u16();
    if response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/html"))
    {
        let page = RUNTIME
            .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
            .unwrap_or_default();
        let started_here = started_here();
        if page.windows(b"<script>".len()).any(|window| window == b"<script>")
            && started_here.len() < STARTED_HERE_CAPACITY
        {
            assert!(
                flow_cookies.len() == 1 && started_here.contains(&flow_cookies[0]),
                "a link page continues on its own in a browser whose flow this site did not start: {text:?}"
            );
        }
    }
    status
}

/// The authorization server's registered redirect URIs: every redirect `/auth/authorize`
/// answers must go to one of them (RFC 8252's any-port rule for the loopback one).
const REGISTERED: [&str; 2] = ["https://web.example.com/callback", "https://backend.example.com/cb"];
/// The loopback redirect URI, any port.
const LOOPBACK: &str = "http://127.0.0.1/callback";

static AUTHORIZATION: LazyLock<Router> = LazyLock::new(|| {
    use auth_runtime::providers::authorization::{Client, ClientSecretHash, Clients};
    use auth_runtime::providers::{AuthHandler, CodeProvider, FlowError, FlowResponse, UserClaims};
    use auth_runtime::refresh::RefreshTokens;
    use auth_runtime::store::MemoryStore;
    let build = || -> Result<Router, Box<dyn std::error::Error>> {
        let sessions: Sessions<FuzzSession> = Sessions::builder()
            .signing_key(SigningKey::hs256(SECRET)?)
            .issuer(format!("{FLOW_ORIGIN}/auth"))
            .audience("auth")
            .subject_from(|_| Some("ada".to_owned()))
            .clock(|| UNIX_EPOCH + Duration::from_secs(NOW))
            .build()?;
        let tokens = RefreshTokens::builder(sessions.clone(), std::sync::Arc::new(MemoryStore::new())).build()?;
        let secret = ClientSecretHash::of("a-backend-secret-of-at-least-32-characters")?;
        let clients = Clients::new()
            .client(Client::public("web").redirect_uri(REGISTERED[0]))
            .client(Client::confidential("backend", secret).redirect_uri(REGISTERED[1]))
            .client(Client::public("native").redirect_uri(LOOPBACK));
        let codes = CodeProvider::new(
            |_| async { Ok::<FlowResponse, FlowError>(FlowResponse::default()) },
            |_| async { Ok::<FlowResponse, FlowError>(FlowResponse::default()) },
        );
        let on_success = move |_: UserClaims| {
            let sessions = sessions.clone();
            async move { Ok::<FlowResponse, FlowError>(sessions.cookie(&FuzzSession::Guest, "/")?) }
        };
        Ok(AuthHandler::builder(tokens.sessions().clone(), FLOW_ORIGIN)
            .provider("code", codes, on_success)
            .refresh_tokens(tokens)
            .clients(clients)
            .build()?
            .router())
    };
    build().unwrap_or_else(|error| panic!("authorization server: {error}"))
});

/// Whether `location` is one of the registered redirect URIs with a query added.
fn to_a_registered_client(location: &str) -> bool {
    let registered = REGISTERED
        .iter()
        .any(|uri| location.strip_prefix(uri).is_some_and(|rest| rest.starts_with('?')));
    let loopback = location.strip_prefix("http://127.0.0.1").is_some_and(|rest| {
        let rest = rest
            .strip_prefix(':')
            .map_or(rest, |port| port.trim_start_matches(|c: char| c.is_ascii_digit()));
        rest.strip_prefix("/callback").is_some_and(|rest| rest.starts_with('?'))
    });
    registered || loopback
}

/// The authorization server (`/auth/authorize`, `/auth/token`, the metadata): the input is a
/// request as for [`sign_in_flow`], sent to an `AuthHandler` with registered clients. Oracles:
/// - every redirect `/auth/authorize` answers goes to a registered redirect URI (never to one
///   the request made up, whatever its encoding, case, userinfo or port);
/// - the token endpoint never issues tokens (no input can hold a code or a refresh token it
///   issued), and answers every refusal as an OAuth error in JSON;
/// - CORS allows the token endpoint only to a registered client's origin.
///
/// Returns the status.
pub fn authorization_server(data: &[u8]) -> u16 {
    let Some((mut request, text)) = request_of(data) else {
        return 0;
    };
    request.extensions_mut().insert(ConnectInfo(client_of(data)));
    let path = request.uri().path().to_owned();
    let is_post = request.method() == http::Method::POST;
    let mut app = AUTHORIZATION.clone();
    let Ok(response) = RUNTIME.block_on(app.call(request));
    let status = response.status();
    if path == "/auth/authorize"
        && status.is_redirection()
        && let Some(location) = response.headers().get(http::header::LOCATION)
    {
        let location = location.to_str().unwrap_or_default();
        assert!(
            to_a_registered_client(location),
            "/auth/authorize redirected to {location:?}: {text:?}"
        );
    }
    if path == "/auth/token" {
        if is_post {
            assert_ne!(status, StatusCode::OK, "the token endpoint issued tokens: {text:?}");
        }
        if let Some(origin) = response.headers().get(http::header::ACCESS_CONTROL_ALLOW_ORIGIN) {
            let origin = origin.to_str().unwrap_or_default();
            assert!(
                ["https://web.example.com", "https://backend.example.com"].contains(&origin),
                "the token endpoint allowed {origin:?}: {text:?}"
            );
        }
        let is_json = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes() == b"application/json");
        if status.is_client_error() && status != StatusCode::METHOD_NOT_ALLOWED && status != StatusCode::NOT_FOUND {
            let answer = RUNTIME
                .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
                .unwrap_or_default();
            assert!(is_json, "a refusal that is not JSON: {text:?}");
            let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
            assert!(answer["error"].is_string(), "a refusal without `error`: {text:?}");
        }
    }
    status.as_u16()
}

/// The request an input spells: a request line (`METHOD /path?query`), header lines, a blank
/// line and a body; `None` when `http` accepts no such request. With the input as text, for
/// the oracles' messages.
fn request_of(data: &[u8]) -> Option<(Request<Body>, String)> {
    let text = String::from_utf8_lossy(data).into_owned();
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.split('\n');
    let first = lines.next().unwrap_or("/");
    let (method, target) = first.split_once(' ').unwrap_or(("GET", first));
    let mut builder = Request::builder()
        .method(method)
        .uri(if target.starts_with('/') { target } else { "/" });
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            builder = builder.header(name, value.trim_start());
        }
    }
    let request = builder.body(Body::from(body.to_owned())).ok()?;
    Some((request, text))
}

/// Replaces a `LAST` cookie value with the flow cookie of that name the flows set last.
fn with_last_flow_cookies(request: &mut Request<Body>) {
    let last = LAST_FLOW_COOKIES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let headers = request.headers_mut();
    let values: Vec<http::HeaderValue> = headers
        .get_all(http::header::COOKIE)
        .iter()
        .map(|value| {
            let Ok(text) = value.to_str() else {
                return value.clone();
            };
            let replaced: Vec<String> = text
                .split(';')
                .map(|pair| match pair.trim().split_once('=') {
                    Some((name, "LAST")) => format!("{name}={}", last.get(name).map_or("LAST", String::as_str)),
                    _ => pair.trim().to_owned(),
                })
                .collect();
            http::HeaderValue::from_str(&replaced.join("; ")).unwrap_or_else(|_| value.clone())
        })
        .collect();
    if values.is_empty() {
        return;
    }
    headers.remove(http::header::COOKIE);
    for value in values {
        headers.append(http::header::COOKIE, value);
    }
}

fn remember_flow_cookies(started: &[(String, String)]) {
    let mut last = LAST_FLOW_COOKIES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (name, value) in started {
        last.insert(name.clone(), value.clone());
    }
}

/// The password oracle: a password sign-in came from `sign-in` with the seeded account's
/// password, or from a `change` whose `current` is it (the new one then counts).
fn check_password_sign_in(text: &str) {
    let body = text.split_once("\n\n").map_or("", |(_, body)| body);
    let field = |name: &str| {
        url::form_urlencoded::parse(body.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    let action = field("action").unwrap_or_default();
    if matches!(action.as_str(), "verify" | "reset") {
        let codes = MAILED_CODES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let code = field("code").unwrap_or_default();
        assert!(
            codes.contains(&code) || codes.len() >= MAILED_CODES_CAPACITY,
            "a {action} signed in with a code never sent: {text:?}"
        );
        return;
    }
    let mut known = ADA_PASSWORD.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(password) = known.clone() else {
        return;
    };
    let used = if action == "change" {
        field("current")
    } else {
        field("password")
    };
    let used = used.unwrap_or_default();
    // An input outside ASCII may be an NFKC twin of the password: not one the oracle can judge.
    if used.is_ascii() {
        assert_eq!(
            used, password,
            "signed in with a password that is not the account's: {text:?}"
        );
    }
    assert!(
        matches!(action.as_str(), "sign-in" | "change"),
        "a password {action:?} signed in: {text:?}"
    );
    if action == "change" {
        *known = field("password").filter(|new| new.is_ascii());
    }
}

/// The client address of an input: one of 65 536, drawn from its bytes, so the per-client limit
/// counts several clients.
fn client_of(data: &[u8]) -> SocketAddr {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(data);
    let [a, b, ..] = hash.to_le_bytes();
    SocketAddr::from(([198, 51, a, b], 4000))
}
