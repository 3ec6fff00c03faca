//! The ready-made OpenID providers (Google, Twitch, Slack, Yahoo, JumpCloud, Cognito, Keycloak)
//! against the real `oidc-provider` package (tests/oidc/server.mjs) configured the way each
//! provider is: its issuer's shape (Keycloak's `/realms/<realm>`, Cognito's `/<pool id>`,
//! Twitch's `/oauth2`), each preset's scopes and parameters sent as they would be to the real
//! one. Every preset gets the same six cases as the plain OAuth 2.0 providers: a full sign-in
//! through a quickstart-style app, a state mismatch, a denied consent, a token endpoint error,
//! a userinfo endpoint that answers 503, and an unverified email under `require_verified_email`.
//!
//! Needs Node.js (tests/oidc/package-lock.json), as the other OpenID tests do.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use auth_runtime::providers::AuthHandler;
use auth_runtime::providers::oidc::{OidcClaims, OidcPreset, OidcProvider};

use crate::common::client::{Browser, addr_of, path_of};
use crate::common::node::NodeServer;
use crate::common::{self, AppSession, tools};

const CLIENT_ID: &str = "typed-sessions";
const CLIENT_SECRET: &str = "test-only-client-secret-0123456789";
/// The tenant of the Microsoft case's account (Microsoft's consumer tenant id, as an example).
const MICROSOFT_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// The app with the preset mounted, its provider process, and what `on_success` received.
struct Setup {
    base: String,
    name: &'static str,
    signed_in: Arc<Mutex<Vec<OidcClaims>>>,
    sent_to_provider: String,
    _provider: NodeServer,
    _runtime: tokio::runtime::Runtime,
}

impl Setup {
    /// `preset` moved to an `oidc-provider` whose issuer has `path`, started with `options`.
    fn start(preset: fn() -> OidcPreset, path: &str, options: &[&str], require_verified: bool) -> Setup {
        Setup::start_with(preset, path, options, |provider| {
            if require_verified {
                provider.require_verified_email()
            } else {
                provider
            }
        })
    }

    /// [`start`](Self::start), with `configure` applied to the provider.
    fn start_with(
        preset: fn() -> OidcPreset,
        path: &str,
        options: &[&str],
        configure: impl FnOnce(OidcProvider) -> OidcProvider,
    ) -> Setup {
        Setup::start_on("127.0.0.1", preset, path, options, configure)
    }

    /// [`start_with`](Self::start_with), the app at `http://<host>:<port>` (`localhost`: another
    /// site than the provider on 127.0.0.1, for a browser).
    fn start_on(
        host: &str,
        preset: fn() -> OidcPreset,
        path: &str,
        options: &[&str],
        configure: impl FnOnce(OidcProvider) -> OidcProvider,
    ) -> Setup {
        tools::require("Node.js", "node", &["--version"]);
        tools::npm_install(&tools::dir("oidc"), "oidc-provider");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("binds");
        let addr: SocketAddr = listener.local_addr().expect("address");
        let base = format!("http://{host}:{}", addr.port());
        let preset = preset();
        let name = preset.name();
        let mut args = vec![format!("{base}/auth/{name}/callback")];
        if !path.is_empty() {
            args.push(format!("path={path}"));
        }
        args.extend(options.iter().map(|option| (*option).to_owned()));
        let node = NodeServer::start(&tools::dir("oidc"), "server.mjs", &args, &[], |_| {});
        let issuer = node.ready.clone();
        assert!(issuer.ends_with(path), "the issuer has the provider's shape: {issuer}");
        // Microsoft: the app is configured for `common`, whose document names a tenant template.
        let issuer = if options.contains(&"microsoft") {
            issuer.replace(MICROSOFT_TENANT, "common")
        } else {
            issuer
        };
        let provider = runtime
            .block_on(OidcProvider::preset(
                preset.with_issuer(&issuer),
                CLIENT_ID,
                Some(CLIENT_SECRET.to_owned()),
            ))
            .expect("discovery against the provider");
        let provider = configure(provider);
        let sessions = common::builder(common::hs256_key()).build().expect("sessions");
        let signed_in: Arc<Mutex<Vec<OidcClaims>>> = Arc::default();
        let on_success = {
            let signed_in = Arc::clone(&signed_in);
            let sessions = sessions.clone();
            move |claims: OidcClaims| {
                let sessions = sessions.clone();
                let session = AppSession::User {
                    user_id: claims.subject.clone(),
                };
                signed_in.lock().expect("lock").push(claims);
                async move { Ok(sessions.cookie(&session, "/done")?) }
            }
        };
        let auth = AuthHandler::builder(sessions, &base)
            .provider(name, provider, on_success)
            .build()
            .expect("a handler");
        runtime.spawn(async move {
            axum::serve(
                listener,
                auth.router().into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        Setup {
            base,
            name,
            signed_in,
            sent_to_provider: String::new(),
            _provider: node,
            _runtime: runtime,
        }
    }

    /// Starts a sign-in and follows it to the provider and back, stopping at `/done`; keeps the
    /// authorization request sent to the provider.
    fn sign_in(&mut self, browser: &mut Browser) -> common::client::Reply {
        let authorize = format!("{}/auth/{}/authorize", self.base, self.name);
        let first = browser.follow(&authorize, Some("http://127.0.0.1"));
        self.sent_to_provider = first.header("location").unwrap_or_default().to_owned();
        browser.follow(&self.sent_to_provider.clone(), Some(&format!("{}/done", self.base)))
    }
}

fn query(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn full_sign_in(preset: fn() -> OidcPreset, path: &str, options: &[&str]) {
    let mut setup = Setup::start(preset, path, options, false);
    let mut browser = Browser::default();
    let done = setup.sign_in(&mut browser);
    assert_eq!(done.status, 302, "{}: {}", setup.name, done.body);
    assert_eq!(done.header("location"), Some("/done"));
    assert!(done.cookie("auth-token").is_some_and(|token| !token.is_empty()));
    let claims = setup.signed_in.lock().expect("lock").pop().expect("on_success ran");
    assert_eq!(claims.subject, "alice");
    assert_eq!(claims.email.as_deref(), Some("alice@example.com"));
    assert_eq!(claims.email_verified, Some(true));
    // What went to the provider: its scopes and parameters, PKCE and a nonce.
    let sent = &setup.sent_to_provider;
    let scope = query(sent, "scope").unwrap_or_default();
    for asked in preset().scopes().iter().copied() {
        assert!(
            scope.split(' ').any(|s| s == asked),
            "{} asks for {asked}: {scope}",
            setup.name
        );
    }
    for (name, value) in preset().authorize_params().iter().copied() {
        assert_eq!(query(sent, name).as_deref(), Some(value), "{}", setup.name);
    }
    assert_eq!(query(sent, "code_challenge_method").as_deref(), Some("S256"));
    assert!(query(sent, "nonce").is_some());
}

fn state_mismatch(preset: fn() -> OidcPreset, path: &str, options: &[&str]) {
    let setup = Setup::start(preset, path, options, false);
    crate::common::client::a_forged_state_is_refused(&setup.base, setup.name);
}

/// The preset's provider (`options`) with `option` on top.
struct Case<'a> {
    options: &'a [&'a str],
    option: &'a str,
    require_verified: bool,
    status: u16,
    says: &'a str,
}

fn refused_when(preset: fn() -> OidcPreset, path: &str, case: Case<'_>) {
    let Case {
        options,
        option,
        require_verified,
        status,
        says,
    } = case;
    let mut all = options.to_vec();
    all.push(option);
    let mut setup = Setup::start(preset, path, &all, require_verified);
    let mut browser = Browser::default();
    let reply = setup.sign_in(&mut browser);
    assert_eq!(reply.status, status, "{} with {option}: {}", setup.name, reply.body);
    assert!(reply.body.contains(says), "{}", reply.body);
    assert!(reply.cookie("auth-token").is_none(), "nothing signed in");
    assert!(setup.signed_in.lock().expect("lock").is_empty(), "on_success never ran");
}

/// A provider whose ID token carries the claims: a userinfo outage does not stop the sign-in,
/// and the email still comes.
fn userinfo_not_asked(preset: fn() -> OidcPreset, path: &str, options: &[&str]) {
    let mut all = options.to_vec();
    all.push("userinfo-unavailable");
    let mut setup = Setup::start(preset, path, &all, false);
    let mut browser = Browser::default();
    let done = setup.sign_in(&mut browser);
    assert_eq!(done.status, 302, "{}", done.body);
    let claims = setup.signed_in.lock().expect("lock").pop().expect("on_success ran");
    assert_eq!(claims.email.as_deref(), Some("alice@example.com"));
}

/// Microsoft's `common` endpoint takes any tenant unless told otherwise: `allow_tenants` refuses
/// a person of another tenant, and lets the named one in.
#[test]
#[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
fn microsoft_tenants_can_be_restricted() {
    let path = format!("/{MICROSOFT_TENANT}/v2.0");
    for (allowed, status) in [("72f988bf-86f1-41af-91ab-2d7cd011db47", 502), (MICROSOFT_TENANT, 302)] {
        let mut setup = Setup::start_with(
            || OidcPreset::microsoft("common"),
            &path,
            &["microsoft"],
            |provider| provider.allow_tenants([allowed]),
        );
        let mut browser = Browser::default();
        let reply = setup.sign_in(&mut browser);
        assert_eq!(reply.status, status, "allowed {allowed}: {}", reply.body);
        assert_eq!(reply.cookie("auth-token").is_some(), status == 302);
    }
    // The token's own tenant is in `raw`.
    let mut setup = Setup::start(|| OidcPreset::microsoft("common"), &path, &["microsoft"], false);
    setup.sign_in(&mut Browser::default());
    let claims = setup.signed_in.lock().expect("lock").pop().expect("on_success ran");
    assert_eq!(claims.raw["tid"], MICROSOFT_TENANT);
    assert_eq!(claims.raw["iss"], claims.issuer.as_str());
    assert!(
        claims.issuer.ends_with(&path),
        "the tenant's own issuer: {}",
        claims.issuer
    );
}

macro_rules! preset_cases {
    ($provider:ident, $preset:expr, path: $path:expr) => {
        preset_cases!($provider, $preset, path: $path, options: []);
    };
    ($provider:ident, $preset:expr, path: $path:expr, options: [$($option:expr),*]) => {
        mod $provider {
            use super::*;

            #[test]
            #[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
            fn signs_a_person_in() {
                full_sign_in($preset, $path, &[$($option),*]);
            }

            #[test]
            #[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
            fn refuses_a_state_mismatch() {
                state_mismatch($preset, $path, &[$($option),*]);
            }

            #[test]
            #[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
            fn ends_on_a_denied_consent() {
                refused_when(
                    $preset,
                    $path,
                    Case { options: &[$($option),*], option: "deny", require_verified: false, status: 400, says: "access_denied" },
                );
            }

            #[test]
            #[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
            fn ends_on_a_token_endpoint_error() {
                refused_when(
                    $preset,
                    $path,
                    Case { options: &[$($option),*], option: "token-error", require_verified: false, status: 502, says: "try again later" },
                );
            }

            #[test]
            #[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
            fn signs_no_one_in_when_userinfo_fails() {
                if [$($option),*].contains(&"microsoft") {
                    // Microsoft's ID token carries the email: userinfo is not asked at all.
                    userinfo_not_asked($preset, $path, &[$($option),*]);
                    return;
                }
                refused_when(
                    $preset,
                    $path,
                    Case { options: &[$($option),*], option: "userinfo-unavailable", require_verified: false, status: 502, says: "try again later" },
                );
            }

            #[test]
            #[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
            fn refuses_an_unverified_email_where_required() {
                refused_when(
                    $preset,
                    $path,
                    Case { options: &[$($option),*], option: "unverified-email", require_verified: true, status: 400, says: "not verified" },
                );
            }
        }
    };
}

preset_cases!(google, OidcPreset::google, path: "");
preset_cases!(twitch, OidcPreset::twitch, path: "/oauth2", options: ["twitch"]);
preset_cases!(slack, OidcPreset::slack, path: "");
preset_cases!(yahoo, OidcPreset::yahoo, path: "");
preset_cases!(jumpcloud, OidcPreset::jumpcloud, path: "");
preset_cases!(cognito, || OidcPreset::cognito("eu-west-1", "eu-west-1_Test123"), path: "/eu-west-1_Test123");
preset_cases!(keycloak, || OidcPreset::keycloak("https://sso.example.com", "staff"), path: "/realms/staff");
preset_cases!(
    microsoft,
    || OidcPreset::microsoft("common"),
    path: "/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
    options: ["microsoft"]
);

/// Sign in with Apple, against `oidc-provider` shaped as Apple is (`apple=` in server.mjs): the
/// client secret an ES256 JWT checked with the app's public key, the answer a cross-site form
/// POST. The test plays the browser's part of Apple's `form_post` page: it posts the fields (and
/// the `user` field Apple adds on a first sign-in) to our callback from Apple's origin, with no
/// cookie, as a browser sends a cross-site POST with `SameSite=Lax` cookies.
mod apple {
    use super::*;
    use auth_runtime::providers::oidc::AppleKey;

    const FIRST_SIGN_IN_USER: &str =
        r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"alice@example.com"}"#;

    fn key(key_id: &str) -> AppleKey {
        AppleKey::new("TEAM123ABC", key_id, &common::key_pem("es256.pem")).expect("the test's P-256 key")
    }

    fn start(options: &[&str], key_id: &'static str, require_verified: bool) -> Setup {
        start_on("127.0.0.1", options, key_id, require_verified)
    }

    fn start_on(host: &str, options: &[&str], key_id: &'static str, require_verified: bool) -> Setup {
        let public = tools::dir("keys").join("es256.pub.pem");
        let apple = format!("apple={}", public.display());
        let mut all: Vec<&str> = options.to_vec();
        all.push(&apple);
        Setup::start_on(host, OidcPreset::apple, "", &all, move |provider| {
            let provider = provider.apple_client_secret(key(key_id));
            if require_verified {
                provider.require_verified_email()
            } else {
                provider
            }
        })
    }

    /// The hidden fields of an HTML form.
    fn fields(page: &str) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for input in page.split("<input").skip(1) {
            let attribute = |name: &str| {
                let marker = format!("{name}=\"");
                let start = input.find(&marker)? + marker.len();
                let end = input[start..].find('"')? + start;
                Some(input[start..end].replace("&quot;", "\"").replace("&amp;", "&"))
            };
            if let (Some(name), Some(value)) = (attribute("name"), attribute("value")) {
                found.push((name, value));
            }
        }
        found
    }

    /// Through Apple's page to its form post, then our page that posts it again: the last reply.
    fn sign_in(
        setup: &mut Setup,
        browser: &mut Browser,
        tamper: impl FnOnce(&mut Vec<(String, String)>),
    ) -> common::client::Reply {
        let authorize = format!("{}/auth/apple/authorize", setup.base);
        let first = browser.follow(&authorize, Some("http://127.0.0.1"));
        setup.sent_to_provider = first.header("location").expect("to Apple").to_owned();
        let apple_page = browser.follow(&setup.sent_to_provider.clone(), None);
        // A page that posts the answer (with 400 for an error answer: a browser posts it all the same).
        assert!(
            apple_page.body.contains("<form"),
            "Apple's form post page: {}",
            apple_page.body
        );
        let mut posted = fields(&apple_page.body);
        posted.push(("user".to_owned(), FIRST_SIGN_IN_USER.to_owned()));
        tamper(&mut posted);
        let callback = format!("{}/auth/apple/callback", setup.base);
        let apple_origin = {
            let url = url::Url::parse(&setup.sent_to_provider).expect("URL");
            url.origin().ascii_serialization()
        };
        let form: Vec<(&str, &str)> = posted
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        // Cross-site: no cookie travels.
        let cross_site = common::client::post_form(
            addr_of(&callback),
            &path_of(&callback),
            &[("Origin", &apple_origin), ("Sec-Fetch-Site", "cross-site")],
            &form,
        );
        assert_eq!(cross_site.status, 200, "{}", cross_site.body);
        let policy = cross_site.header("content-security-policy").unwrap_or_default();
        assert!(
            policy.contains("script-src 'sha256-") && policy.contains("form-action 'self'"),
            "{policy}"
        );
        let again = fields(&cross_site.body);
        let again: Vec<(&str, &str)> = again
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        browser.post_form(
            &callback,
            &[("Origin", &setup.base), ("Sec-Fetch-Site", "same-origin")],
            &again,
        )
    }

    #[test]
    #[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
    fn signs_a_person_in_through_its_form_post() {
        let mut setup = start(&[], "KEY123ABC", false);
        let mut browser = Browser::default();
        let done = sign_in(&mut setup, &mut browser, |_| {});
        assert_eq!(done.status, 302, "{}", done.body);
        assert_eq!(done.header("location"), Some("/done"));
        let claims = setup.signed_in.lock().expect("lock").pop().expect("on_success ran");
        assert_eq!(claims.email.as_deref(), Some("alice@example.com"));
        assert_eq!(claims.email_verified, Some(true), "Apple's \"true\" read as true");
        assert_eq!(claims.name.as_deref(), Some("Ada Lovelace"), "the first sign-in's name");
        assert_eq!(claims.raw["user"]["name"]["firstName"], "Ada");
        assert_eq!(
            query(&setup.sent_to_provider, "response_mode").as_deref(),
            Some("form_post")
        );
        assert_eq!(
            query(&setup.sent_to_provider, "scope").as_deref(),
            Some("openid name email")
        );
    }

    #[test]
    #[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
    fn a_form_post_from_another_origin_is_refused() {
        let setup = start(&[], "KEY123ABC", false);
        let callback = format!("{}/auth/apple/callback", setup.base);
        let reply = common::client::post_form(
            addr_of(&callback),
            &path_of(&callback),
            &[("Origin", "https://evil.example.com"), ("Sec-Fetch-Site", "cross-site")],
            &[("code", "x"), ("state", "y")],
        );
        assert_eq!(reply.status, 403, "{}", reply.body);
    }

    #[test]
    #[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
    fn the_answer_only_completes_in_the_browser_that_started() {
        let mut setup = start(&[], "KEY123ABC", false);
        let mut browser = Browser::default();
        let mut other_browser = Browser::default();
        // The form post lands, but is posted again from a browser without this flow's cookie.
        let authorize = format!("{}/auth/apple/authorize", setup.base);
        let first = browser.follow(&authorize, Some("http://127.0.0.1"));
        setup.sent_to_provider = first.header("location").expect("to Apple").to_owned();
        let apple_page = browser.follow(&setup.sent_to_provider.clone(), None);
        let posted = fields(&apple_page.body);
        let form: Vec<(&str, &str)> = posted
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let callback = format!("{}/auth/apple/callback", setup.base);
        let reply = other_browser.post_form(
            &callback,
            &[("Origin", &setup.base), ("Sec-Fetch-Site", "same-origin")],
            &form,
        );
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert!(reply.cookie("auth-token").is_none());
    }

    #[test]
    #[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
    fn refuses_a_state_mismatch() {
        let mut setup = start(&[], "KEY123ABC", false);
        let mut browser = Browser::default();
        let reply = sign_in(&mut setup, &mut browser, |fields| {
            for (name, value) in fields.iter_mut() {
                if name == "state" {
                    *value = "forged".to_owned();
                }
            }
        });
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert!(reply.body.contains("state mismatch"), "{}", reply.body);
    }

    #[test]
    #[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
    fn ends_on_a_denied_consent() {
        let mut setup = start(&["deny"], "KEY123ABC", false);
        let reply = sign_in(&mut setup, &mut Browser::default(), |_| {});
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert!(reply.body.contains("access_denied"), "{}", reply.body);
    }

    #[test]
    #[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
    fn ends_on_a_token_endpoint_error() {
        let mut setup = start(&["token-error"], "KEY123ABC", false);
        let reply = sign_in(&mut setup, &mut Browser::default(), |_| {});
        assert_eq!(reply.status, 502, "{}", reply.body);
        assert!(setup.signed_in.lock().expect("lock").is_empty());
    }

    /// A client secret Apple would refuse (signed for another key id): nothing signed in.
    #[test]
    #[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
    fn a_client_secret_apple_refuses_signs_no_one_in() {
        let mut setup = start(&[], "OTHERKEY", false);
        let reply = sign_in(&mut setup, &mut Browser::default(), |_| {});
        assert_eq!(reply.status, 502, "{}", reply.body);
        assert!(setup.signed_in.lock().expect("lock").is_empty());
    }

    /// Apple publishes no userinfo endpoint and puts the email in the ID token: an outage of a
    /// userinfo endpoint changes nothing.
    #[test]
    #[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
    fn needs_no_userinfo() {
        let mut setup = start(&["userinfo-unavailable"], "KEY123ABC", false);
        let reply = sign_in(&mut setup, &mut Browser::default(), |_| {});
        assert_eq!(reply.status, 302, "{}", reply.body);
    }

    #[test]
    #[ignore = "needs Node.js (tests/oidc/package-lock.json)"]
    fn refuses_an_unverified_email_where_required() {
        let mut setup = start(&["unverified-email"], "KEY123ABC", true);
        let reply = sign_in(&mut setup, &mut Browser::default(), |_| {});
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert!(reply.body.contains("not verified"), "{}", reply.body);
    }

    /// In Chromium: the app on `localhost`, Apple's stand-in on 127.0.0.1 (another site), so
    /// Apple's form post carries none of the app's `SameSite=Lax` cookies; the page the app
    /// answers it with posts it again from the app's origin (its script allowed by hash), and the
    /// person is signed in.
    #[test]
    #[ignore = "needs Node.js, chromium and chromium-driver"]
    fn a_browser_completes_the_form_post_in_chromium() {
        let test = "apple_form_post";
        crate::common::browser::clear_screenshots(test);
        let setup = start_on("localhost", &[], "KEY123ABC", false);
        let driver = crate::common::browser::Driver::start();
        common::runtime().block_on(async {
            let mut browser = driver.browser(test, "apple").await;
            // Apple's page posts itself, then the app's page posts again: no screenshot until done.
            browser.go(&format!("{}/auth/apple/authorize", setup.base)).await;
            browser.wait_for_url_ending("/done", "done").await;

            // A page the app serves (`/done` is not one), to read the site's cookies from.
            browser.open(&format!("{}/auth", setup.base), "provider-list").await;
            assert!(
                browser.cookie("auth-token").await.is_some(),
                "the session cookie is set"
            );
            browser.close().await;
        });
        let claims = setup.signed_in.lock().expect("lock").pop().expect("on_success ran");
        assert_eq!(claims.email.as_deref(), Some("alice@example.com"));
    }
}
