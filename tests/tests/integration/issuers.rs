//! Sessions other issuers signed, read through the unchanged session layer, against the real
//! issuers: an OpenAuth issuer (`@openauthjs/openauth` served with `@hono/node-server`) driven
//! through authorize -> code -> `/token` and its refresh, and SST v2's signer (`fast-jwt` as
//! `sst/node/auth` calls it). Both from tests/issuers/package-lock.json; needs Node.js.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use auth_runtime::issuers::{JwksSource, JwtVerifier, KeySource, RemoteJwks, Routed, TokenShape};
use auth_runtime::{Algorithm, SessionCache, SessionLayer, SessionVerifier, VerificationKey, use_authenticated};
use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::AppSession;
use common::client::{Reply, get as http_get, post_form, serve};
use common::tools;

use crate::common;
use crate::common::clock::MovableClock;
use crate::common::node::NodeServer;

fn require_node() {
    tools::require("Node.js", "node", &["--version"]);
    tools::npm_install(&tools::dir("issuers"), "@openauthjs/openauth");
}

/// An OpenAuth issuer process; stopped when dropped.
struct OpenAuth {
    _node: NodeServer,
    issuer: String,
    /// How many times the issuer served its JWK Set (its request log, read from stdout).
    jwks_fetches: Arc<AtomicUsize>,
}

impl OpenAuth {
    /// Starts the issuer on `port` (0: any free one).
    fn start(port: u16) -> OpenAuth {
        let jwks_fetches = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&jwks_fetches);
        let node = NodeServer::start(
            &tools::dir("issuers"),
            "openauth.mjs",
            &[port.to_string()],
            &[],
            move |line| {
                // hono's logger: `<-- GET /.well-known/jwks.json` for each request.
                if line.contains("<-- GET /.well-known/jwks.json") {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            },
        );
        OpenAuth {
            issuer: node.ready.clone(),
            _node: node,
            jwks_fetches,
        }
    }

    fn addr(&self) -> SocketAddr {
        common::client::addr_of(&self.issuer)
    }

    fn port(&self) -> u16 {
        self.addr().port()
    }

    /// OpenAuth's authorization code flow for `client_id`, as its client library runs it:
    /// `/authorize` (which sets its encrypted `authorization` cookie) -> the provider, which
    /// signs in at once -> the redirect with `code` -> `POST /token`. Returns the token answer.
    fn sign_in(&self, client_id: &str) -> serde_json::Value {
        let redirect_uri = "http://127.0.0.1:9/callback";
        let authorize = format!(
            "/authorize?client_id={client_id}&redirect_uri={}&response_type=code&provider=auto",
            url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect::<String>()
        );
        let started = http_get(self.addr(), &authorize, &[]);
        assert_eq!(started.status, 302, "{}", started.body);
        let authorization = started
            .cookie("authorization")
            .expect("OpenAuth's authorization cookie");
        let cookie = format!("authorization={authorization}");
        let provider = http_get(self.addr(), "/auto/authorize", &[("Cookie", &cookie)]);
        assert_eq!(provider.status, 302, "{}", provider.body);
        let location = provider.header("location").expect("the redirect with the code");
        let code = url::Url::parse(location)
            .expect("absolute")
            .query_pairs()
            .find(|(name, _)| name == "code")
            .map(|(_, code)| code.into_owned())
            .expect("a code");
        let tokens = post_form(
            self.addr(),
            "/token",
            &[],
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect_uri),
                ("client_id", client_id),
            ],
        );
        assert_eq!(tokens.status, 200, "{}", tokens.body);
        tokens.json()
    }

    /// OpenAuth's refresh: `POST /token` with `grant_type=refresh_token`.
    fn refresh(&self, refresh_token: &str) -> serde_json::Value {
        let tokens = post_form(
            self.addr(),
            "/token",
            &[],
            &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)],
        );
        assert_eq!(tokens.status, 200, "{}", tokens.body);
        tokens.json()
    }
}

fn access_token(tokens: &serde_json::Value) -> String {
    tokens["access_token"].as_str().expect("an access token").to_owned()
}

/// An app behind the session layer verifying with `verifier`; `/me` shows the typed session.
fn app_with<V: SessionVerifier<Session = AppSession>>(verifier: V, cached: bool) -> SocketAddr {
    let cache = if cached {
        SessionCache::new(verifier)
    } else {
        SessionCache::builder(verifier).capacity(0).build()
    };
    let layer = SessionLayer::builder(cache).build().expect("layer");
    let me = || async {
        match use_authenticated::<AppSession>() {
            Some(authenticated) => format!("{:?} sub={:?}", authenticated.session, authenticated.subject),
            None => "public".to_owned(),
        }
    };
    serve(Router::new().route("/me", get(me)).layer(layer))
}

fn openauth_verifier(issuer: &OpenAuth, jwks: RemoteJwks) -> JwtVerifier<AppSession> {
    JwtVerifier::openauth(&issuer.issuer, "app", jwks)
        .build()
        .expect("verifier")
}

fn bearer(addr: SocketAddr, token: &str) -> Reply {
    http_get(addr, "/me", &[("Authorization", &format!("Bearer {token}"))])
}

#[test]
#[ignore = "needs Node.js (tests/issuers/package-lock.json)"]
fn openauth_access_tokens_are_read_typed_and_refreshed() {
    require_node();
    let issuer = OpenAuth::start(0);
    let jwks = RemoteJwks::issuer(&issuer.issuer).expect("jwks");
    let addr = app_with(openauth_verifier(&issuer, jwks), true);

    let tokens = issuer.sign_in("app");
    let read = bearer(addr, &access_token(&tokens));
    assert_eq!(read.status, 200, "{}", read.body);
    assert!(
        read.body
            .starts_with(r#"User { user_id: "ada@example.com" } sub=Some("user:"#),
        "{}",
        read.body
    );

    let refreshed = issuer.refresh(tokens["refresh_token"].as_str().expect("a refresh token"));
    let next = access_token(&refreshed);
    assert_ne!(next, access_token(&tokens));
    let read = bearer(addr, &next);
    assert_eq!(read.status, 200, "{}", read.body);
    assert!(read.body.contains("ada@example.com"), "{}", read.body);
    assert_eq!(
        issuer.jwks_fetches.load(Ordering::SeqCst),
        1,
        "one fetch, then the cache"
    );

    // A token OpenAuth issued to another client: OpenAuth's own client would take it; we check `aud`.
    let other = bearer(addr, &access_token(&issuer.sign_in("other-app")));
    assert_eq!(other.status, 401, "{}", other.body);
    assert!(other.body.contains("audience"), "{}", other.body);

    // The refresh token is not an access token.
    let refresh = bearer(addr, refreshed["refresh_token"].as_str().expect("refresh token"));
    assert_eq!(refresh.status, 401);
}

/// HS256 "signed" with the issuer's public key (the classic algorithm confusion): refused before
/// any key is used, whatever the key set holds.
#[test]
#[ignore = "needs Node.js (tests/issuers/package-lock.json)"]
fn openauth_keys_never_verify_an_hmac_token() {
    require_node();
    let issuer = OpenAuth::start(0);
    // Keys found through discovery: OpenAuth publishes RFC 8414 metadata (no OpenID configuration).
    let jwks = RemoteJwks::discover(&issuer.issuer).expect("jwks");
    let addr = app_with(openauth_verifier(&issuer, jwks), true);
    let genuine = access_token(&issuer.sign_in("app"));
    let jwks = http_get(issuer.addr(), "/.well-known/jwks.json", &[]).json();
    let key = &jwks["keys"][0];
    let header = format!(r#"{{"alg":"HS256","kid":{},"typ":"JWT"}}"#, key["kid"]);
    let payload = genuine.split('.').nth(1).expect("payload");
    let message = format!("{}.{payload}", URL_SAFE_NO_PAD.encode(header));
    for secret in [key.to_string(), key["x"].as_str().expect("x").to_owned()] {
        let forged = common::sign_text_with(
            &message,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
            jsonwebtoken::Algorithm::HS256,
        );
        let forged = bearer(addr, &forged);
        assert_eq!(forged.status, 401, "{}", forged.body);
        assert!(forged.body.contains("HS256"), "{}", forged.body);
    }
    assert_eq!(
        bearer(addr, &genuine).status,
        200,
        "the genuine token, keys from discovery"
    );
}

/// A restarted issuer has a new signing key: its first token names an unknown `kid`, which
/// fetches the set once more, and passes; the old key's tokens no longer do.
#[test]
#[ignore = "needs Node.js (tests/issuers/package-lock.json)"]
fn a_restarted_openauth_is_read_after_one_refetch() {
    require_node();
    let first = OpenAuth::start(0);
    let port = first.port();
    let jwks = RemoteJwks::builder(JwksSource::Issuer(first.issuer.clone()))
        .refetch_interval(Duration::ZERO)
        .build()
        .expect("jwks");
    let addr = app_with(openauth_verifier(&first, jwks), false);
    let before = access_token(&first.sign_in("app"));
    assert_eq!(bearer(addr, &before).status, 200);
    drop(first);

    let second = OpenAuth::start(port);
    let after = access_token(&second.sign_in("app"));
    assert_eq!(second.jwks_fetches.load(Ordering::SeqCst), 0);
    let read = bearer(addr, &after);
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(
        second.jwks_fetches.load(Ordering::SeqCst),
        1,
        "one refetch for the new kid"
    );
    assert_eq!(bearer(addr, &after).status, 200);
    assert_eq!(second.jwks_fetches.load(Ordering::SeqCst), 1, "the new set is cached");
    let old = bearer(addr, &before);
    assert_eq!(old.status, 401, "the retired key is gone: {}", old.body);
}

/// The issuer down: the cached set keeps serving until its staleness bound, then every request
/// that needs a key is 503 (never a 401: the token may be fine).
#[test]
#[ignore = "needs Node.js (tests/issuers/package-lock.json)"]
fn an_issuer_down_is_served_from_its_last_keys_until_the_bound_then_503() {
    require_node();
    let issuer = OpenAuth::start(0);
    let clock = MovableClock::from_now();
    let jwks = RemoteJwks::builder(JwksSource::Issuer(issuer.issuer.clone()))
        .ttl_bounds(Duration::from_secs(1), Duration::from_secs(1))
        .max_stale(Duration::from_secs(2))
        .refetch_interval(Duration::from_millis(200))
        .timeout(Duration::from_millis(500))
        .clock(clock.source())
        .build()
        .expect("jwks");
    let addr = app_with(openauth_verifier(&issuer, jwks), false);
    let token = access_token(&issuer.sign_in("app"));
    assert_eq!(bearer(addr, &token).status, 200);
    drop(issuer);
    clock.advance(Duration::from_millis(1500));
    let stale = bearer(addr, &token);
    assert_eq!(stale.status, 200, "within the bound: {}", stale.body);
    clock.advance(Duration::from_millis(2000));
    let down = bearer(addr, &token);
    assert_eq!(down.status, 503, "{}", down.body);
    assert_eq!(down.header("retry-after"), Some("1"));
}

/// The path to SST v2's signer and the test RSA key.
fn sst_sign(session: &str, algorithm: &str, issued_at: Option<u64>) -> String {
    sst_sign_as(session, algorithm, issued_at, None)
}

/// [`sst_sign`] dressed as another issuer's: `("SST_KID", kid)` puts a `kid` in the header,
/// `("SST_ISS", iss)` an `iss` in the claims (SST v2 itself writes neither).
fn sst_sign_as(session: &str, algorithm: &str, issued_at: Option<u64>, dress: Option<(&str, &str)>) -> String {
    let key = tools::dir("keys").join("rs256.pem");
    let mut command = Command::new("node");
    if let Some((variable, value)) = dress {
        command.env(variable, value);
    }
    command
        .arg("sst-v2-sign.mjs")
        .arg(&key)
        .arg(session)
        .arg(algorithm)
        .current_dir(tools::dir("issuers"));
    if let Some(issued_at) = issued_at {
        command.arg(issued_at.to_string());
    }
    let output = command.output().expect("node runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("a token")
}

fn sst_verifier() -> JwtVerifier<AppSession> {
    JwtVerifier::sst_v2(&common::key_pem("rs256.pub.pem"), Duration::from_secs(24 * 60 * 60))
        .expect("the public key")
        .build()
        .expect("verifier")
}

#[test]
#[ignore = "needs Node.js (tests/issuers/package-lock.json)"]
fn sst_v2_sessions_signed_by_fast_jwt_are_read_from_the_cookie() {
    require_node();
    let addr = app_with(sst_verifier(), true);
    let session = r#"{"type":"user","properties":{"userID":"ada"}}"#;
    let token = sst_sign(session, "RS512", None);
    let header = String::from_utf8(
        URL_SAFE_NO_PAD
            .decode(token.split('.').next().expect("header"))
            .expect("b64"),
    )
    .expect("utf-8");
    assert_eq!(header, r#"{"alg":"RS512","typ":"JWT"}"#, "SST v2's header");
    let cookie = format!("auth-token={token}");
    let read = http_get(addr, "/me", &[("Cookie", &cookie)]);
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body, r#"User { user_id: "ada" } sub=None"#);

    // No `exp` in the format: older than the maximum age is refused.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let old = sst_sign(session, "RS512", Some(now - 2 * 24 * 60 * 60));
    let refused = bearer(addr, &old);
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(refused.body.contains("expired"), "{}", refused.body);

    // The same key under another algorithm: SST v2 signs RS512 only.
    for algorithm in ["RS256", "RS384"] {
        let other = sst_sign(session, algorithm, None);
        let refused = bearer(addr, &other);
        assert_eq!(refused.status, 401, "{algorithm}: {}", refused.body);
        assert!(refused.body.contains(algorithm), "{}", refused.body);
    }

    // A `type` the enum does not know: a refusal that names the ones it does.
    let unknown = sst_sign(r#"{"type":"admin","properties":{}}"#, "RS512", None);
    let refused = bearer(addr, &unknown);
    assert_eq!(refused.status, 401);
    assert!(
        refused
            .body
            .contains(r#"unknown session type `admin`, expected one of `user`, `api`, `guest`"#),
        "{}",
        refused.body
    );
}

/// A migration from SST v2: one service reads SST v2 sessions (signed by `fast-jwt`, as
/// `sst/node/auth` signs them) and ours, typed as one enum, each token sent to the one verifier
/// its own header or claims name, and refused there if that one refuses it: an SST v2 token that
/// names our key, or our issuer, is refused, although the second would be accepted by the SST v2
/// verifier alone.
#[test]
#[ignore = "needs Node.js (tests/issuers/package-lock.json)"]
fn a_migration_types_sst_v2_and_our_tokens_by_what_each_says() {
    require_node();
    let ours = || common::builder(common::hs256_key()).build().expect("sessions");
    let our_token = ours().create(&common::user("grace")).expect("issues");
    let our_kid = TokenShape::of(&our_token)
        .and_then(|shape| shape.kid)
        .expect("our tokens name their key");
    let session = r#"{"type":"user","properties":{"userID":"ada"}}"#;
    let sst = sst_sign(session, "RS512", None);
    for routed in [
        Routed::builder().kid(our_kid.clone(), ours()),
        Routed::builder().issuer(common::ISSUER, ours()),
    ] {
        let addr = app_with(routed.route(|_| true, sst_verifier()).build().expect("routes"), true);
        let read = bearer(addr, &sst);
        assert_eq!(read.status, 200, "{}", read.body);
        assert_eq!(read.body, r#"User { user_id: "ada" } sub=None"#);
        let read = bearer(addr, &our_token);
        assert_eq!(read.status, 200, "{}", read.body);
        assert!(read.body.starts_with(r#"User { user_id: "grace" }"#), "{}", read.body);
    }
    let by_kid = Routed::builder()
        .kid(our_kid.clone(), ours())
        .route(|_| true, sst_verifier())
        .build()
        .expect("routes");
    let addr = app_with(by_kid, false);
    let with_our_kid = sst_sign_as(session, "RS512", None, Some(("SST_KID", &our_kid)));
    let refused = bearer(addr, &with_our_kid);
    assert_eq!(refused.status, 401, "an SST v2 token with our kid: {}", refused.body);

    let by_issuer = Routed::builder()
        .issuer(common::ISSUER, ours())
        .route(|_| true, sst_verifier())
        .build()
        .expect("routes");
    let addr = app_with(by_issuer, false);
    let with_our_issuer = sst_sign_as(session, "RS512", None, Some(("SST_ISS", common::ISSUER)));
    let refused = bearer(addr, &with_our_issuer);
    assert_eq!(
        refused.status, 401,
        "an SST v2 token naming our issuer: {}",
        refused.body
    );
    let alone = bearer(app_with(sst_verifier(), false), &with_our_issuer);
    assert_eq!(
        alone.status, 200,
        "the SST v2 verifier alone accepts it: {}",
        alone.body
    );

    // A token no route takes is refused without any key tried.
    let strict = Routed::builder().kid(our_kid, ours()).build().expect("routes");
    let refused = bearer(app_with(strict, false), &sst);
    assert_eq!(refused.status, 401);
    assert!(
        refused.body.contains("no verifier here reads tokens from this issuer"),
        "{}",
        refused.body
    );
}

/// Fixed keys: OpenAuth's profile refuses a token whose `mode` is not `access`, and a verifier
/// without issuer or audience is not built.
#[test]
fn openauth_profile_requires_mode_access() {
    let signing = common::key_pem("es256.pem");
    let key = VerificationKey::es256_pem(&common::key_pem("es256.pub.pem"))
        .expect("key")
        .with_kid("k1")
        .expect("kid");
    let verifier: JwtVerifier<AppSession> = JwtVerifier::openauth("http://127.0.0.1:1", "app", KeySource::fixed([key]))
        .build()
        .expect("verifier");
    let exp = common::NOW + 4_000_000_000;
    let sign = |mode: &str| {
        let header = r#"{"alg":"ES256","kid":"k1","typ":"JWT"}"#;
        let payload = format!(
            r#"{{"mode":"{mode}","type":"user","properties":{{"userID":"ada"}},"aud":"app","iss":"http://127.0.0.1:1","sub":"user:1","exp":{exp}}}"#
        );
        let message = common::message_of(header, &payload);
        let key = jsonwebtoken::EncodingKey::from_ec_pem(&signing).expect("EC key");
        common::sign_text_with(&message, &key, jsonwebtoken::Algorithm::ES256)
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let access = runtime
        .block_on(verifier.verify(&sign("access")))
        .expect("an access token");
    assert_eq!(access.session, common::user("ada"));
    assert_eq!(access.subject.as_deref(), Some("user:1"));
    let refresh = runtime.block_on(verifier.verify(&sign("refresh")));
    let message = refresh.expect_err("a refresh-mode token").to_string();
    assert!(
        message.contains(r#"claim `mode` is "refresh", expected "access""#),
        "{message}"
    );

    let unbound = JwtVerifier::<AppSession>::builder(KeySource::fixed([]))
        .algorithms(&[Algorithm::ES256])
        .build();
    assert!(unbound.is_err(), "no issuer, no audience");
    let hmac = JwtVerifier::<AppSession>::builder(KeySource::fixed([]))
        .issuer("https://issuer.example")
        .audience("app")
        .algorithms(&[Algorithm::HS256])
        .build();
    assert!(hmac.is_err(), "HS256 is never another issuer's");
}

/// A token of `algorithm` signed by jsonwebtoken with the test key `private`.
fn signed(algorithm: jsonwebtoken::Algorithm, private: &str, payload: &str) -> String {
    let pem = common::key_pem(private);
    let key = if private.starts_with("rs") {
        jsonwebtoken::EncodingKey::from_rsa_pem(&pem).expect("RSA key")
    } else {
        jsonwebtoken::EncodingKey::from_ec_pem(&pem).expect("EC key")
    };
    let header = format!(r#"{{"alg":"{algorithm:?}","typ":"JWT"}}"#);
    common::sign_text_with(&common::message_of(&header, payload), &key, algorithm)
}

fn future() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        + 3600
}

fn to_jsonwebtoken(algorithm: Algorithm) -> jsonwebtoken::Algorithm {
    match algorithm {
        Algorithm::RS384 => jsonwebtoken::Algorithm::RS384,
        Algorithm::RS512 => jsonwebtoken::Algorithm::RS512,
        Algorithm::PS256 => jsonwebtoken::Algorithm::PS256,
        _ => jsonwebtoken::Algorithm::ES384,
    }
}

/// The algorithms other issuers use, each verified by its own key only, with the same key rules.
#[test]
fn other_issuers_algorithms_verify_with_their_own_key_only() {
    let payload = format!(
        r#"{{"type":"user","properties":{{"userID":"ada"}},"iss":"https://issuer.example","aud":"app","exp":{}}}"#,
        future()
    );
    let rsa = common::key_pem("rs256.pub.pem");
    let es384_jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(
        &jsonwebtoken::EncodingKey::from_ec_pem(&common::key_pem("es384.pem")).expect("P-384 key"),
        jsonwebtoken::Algorithm::ES384,
    )
    .expect("a JWK");
    let cases = [
        (
            Algorithm::RS384,
            VerificationKey::rsa_pem(&rsa, Algorithm::RS384),
            "rs256.pem",
        ),
        (
            Algorithm::RS512,
            VerificationKey::rsa_pem(&rsa, Algorithm::RS512),
            "rs256.pem",
        ),
        (
            Algorithm::PS256,
            VerificationKey::rsa_pem(&rsa, Algorithm::PS256),
            "rs256.pem",
        ),
        (Algorithm::ES384, VerificationKey::from_jwk(&es384_jwk), "es384.pem"),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let all = [Algorithm::RS384, Algorithm::RS512, Algorithm::PS256, Algorithm::ES384];
    for (algorithm, key, private) in cases {
        let key = key.expect("the key loads");
        assert_eq!(key.algorithm(), algorithm);
        let verifier = JwtVerifier::<AppSession>::builder(KeySource::fixed([key]))
            .issuer("https://issuer.example")
            .audience("app")
            .algorithms(&all)
            .build()
            .expect("verifier");
        let token = signed(to_jsonwebtoken(algorithm), private, &payload);
        let verified = runtime.block_on(verifier.verify(&token)).expect("its own algorithm");
        assert_eq!(verified.session, common::user("ada"), "{algorithm}");
        for other in all.into_iter().filter(|other| *other != algorithm) {
            let other_private = if other == Algorithm::ES384 {
                "es384.pem"
            } else {
                "rs256.pem"
            };
            let token = signed(to_jsonwebtoken(other), other_private, &payload);
            let refused = runtime
                .block_on(verifier.verify(&token))
                .expect_err("another algorithm");
            assert!(
                refused.to_string().contains("its key is for"),
                "{algorithm} key, {other} token: {refused}"
            );
        }
    }
    assert!(matches!(
        VerificationKey::rsa_pem(&common::key_pem("rs1024.pub.pem"), Algorithm::RS512),
        Err(auth_runtime::KeyError::RsaKeyTooSmall { bits: 1024 })
    ));
    assert!(
        VerificationKey::rsa_pem(&rsa, Algorithm::ES384).is_err(),
        "an RSA key is not an EC key"
    );
    assert!(
        VerificationKey::es256_pem(&common::key_pem("es384.pem")).is_err(),
        "a P-384 key is not ES256's"
    );
}

/// The generic profile: an OpenID provider's access token with a list `aud` and a `scope`,
/// mapped by a closure; the issuer and audience are checked before the mapping runs.
#[test]
fn a_generic_profile_maps_claims_with_a_closure() {
    let verifier = JwtVerifier::<AppSession>::builder(
        VerificationKey::rsa_pem(&common::key_pem("rs256.pub.pem"), Algorithm::RS256).expect("key"),
    )
    .issuer("https://login.example.com")
    .audience("api://app")
    .algorithms(&[Algorithm::RS256])
    .map_claims(|claims| {
        let client_id = claims.subject.clone().ok_or("no sub")?;
        let scopes = claims
            .all
            .get("scope")
            .and_then(|scope| scope.as_str())
            .ok_or("no scope")?;
        Ok(AppSession::Api(common::ApiClient {
            client_id,
            scopes: scopes.split(' ').map(str::to_owned).collect(),
        }))
    })
    .build()
    .expect("verifier");
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let exp = future();
    let token = |iss: &str, aud: &str, extra: &str| {
        let payload = format!(r#"{{"iss":"{iss}","aud":{aud},"sub":"svc-1","exp":{exp}{extra}}}"#);
        signed(jsonwebtoken::Algorithm::RS256, "rs256.pem", &payload)
    };
    let good = token(
        "https://login.example.com",
        r#"["other","api://app"]"#,
        r#","scope":"read write""#,
    );
    let verified = runtime.block_on(verifier.verify(&good)).expect("maps");
    assert_eq!(
        verified.session,
        AppSession::Api(common::ApiClient {
            client_id: "svc-1".to_owned(),
            scopes: vec!["read".to_owned(), "write".to_owned()],
        })
    );
    assert_eq!(verified.expires_at, Some(exp));
    let refusal = |token: String| {
        runtime
            .block_on(verifier.verify(&token))
            .expect_err("refused")
            .to_string()
    };
    assert!(refusal(token("https://login.example.com", r#"["other"]"#, r#","scope":"read""#)).contains("audience"));
    assert!(refusal(token("https://evil.example", r#""api://app""#, r#","scope":"read""#)).contains("issuer"));
    assert!(refusal(token("https://login.example.com", r#""api://app""#, "")).contains("no scope"));
}
