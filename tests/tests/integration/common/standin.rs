//! A local stand-in for a hosted OAuth 2.0 provider that no machine here can reach (GitHub,
//! Discord, Spotify, X, Facebook): an axum server on 127.0.0.1 that follows the provider's
//! published API reference (each [`Spec`] cites it) and refuses what the real one refuses: an
//! unknown client or redirect URI, a missing or wrong PKCE verifier where the provider checks
//! it, the client authentication the provider does not take, a code used twice, a missing
//! bearer token, a missing `User-Agent` at GitHub's API.
//!
//! The person's side is automatic: the authorization endpoint approves (or, when told,
//! denies) at once and redirects back, as the provider does after its consent page.

#![allow(dead_code, reason = "each provider's tests use a different part")]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use super::client::serve;

/// How a provider takes a confidential client's secret at its token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretIn {
    /// `client_secret` in the body only.
    Body,
    /// `Authorization: Basic` only.
    Basic,
    /// Either.
    Either,
}

/// The person signing in at the provider.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub email: String,
    pub verified: bool,
}

/// One provider's API, as its reference describes it.
pub struct Spec {
    /// The provider's name, as the crate mounts it.
    pub name: &'static str,
    /// The API reference this stand-in follows.
    pub reference: &'static str,
    pub authorize_path: &'static str,
    pub token_path: &'static str,
    /// The user endpoint's path (and query the crate sends, where the provider needs one).
    pub user_path: &'static str,
    /// GitHub's `/user/emails`.
    pub emails_path: Option<&'static str>,
    pub secret_in: SecretIn,
    /// Whether an authorization request without an S256 challenge is refused.
    pub pkce_required: bool,
    /// GitHub: the token answer is a form unless `Accept: application/json`, and errors come with
    /// status 200.
    pub github_style: bool,
    /// The user endpoint's answer for `account`.
    pub user: fn(&Account) -> serde_json::Value,
    /// The query the user endpoint needs (Facebook's `fields`), checked.
    pub user_query: Option<(&'static str, &'static str)>,
}

/// What the stand-in does on its next requests.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// The person says no at the consent page.
    pub deny: bool,
    /// The token endpoint refuses the code.
    pub token_error: bool,
    /// The user endpoint answers 503.
    pub user_unavailable: bool,
}

pub const CLIENT_ID: &str = "stand-in-client";
pub const CLIENT_SECRET: &str = "stand-in-secret-0123456789abcdef";

struct Issued {
    redirect_uri: String,
    challenge: Option<String>,
}

struct Inner {
    spec: Spec,
    redirect_uri: String,
    account: Mutex<Account>,
    behaviour: Mutex<Behaviour>,
    codes: Mutex<HashMap<String, Issued>>,
    tokens: Mutex<Vec<String>>,
    /// The query of the last authorization request.
    last_authorize: Mutex<HashMap<String, String>>,
}

/// A running stand-in.
#[derive(Clone)]
pub struct StandIn {
    inner: Arc<Inner>,
    pub addr: SocketAddr,
}

impl StandIn {
    /// Serves `spec` on 127.0.0.1 for the client whose callback is `redirect_uri`.
    pub fn start(spec: Spec, redirect_uri: &str, account: Account) -> StandIn {
        let inner = Arc::new(Inner {
            spec,
            redirect_uri: redirect_uri.to_owned(),
            account: Mutex::new(account),
            behaviour: Mutex::default(),
            codes: Mutex::default(),
            tokens: Mutex::default(),
            last_authorize: Mutex::default(),
        });
        let mut router = Router::new()
            .route(inner.spec.authorize_path, get(authorize))
            .route(inner.spec.token_path, post(token))
            .route(inner.spec.user_path.split('?').next().unwrap_or_default(), get(user));
        if let Some(path) = inner.spec.emails_path {
            router = router.route(path, get(emails));
        }
        let addr = serve(router.with_state(Arc::clone(&inner)));
        StandIn { inner, addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn behave(&self, behaviour: Behaviour) {
        *self.inner.behaviour.lock().expect("lock") = behaviour;
    }

    pub fn account(&self, account: Account) {
        *self.inner.account.lock().expect("lock") = account;
    }

    /// The query of the last authorization request.
    pub fn last_authorize(&self) -> HashMap<String, String> {
        self.inner.last_authorize.lock().expect("lock").clone()
    }

    /// Codes issued and not yet redeemed.
    pub fn open_codes(&self) -> usize {
        self.inner.codes.lock().expect("lock").len()
    }
}

fn refused(status: StatusCode, error: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "error": error }).to_string(),
    )
        .into_response()
}

async fn authorize(State(inner): State<Arc<Inner>>, Query(query): Query<HashMap<String, String>>) -> Response {
    *inner.last_authorize.lock().expect("lock") = query.clone();
    // Checked before anything goes back to the redirect URI, as every provider does.
    if query.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return refused(StatusCode::BAD_REQUEST, "invalid_client");
    }
    let Some(redirect_uri) = query.get("redirect_uri").filter(|uri| **uri == inner.redirect_uri) else {
        return refused(StatusCode::BAD_REQUEST, "redirect_uri_mismatch");
    };
    if query.get("response_type").map(String::as_str) != Some("code") {
        return refused(StatusCode::BAD_REQUEST, "unsupported_response_type");
    }
    let challenge = match (
        query.get("code_challenge"),
        query.get("code_challenge_method").map(String::as_str),
    ) {
        (Some(challenge), Some("S256")) => Some(challenge.clone()),
        (None, None) if !inner.spec.pkce_required => None,
        _ => return refused(StatusCode::BAD_REQUEST, "invalid_request"),
    };
    let state = query.get("state").cloned().unwrap_or_default();
    let mut back = url::Url::parse(redirect_uri).expect("a registered URL");
    if inner.behaviour.lock().expect("lock").deny {
        back.query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "The user denied the request")
            .append_pair("state", &state);
        return Redirect::to(back.as_str()).into_response();
    }
    let code = URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{state}{}", back.as_str()).as_bytes()));
    inner.codes.lock().expect("lock").insert(
        code.clone(),
        Issued {
            redirect_uri: redirect_uri.clone(),
            challenge,
        },
    );
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state);
    Redirect::to(back.as_str()).into_response()
}

/// The client's secret, from where the provider takes it.
fn client_secret(inner: &Inner, headers: &HeaderMap, form: &HashMap<String, String>) -> Result<(), &'static str> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok());
    let expected_basic = format!("{CLIENT_ID}:{CLIENT_SECRET}");
    let in_body = form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
    let by_basic = basic.as_deref() == Some(expected_basic.as_str());
    let accepted = match inner.spec.secret_in {
        SecretIn::Body => in_body && basic.is_none(),
        SecretIn::Basic => by_basic && !form.contains_key("client_secret"),
        SecretIn::Either => in_body != by_basic,
    };
    if accepted { Ok(()) } else { Err("invalid_client") }
}

async fn token(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let github = inner.spec.github_style;
    // GitHub answers its errors with 200 and `error` in the body.
    let error_status = if github {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/x-www-form-urlencoded"));
    if !is_form {
        return refused(StatusCode::BAD_REQUEST, "invalid_request");
    }
    if let Err(error) = client_secret(&inner, &headers, &form) {
        return refused(
            if github {
                StatusCode::OK
            } else {
                StatusCode::UNAUTHORIZED
            },
            error,
        );
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return refused(error_status, "unsupported_grant_type");
    }
    let issued = form
        .get("code")
        .and_then(|code| inner.codes.lock().expect("lock").remove(code));
    let Some(issued) = issued else {
        return refused(
            error_status,
            if github {
                "bad_verification_code"
            } else {
                "invalid_grant"
            },
        );
    };
    if form.get("redirect_uri") != Some(&issued.redirect_uri) {
        return refused(error_status, "invalid_grant");
    }
    if let Some(challenge) = &issued.challenge {
        let verified = form
            .get("code_verifier")
            .is_some_and(|verifier| URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == *challenge);
        if !verified {
            return refused(error_status, "invalid_grant");
        }
    }
    if inner.behaviour.lock().expect("lock").token_error {
        return refused(error_status, "invalid_grant");
    }
    let access = URL_SAFE_NO_PAD.encode(Sha256::digest(format!("access{body}").as_bytes()));
    inner.tokens.lock().expect("lock").push(access.clone());
    let wants_json = headers
        .get(header::ACCEPT)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if github && !wants_json {
        let form = format!("access_token={access}&scope=read%3Auser%2Cuser%3Aemail&token_type=bearer");
        return ([(header::CONTENT_TYPE, "application/x-www-form-urlencoded")], form).into_response();
    }
    // An OAuth app's GitHub token does not expire: no `expires_in`, no refresh token.
    let answer = if github {
        serde_json::json!({ "access_token": access, "token_type": "bearer", "scope": "read:user,user:email" })
    } else {
        serde_json::json!({
            "access_token": access, "token_type": "bearer", "expires_in": 3600, "refresh_token": "refresh-1",
            "scope": "identify email",
        })
    };
    ([(header::CONTENT_TYPE, "application/json")], answer.to_string()).into_response()
}

/// Why the stand-in refuses an API request: a bearer token it did not issue, GitHub without a
/// `User-Agent`, or the outage it was told to have; `None` when it answers.
fn refusal_of(inner: &Inner, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if !token.is_some_and(|token| inner.tokens.lock().expect("lock").iter().any(|known| known == token)) {
        return Some(refused(StatusCode::UNAUTHORIZED, "invalid_token"));
    }
    // GitHub's REST API refuses requests without a User-Agent (403).
    if inner.spec.github_style && !headers.contains_key(header::USER_AGENT) {
        return Some(refused(StatusCode::FORBIDDEN, "user agent required"));
    }
    if inner.behaviour.lock().expect("lock").user_unavailable {
        return Some(refused(StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
    }
    None
}

async fn user(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refusal) = refusal_of(&inner, &headers) {
        return refusal;
    }
    if let Some((name, value)) = inner.spec.user_query
        && query.get(name).map(String::as_str) != Some(value)
    {
        return refused(StatusCode::BAD_REQUEST, "the fields were not asked for");
    }
    let account = inner.account.lock().expect("lock").clone();
    (
        [(header::CONTENT_TYPE, "application/json")],
        (inner.spec.user)(&account).to_string(),
    )
        .into_response()
}

async fn emails(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    if let Some(refusal) = refusal_of(&inner, &headers) {
        return refusal;
    }
    let account = inner.account.lock().expect("lock").clone();
    let list = serde_json::json!([
        { "email": "noreply@users.example.com", "primary": false, "verified": true, "visibility": null },
        { "email": account.email, "primary": true, "verified": account.verified, "visibility": "private" },
    ]);
    ([(header::CONTENT_TYPE, "application/json")], list.to_string()).into_response()
}
