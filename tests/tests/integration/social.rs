//! The ready-made plain OAuth 2.0 providers (GitHub, Discord, Spotify, X, Facebook), each against
//! a local stand-in that follows that provider's published API reference (cited in its `Spec`)
//! and refuses what the real one refuses (`common::standin`): none of these hosted services can
//! be reached from CI. Every provider gets the same six cases through an app that mounts it
//! the way the quickstart mounts its providers: a full sign-in, a state mismatch, a denied
//! consent, a token endpoint error, a user endpoint that answers 503, and an email the provider
//! does not vouch for under `require_verified_email`.

use std::sync::{Arc, Mutex};

use auth_runtime::providers::AuthHandler;
use auth_runtime::providers::oauth2::{OAuth2Claims, OAuth2ConfigError, OAuth2Provider};

use crate::common::client::{Browser, serve_later};
use crate::common::standin::{Account, Behaviour, CLIENT_ID, CLIENT_SECRET, SecretIn, Spec, StandIn};
use crate::common::{self, AppSession};

type Make = fn(String, String) -> Result<OAuth2Provider, OAuth2ConfigError>;

fn account() -> Account {
    Account {
        id: "583231".to_owned(),
        name: "Ada Lovelace".to_owned(),
        email: "ada@example.com".to_owned(),
        verified: true,
    }
}

fn github() -> Spec {
    Spec {
        name: "github",
        reference: "https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps, \
                    https://docs.github.com/en/rest/users/emails",
        authorize_path: "/login/oauth/authorize",
        token_path: "/login/oauth/access_token",
        user_path: "/user",
        emails_path: Some("/user/emails"),
        secret_in: SecretIn::Body,
        pkce_required: false,
        github_style: true,
        // `id` is a number; `email` is the public address, null when the person shows none.
        user: |account| serde_json::json!({ "id": 583231, "login": "ada", "name": account.name, "email": null }),
        user_query: None,
    }
}

fn discord() -> Spec {
    Spec {
        name: "discord",
        reference: "https://discord.com/developers/docs/topics/oauth2, \
                    https://discord.com/developers/docs/resources/user#get-current-user",
        authorize_path: "/oauth2/authorize",
        token_path: "/api/oauth2/token",
        user_path: "/api/users/@me",
        emails_path: None,
        secret_in: SecretIn::Either,
        pkce_required: false,
        github_style: false,
        user: |account| {
            serde_json::json!({
                "id": account.id, "username": "ada", "global_name": account.name,
                "email": account.email, "verified": account.verified,
            })
        },
        user_query: None,
    }
}

fn spotify() -> Spec {
    Spec {
        name: "spotify",
        reference: "https://developer.spotify.com/documentation/web-api/tutorials/code-flow, \
                    https://developer.spotify.com/documentation/web-api/reference/get-current-users-profile",
        authorize_path: "/authorize",
        token_path: "/api/token",
        user_path: "/v1/me",
        emails_path: None,
        secret_in: SecretIn::Basic,
        pkce_required: false,
        github_style: false,
        user: |account| serde_json::json!({ "id": account.id, "display_name": account.name, "email": account.email }),
        user_query: None,
    }
}

fn x() -> Spec {
    Spec {
        name: "x",
        reference: "https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code, \
                    https://docs.x.com/x-api/users/user-lookup-me",
        authorize_path: "/i/oauth2/authorize",
        token_path: "/2/oauth2/token",
        user_path: "/2/users/me",
        emails_path: None,
        secret_in: SecretIn::Basic,
        pkce_required: true,
        github_style: false,
        user: |account| serde_json::json!({ "data": { "id": account.id, "name": account.name, "username": "ada" } }),
        user_query: None,
    }
}

fn facebook() -> Spec {
    Spec {
        name: "facebook",
        reference: "https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow, \
                    https://developers.facebook.com/docs/graph-api/reference/user/",
        authorize_path: "/v23.0/dialog/oauth",
        token_path: "/v23.0/oauth/access_token",
        user_path: "/v23.0/me?fields=id,name,email",
        emails_path: None,
        secret_in: SecretIn::Body,
        pkce_required: false,
        github_style: false,
        user: |account| serde_json::json!({ "id": account.id, "name": account.name, "email": account.email }),
        user_query: Some(("fields", "id,name,email")),
    }
}

/// A provider of the app's own choosing through the generic constructor: the standard fields
/// (`sub`, `email`, `email_verified`, `name`), PKCE required as OAuth 2.1 servers do.
fn generic() -> Spec {
    Spec {
        name: "generic",
        reference: "RFC 6749 section 4.1 and RFC 7636 (a provider with standard userinfo fields)",
        authorize_path: "/oauth/authorize",
        token_path: "/oauth/token",
        user_path: "/oauth/userinfo",
        emails_path: None,
        secret_in: SecretIn::Either,
        pkce_required: true,
        github_style: false,
        user: |account| {
            serde_json::json!({
                "sub": account.id, "email": account.email, "email_verified": account.verified, "name": account.name,
            })
        },
        user_query: None,
    }
}

/// The generic constructor, with a `prompt`, a `login_hint` and a parameter of the app's own.
fn generic_provider(id: String, secret: String) -> Result<OAuth2Provider, OAuth2ConfigError> {
    Ok(OAuth2Provider::new(
        "generic",
        "https://id.example.com/oauth/authorize",
        "https://id.example.com/oauth/token",
        id,
    )?
    .client_secret(secret)
    .scopes(["openid", "email"])
    .prompt("consent")
    .login_hint("ada@example.com")
    .authorize_param("access_type", "offline")
    // The flow's own parameters cannot be replaced.
    .authorize_param("state", "fixed"))
}

/// The app with the provider mounted, and its stand-in.
struct Setup {
    base: String,
    name: &'static str,
    standin: StandIn,
    signed_in: Arc<Mutex<Vec<OAuth2Claims>>>,
}

impl Setup {
    fn start(spec: Spec, make: Make, require_verified: bool) -> Setup {
        let (addr, start) = serve_later();
        let base = format!("http://{addr}");
        let name = spec.name;
        let callback = format!("{base}/auth/{name}/callback");
        let user_path = spec.user_path;
        let (authorize, token) = (spec.authorize_path, spec.token_path);
        let standin = StandIn::start(spec, &callback, account());
        let provider = make(CLIENT_ID.to_owned(), CLIENT_SECRET.to_owned())
            .and_then(|provider| {
                provider.endpoints(&standin.url(authorize), &standin.url(token), &standin.url(user_path))
            })
            .expect("the provider");
        let provider = if require_verified {
            provider.require_verified_email()
        } else {
            provider
        };
        let sessions = common::builder(common::hs256_key()).build().expect("sessions");
        let signed_in: Arc<Mutex<Vec<OAuth2Claims>>> = Arc::default();
        let on_success = {
            let signed_in = Arc::clone(&signed_in);
            move |claims: OAuth2Claims| {
                let sessions = sessions.clone();
                let session = AppSession::User {
                    user_id: format!("{}:{}", claims.provider, claims.identity.subject),
                };
                signed_in.lock().expect("lock").push(claims);
                async move { Ok(sessions.cookie(&session, "/done")?) }
            }
        };
        let auth = AuthHandler::builder(common::builder(common::hs256_key()).build().expect("sessions"), &base)
            .provider(name, provider, on_success)
            .build()
            .expect("a handler");
        start(auth.router());
        Setup {
            base,
            name,
            standin,
            signed_in,
        }
    }

    /// Starts a sign-in and follows it to the provider and back, stopping at `/done`.
    fn sign_in(&self, browser: &mut Browser) -> common::client::Reply {
        browser.follow(
            &format!("{}/auth/{}/authorize", self.base, self.name),
            Some(&format!("{}/done", self.base)),
        )
    }
}

fn full_sign_in(spec: Spec, make: Make, says_verified: Option<bool>, gives_email: bool) {
    let setup = Setup::start(spec, make, false);
    let mut browser = Browser::default();
    let done = setup.sign_in(&mut browser);
    assert_eq!(done.status, 302, "{}: {}", setup.name, done.body);
    assert_eq!(done.header("location"), Some("/done"));
    assert!(
        done.cookie("auth-token").is_some_and(|token| !token.is_empty()),
        "signed in"
    );
    let claims = setup.signed_in.lock().expect("lock").pop().expect("on_success ran");
    assert_eq!(claims.provider, setup.name);
    assert_eq!(claims.identity.subject, "583231");
    assert_eq!(claims.identity.name.as_deref(), Some("Ada Lovelace"));
    let email = gives_email.then_some("ada@example.com");
    assert_eq!(claims.identity.email.as_deref(), email);
    assert_eq!(claims.identity.email_verified, says_verified);
    assert!(!claims.tokens.access_token.is_empty());
    assert_eq!(claims.tokens.expires_in.is_some(), setup.name != "github");
    assert!(!claims.tokens.scopes.is_empty(), "the granted scopes");
    assert!(claims.raw.is_object(), "the raw answer");
    assert_eq!(setup.standin.open_codes(), 0, "the code was redeemed");
}

/// The provider's redirect back, with `state` changed: refused, and the flow goes on.
fn state_mismatch(spec: Spec, make: Make) {
    let setup = Setup::start(spec, make, false);
    crate::common::client::a_forged_state_is_refused(&setup.base, setup.name);
}

/// Each failure ends the flow with nothing signed in and the page that says why.
fn refused_when(spec: Spec, make: Make, behaviour: Behaviour, status: u16, says: &str) {
    let setup = Setup::start(spec, make, false);
    setup.standin.behave(behaviour);
    let mut browser = Browser::default();
    let reply = setup.sign_in(&mut browser);
    assert_eq!(reply.status, status, "{}: {}", setup.name, reply.body);
    assert!(reply.body.contains(says), "{}", reply.body);
    assert!(reply.cookie("auth-token").is_none(), "nothing signed in");
    assert!(setup.signed_in.lock().expect("lock").is_empty(), "on_success never ran");
}

fn denied(spec: Spec, make: Make) {
    let behaviour = Behaviour {
        deny: true,
        ..Behaviour::default()
    };
    refused_when(spec, make, behaviour, 400, "access_denied");
}

fn token_error(spec: Spec, make: Make) {
    let behaviour = Behaviour {
        token_error: true,
        ..Behaviour::default()
    };
    // Server-side failures show a generic page (the detail is in the logs).
    refused_when(spec, make, behaviour, 502, "try again later");
}

fn user_unavailable(spec: Spec, make: Make) {
    let behaviour = Behaviour {
        user_unavailable: true,
        ..Behaviour::default()
    };
    refused_when(spec, make, behaviour, 502, "try again later");
}

/// Under `require_verified_email`: refused when the provider says the address is unverified,
/// and when it does not say at all (Spotify, X, Facebook).
fn unverified_email(spec: Spec, make: Make) {
    let setup = Setup::start(spec, make, true);
    setup.standin.account(Account {
        verified: false,
        ..account()
    });
    let mut browser = Browser::default();
    let reply = setup.sign_in(&mut browser);
    assert_eq!(reply.status, 400, "{}: {}", setup.name, reply.body);
    assert!(reply.body.contains("not verified"), "{}", reply.body);
    assert!(reply.cookie("auth-token").is_none());
}

macro_rules! provider_cases {
    ($provider:ident, $make:expr, says_verified: $verified:expr, gives_email: $email:expr) => {
        mod $provider {
            use super::*;

            #[test]
            fn signs_a_person_in() {
                full_sign_in(super::$provider(), $make, $verified, $email);
            }

            #[test]
            fn refuses_a_state_mismatch() {
                state_mismatch(super::$provider(), $make);
            }

            #[test]
            fn ends_on_a_denied_consent() {
                denied(super::$provider(), $make);
            }

            #[test]
            fn ends_on_a_token_endpoint_error() {
                token_error(super::$provider(), $make);
            }

            #[test]
            fn signs_no_one_in_when_the_user_endpoint_fails() {
                user_unavailable(super::$provider(), $make);
            }

            #[test]
            fn refuses_an_unverified_email_where_required() {
                unverified_email(super::$provider(), $make);
            }
        }
    };
}

provider_cases!(github, OAuth2Provider::github, says_verified: Some(true), gives_email: true);
provider_cases!(discord, OAuth2Provider::discord, says_verified: Some(true), gives_email: true);
provider_cases!(spotify, OAuth2Provider::spotify, says_verified: None, gives_email: true);
provider_cases!(x, OAuth2Provider::x, says_verified: None, gives_email: false);
provider_cases!(facebook, OAuth2Provider::facebook, says_verified: None, gives_email: true);
provider_cases!(generic, generic_provider, says_verified: Some(true), gives_email: true);

/// `prompt`, `login_hint` and the app's own parameters reach the provider; the flow's own
/// (`state` here) are never replaced.
#[test]
fn authorize_parameters_reach_the_provider() {
    let setup = Setup::start(generic(), generic_provider, false);
    let done = setup.sign_in(&mut Browser::default());
    assert_eq!(done.status, 302, "{}", done.body);
    let sent = setup.standin.last_authorize();
    assert_eq!(sent.get("prompt").map(String::as_str), Some("consent"));
    assert_eq!(sent.get("login_hint").map(String::as_str), Some("ada@example.com"));
    assert_eq!(sent.get("access_type").map(String::as_str), Some("offline"));
    assert_ne!(sent.get("state").map(String::as_str), Some("fixed"));
    assert_eq!(sent.get("scope").map(String::as_str), Some("openid email"));
    assert_eq!(sent.get("code_challenge_method").map(String::as_str), Some("S256"));
}
