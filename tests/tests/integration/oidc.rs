//! The OpenID Connect provider against a real OpenID provider: the `oidc-provider` npm package
//! (tests/oidc/server.mjs) on 127.0.0.1, driven by a redirect-following client from our
//! authorize URL to our callback. No mock: discovery, the PKCE code exchange and the ID token's
//! signature are the provider's own.
//!
//! Needs Node.js; the npm package is installed from tests/oidc/package-lock.json on first run
//! (`.ci/run` installs it up front). Without Node the test is skipped locally and fails under
//! `CI=true`.

use crate::common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use auth_runtime::Sessions;
use auth_runtime::providers::AuthHandler;
use auth_runtime::providers::authorization::{Client, Clients};
use auth_runtime::providers::oidc::{OidcClaims, OidcProvider};
use auth_runtime::refresh::RefreshTokens;
use auth_runtime::store::MemoryStore;
use common::AppSession;
use common::client::{Browser, addr_of, get, path_of};
use common::node::NodeServer;
use common::tools;

const CLIENT_ID: &str = "typed-sessions";
const CLIENT_SECRET: &str = "test-only-client-secret-0123456789";

/// The OpenID provider process, stopped when the test ends however it ends.
struct IdentityProvider {
    _node: NodeServer,
    issuer: String,
}

fn require_node() {
    tools::require("Node.js", "node", &["--version"])
}

/// How the test provider and our side are set up.
#[derive(Default, Clone, Copy)]
struct Setup {
    /// The provider says the account's email is not verified.
    unverified_email: bool,
    /// Our provider requires a verified email.
    require_verified_email: bool,
    /// Our handler is also an authorization server, for the client `web`.
    authorization_server: bool,
}

/// The client of the authorization server setup, and where its codes go.
const WEB: &str = "web";
const WEB_REDIRECT: &str = "https://web.example.com/callback";

fn start_identity_provider(redirect_uri: &str, setup: Setup) -> IdentityProvider {
    tools::npm_install(&tools::dir("oidc"), "oidc-provider");
    let mut args = vec![redirect_uri.to_owned()];
    args.extend(setup.unverified_email.then(|| "unverified-email".to_owned()));
    let node = NodeServer::start(&tools::dir("oidc"), "server.mjs", &args, &[], |_| {});
    IdentityProvider {
        issuer: node.ready.clone(),
        _node: node,
    }
}

struct Flow {
    base: String,
    sessions: Sessions<AppSession>,
    signed_in: Arc<Mutex<Vec<OidcClaims>>>,
    provider: IdentityProvider,
    _runtime: tokio::runtime::Runtime,
}

/// Our app on a reserved port, the OpenID provider told to redirect to it, discovery, serve.
fn start() -> Flow {
    start_with(Setup::default())
}

fn start_with(setup: Setup) -> Flow {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("binds");
    let addr: SocketAddr = listener.local_addr().expect("address");
    let base = format!("http://{addr}");
    let provider = start_identity_provider(&format!("{base}/auth/oidc/callback"), setup);

    let oidc = runtime
        .block_on(OidcProvider::discover(
            &provider.issuer,
            CLIENT_ID,
            Some(CLIENT_SECRET.to_owned()),
        ))
        .expect("discovery against the real provider");
    let oidc = if setup.require_verified_email {
        oidc.require_verified_email()
    } else {
        oidc
    };
    let sessions = common::builder(common::hs256_key())
        .issuer(format!("{base}/auth"))
        .build()
        .expect("sessions");
    let signed_in: Arc<Mutex<Vec<OidcClaims>>> = Arc::default();
    let on_success = {
        let sessions = sessions.clone();
        let signed_in = Arc::clone(&signed_in);
        move |claims: OidcClaims| {
            let sessions = sessions.clone();
            signed_in.lock().unwrap().push(claims.clone());
            async move { Ok(sessions.cookie(&common::user(&claims.subject), "/done")?) }
        }
    };
    let mut auth = AuthHandler::builder(sessions.clone(), &base).provider("oidc", oidc, on_success);
    if setup.authorization_server {
        let tokens = RefreshTokens::builder(sessions.clone(), Arc::new(MemoryStore::new()))
            .build()
            .expect("tokens");
        auth = auth
            .refresh_tokens(tokens)
            .clients(Clients::new().client(Client::public(WEB).redirect_uri(WEB_REDIRECT)));
    }
    let auth = auth.build().expect("handler");
    runtime.spawn(async move {
        axum::serve(
            listener,
            auth.router()
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    Flow {
        base,
        sessions,
        signed_in,
        provider,
        _runtime: runtime,
    }
}

fn query(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn with_query(url: &str, name: &str, value: &str) -> String {
    let mut url = url::Url::parse(url).expect("URL");
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != name)
        .map(|(key, old)| (key.into_owned(), old.into_owned()))
        .collect();
    pairs.push((name.to_owned(), value.to_owned()));
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

#[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
#[test]
fn oidc_sign_in_against_a_real_provider() {
    require_node();
    let flow = start();
    let authorize = format!("{}/auth/oidc/authorize", flow.base);
    let callback = format!("{}/auth/oidc/callback", flow.base);

    // The redirect to the provider carries PKCE (S256), state, nonce and the openid scope.
    let mut browser = Browser::default();
    let to_provider = browser.follow(&authorize, Some(&flow.provider.issuer));
    assert_eq!(to_provider.status, 302);
    let request = to_provider.header("location").expect("redirect").to_owned();
    assert_eq!(query(&request, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(query(&request, "client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(query(&request, "redirect_uri").as_deref(), Some(callback.as_str()));
    assert!(query(&request, "code_challenge").is_some_and(|challenge| challenge.len() == 43));
    assert!(query(&request, "nonce").is_some() && query(&request, "state").is_some());
    assert!(query(&request, "scope").is_some_and(|scope| scope.split(' ').any(|s| s == "openid")));
    let flow_cookie = to_provider.cookie("auth-flow-oidc").expect("flow cookie");
    assert!(
        !flow_cookie.contains(&query(&request, "state").unwrap()),
        "the cookie holds an id, not the state"
    );

    // Through the provider's login and consent, back to our callback, which exchanges the code.
    let done = browser.follow(&request, Some(&format!("{}/done", flow.base)));
    assert_eq!(done.status, 302, "{}", done.body);
    assert_eq!(done.header("location"), Some("/done"));
    assert_eq!(done.cookie("auth-flow-oidc"), Some(""), "the flow cookie is deleted");
    let token = done.cookie("auth-token").expect("a session cookie");
    let verified = flow.sessions.verify(token).expect("a valid session");
    assert_eq!(verified.session, common::user("alice"));
    let claims = flow.signed_in.lock().unwrap().pop().expect("on_success ran");
    assert_eq!(claims.issuer, flow.provider.issuer);
    assert_eq!(claims.subject, "alice");
    assert_eq!(claims.email.as_deref(), Some("alice@example.com"));
    assert_eq!(claims.email_verified, Some(true));
    assert!(!claims.access_token.is_empty() && claims.id_token.split('.').count() == 3);
}

/// Starts a flow and returns the browser and the provider's redirect to our callback, unfollowed.
fn callback_of(flow: &Flow) -> (Browser, String) {
    let mut browser = Browser::default();
    let authorize = format!("{}/auth/oidc/authorize", flow.base);
    let reply = browser.follow(&authorize, Some(&format!("{}/auth/oidc/callback", flow.base)));
    assert!((300..400).contains(&reply.status), "{} {}", reply.status, reply.body);
    let location = reply.header("location").expect("redirect to our callback").to_owned();
    assert!(query(&location, "code").is_some(), "{location}");
    (browser, location)
}

fn send_callback(browser: &Browser, url: &str) -> common::client::Reply {
    let cookies = browser.cookie_header();
    get(addr_of(url), &path_of(url), &[("Cookie", &cookies)])
}

#[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
#[test]
fn oidc_callbacks_with_bad_state_are_refused() {
    require_node();
    let flow = start();

    // A forged callback (another site's navigation carries the Lax flow cookie) fails, and leaves
    // the person's flow alone: its cookie is kept and the real callback still signs in.
    let (browser, callback) = callback_of(&flow);
    let tampered = send_callback(&browser, &with_query(&callback, "state", "forged"));
    assert_eq!(tampered.status, 400);
    assert!(tampered.body.contains("state mismatch"), "{}", tampered.body);
    assert_eq!(
        tampered.cookie("auth-flow-oidc"),
        None,
        "the flow cookie is not touched"
    );
    assert_eq!(tampered.cookie("auth-token"), None);
    let after = send_callback(&browser, &callback);
    assert_eq!(after.status, 302, "{}", after.body);

    // No flow cookie: a callback from another browser (login CSRF) is refused.
    let (_, callback) = callback_of(&flow);
    let elsewhere = get(addr_of(&callback), &path_of(&callback), &[]);
    assert_eq!(elsewhere.status, 400);
    assert!(
        elsewhere.body.contains("no sign-in is in progress"),
        "{}",
        elsewhere.body
    );

    // A callback replayed after a successful sign-in is refused.
    let (browser, callback) = callback_of(&flow);
    let first = send_callback(&browser, &callback);
    assert_eq!(first.status, 302, "{}", first.body);
    let replay = send_callback(&browser, &callback);
    assert_eq!(replay.status, 400);
    assert_eq!(replay.cookie("auth-token"), None);

    // A mix-up: the `iss` of the response is another issuer.
    let (browser, callback) = callback_of(&flow);
    let mixed_up = send_callback(&browser, &with_query(&callback, "iss", "https://evil.example"));
    assert_eq!(mixed_up.status, 502, "{}", mixed_up.body);
    let (browser, callback) = callback_of(&flow);
    let doubled = format!("{callback}&iss=https%3A%2F%2Fevil.example");
    assert_eq!(
        send_callback(&browser, &doubled).status,
        502,
        "a second `iss` does not hide a wrong one"
    );

    // The provider advertises RFC 9207's `iss`: a response without it is refused.
    let (browser, callback) = callback_of(&flow);
    let mut without_iss = url::Url::parse(&callback).expect("URL");
    let kept: Vec<(String, String)> = without_iss
        .query_pairs()
        .filter(|(key, _)| key != "iss")
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    without_iss.query_pairs_mut().clear().extend_pairs(kept);
    let refused = send_callback(&browser, without_iss.as_str());
    assert_eq!(refused.status, 502, "{}", refused.body);

    // The provider's refusal reaches on_error as `Denied`.
    let (browser, callback) = callback_of(&flow);
    let state = query(&callback, "state").expect("state");
    let denied_url = format!("{}/auth/oidc/callback?error=access_denied&state={state}", flow.base);
    let denied = send_callback(&browser, &denied_url);
    assert_eq!(denied.status, 400);
    assert!(
        denied.body.contains("refused the sign-in: access_denied"),
        "{}",
        denied.body
    );
    assert_eq!(
        flow.signed_in.lock().unwrap().len(),
        2,
        "only the two good callbacks signed in"
    );
}

/// The provider rotates its signing key after we discovered it: the next ID token names a `kid`
/// we have not seen, so its keys are fetched again (once) instead of every sign-in failing until
/// a restart.
#[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
#[test]
fn a_provider_that_rotates_its_keys_is_followed() {
    require_node();
    let flow = start();
    let (browser, callback) = callback_of(&flow);
    assert_eq!(send_callback(&browser, &callback).status, 302);

    let rotate = common::client::send(addr_of(&flow.provider.issuer), "POST", "/rotate", &[]);
    assert_eq!(rotate.status, 200, "{}", rotate.body);
    let (browser, callback) = callback_of(&flow);
    let after = send_callback(&browser, &callback);
    assert_eq!(after.status, 302, "{}", after.body);
    assert_eq!(flow.signed_in.lock().unwrap().len(), 2);
}

/// An app that maps email addresses to accounts must not take an unverified one: whoever
/// registers that address at the provider would become the account here.
#[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
#[test]
fn an_unverified_email_is_refused_where_it_is_required() {
    require_node();
    let unverified = Setup {
        unverified_email: true,
        require_verified_email: true,
        ..Setup::default()
    };
    let flow = start_with(unverified);
    let (browser, callback) = callback_of(&flow);
    let refused = send_callback(&browser, &callback);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("not verified"), "{}", refused.body);
    assert_eq!(refused.cookie("auth-token"), None);

    // Without the requirement the same sign-in passes, and says the email is unverified.
    let flow = start_with(Setup {
        unverified_email: true,
        ..Setup::default()
    });
    let (browser, callback) = callback_of(&flow);
    assert_eq!(send_callback(&browser, &callback).status, 302);
    let claims = flow.signed_in.lock().unwrap().pop().expect("signed in");
    assert_eq!(claims.email_verified, Some(false));
}

/// Through the authorization server: `/authorize` with only an identity provider mounted goes
/// straight to it; the provider's callback (a cross-site navigation back, which carries the
/// `SameSite=Lax` authorization cookie) ends in a code for the client, not a cookie here.
#[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
#[test]
fn an_oidc_sign_in_ends_in_a_code_for_the_client_that_asked() {
    require_node();
    let flow = start_with(Setup {
        authorization_server: true,
        ..Setup::default()
    });
    let verifier = "a-verifier-of-enough-length-0123456789-abcdefghijklmnop";
    let challenge = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let mut authorize = url::Url::parse(&format!("{}/auth/authorize", flow.base)).expect("URL");
    authorize
        .query_pairs_mut()
        .append_pair("client_id", WEB)
        .append_pair("redirect_uri", WEB_REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("state", "keep-me")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let mut browser = Browser::default();
    let done = browser.follow(authorize.as_str(), Some(WEB_REDIRECT));
    assert_eq!(done.status, 302, "{}", done.body);
    assert_eq!(done.cookie("auth-token"), None, "no session on the issuer's origin");
    let location = done.header("location").expect("back to the client").to_owned();
    assert_eq!(query(&location, "state").as_deref(), Some("keep-me"));
    assert_eq!(query(&location, "iss"), Some(format!("{}/auth", flow.base)));
    let code = query(&location, "code").expect("a code");
    let exchanged = common::client::post_form(
        addr_of(&flow.base),
        "/auth/token",
        &[],
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", WEB_REDIRECT),
            ("client_id", WEB),
            ("code_verifier", verifier),
        ],
    );
    assert_eq!(exchanged.status, 200, "{}", exchanged.body);
    let access = exchanged.json()["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned();
    let payload = access.split('.').nth(1).expect("a JWS");
    let claims: serde_json::Value = {
        use base64::Engine;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .expect("base64url"),
        )
        .expect("JSON")
    };
    assert_eq!(claims["aud"], WEB);
    assert_eq!(claims["properties"]["userID"], "alice");
}
