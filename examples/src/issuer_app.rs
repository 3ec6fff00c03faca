//! The issuer example (`cargo run --example issuer`): a standalone sign-in server that other apps
//! send people to (OAuth 2.1 with PKCE, OpenAuth's client works against it), and a small front
//! end on another origin that signs in through it. The example's `main` serves both; the tests
//! serve the same two apps.

use std::error::Error;
use std::sync::Arc;

use auth_runtime::providers::authorization::{Client, Clients};
use auth_runtime::providers::{AuthHandler, UserClaims};
use auth_runtime::refresh::RefreshTokens;
use auth_runtime::store::Store;
use auth_runtime::{Sessions, SigningKey};
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::quickstart::AppSession;
use crate::quickstart_app::{Outbox, escape, page};
use crate::quickstart_flows::{code_provider, email};

/// The client id the front end signs in as.
pub const FRONT_END_CLIENT: &str = "front-end";

/// The issuer's sessions: issued by `<base_url>/auth` (where OpenAuth's client is pointed), for
/// a new Ed25519 key.
pub fn issuer_sessions(base_url: &str) -> Result<Sessions<AppSession>, Box<dyn Error>> {
    Ok(Sessions::builder()
        .signing_key(SigningKey::generate_ed25519()?)
        .issuer(format!("{base_url}/auth"))
        .audience("issuer")
        .subject_from(|session| match session {
            AppSession::User { user_id } => Some(user_id.clone()),
            AppSession::Api(client) => Some(client.client_id.clone()),
        })
        .build()?)
}

/// The front end as a registered client: a public client (a browser app keeps no secret)
/// returning to `<front_end_url>/callback`; its origin may call the token endpoint.
pub fn front_end_client(front_end_url: &str) -> Client {
    Client::public(FRONT_END_CLIENT).redirect_uri(format!("{front_end_url}/callback"))
}

/// The sign-in server at `base_url`: the one-time-code provider (the code is "emailed" to
/// `outbox`), and the authorization server for `clients`, their pairs issued the way OpenAuth
/// issues them (`mode: "access"`, a rotating refresh token).
pub fn issuer_app(
    sessions: Sessions<AppSession>,
    base_url: &str,
    clients: Clients,
    outbox: Outbox,
    store: Arc<dyn Store>,
) -> Result<Router, Box<dyn Error>> {
    let tokens = RefreshTokens::builder(sessions.clone(), Arc::clone(&store))
        .openauth_profile()
        .build()?;
    let codes = code_provider(outbox);
    // The session the person signs in with. Under an authorization request (a client sent the
    // person here) the handler turns it into a code for that client instead of a cookie here.
    let signed_in = move |claims: UserClaims| {
        let sessions = sessions.clone();
        async move {
            let user_id = email(&claims)?;
            Ok(sessions.cookie(&AppSession::User { user_id }, "/")?)
        }
    };
    let auth = AuthHandler::builder(tokens.sessions().clone(), base_url)
        .store(store)
        .provider("code", codes, signed_in)
        .refresh_tokens(tokens)
        .clients(clients)
        .build()?;
    Ok(Router::new().route("/", get(issuer_home)).merge(auth.router()))
}

async fn issuer_home() -> Response {
    page(
        StatusCode::OK,
        "Sign-in server",
        "<h1>Sign-in server</h1><p class=\"status\">Apps send you here to sign in; there is nothing \
         to do on this page.</p><p class=\"hint\">The metadata is at \
         <a href=\"/auth/.well-known/oauth-authorization-server\">/auth/.well-known/oauth-authorization-server</a>.</p>",
    )
}

/// The front end at `front_end_url`: a single page that signs in through the issuer at
/// `issuer` (`<issuer base URL>/auth`) with PKCE and `fetch`, shows who signed in, and refreshes.
pub fn front_end(issuer: &str, front_end_url: &str) -> Router {
    let html = FRONT_END
        .replace("{ISSUER}", &escape(issuer))
        .replace("{CLIENT_ID}", FRONT_END_CLIENT)
        .replace("{REDIRECT_URI}", &escape(&format!("{front_end_url}/callback")));
    let html = Arc::new(html);
    let serve = move || {
        let html = Arc::clone(&html);
        async move { Html(html.as_str().to_owned()).into_response() }
    };
    Router::new()
        .route("/", get(serve.clone()))
        .route("/callback", get(serve))
}

/// The front end's one page. Its script keeps the PKCE verifier and `state` in
/// `sessionStorage` between the two visits, checks `state` and `iss` on the way back, exchanges
/// the code at the token endpoint (a cross-origin `fetch`: CORS), and keeps the tokens in memory.
const FRONT_END: &str = r#"<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>Front end</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem}
button{font:inherit;padding:.4rem .9rem}pre{background:#f4f5f7;padding:.6rem;overflow-x:auto}</style>
<main><h1>Front end</h1><p id="status">You are not signed in.</p>
<button id="sign-in" type="button">Sign in</button>
<button id="refresh" type="button" hidden>Refresh the tokens</button><pre id="details" hidden></pre></main>
<script type="module">
const issuer = "{ISSUER}", clientId = "{CLIENT_ID}", redirectUri = "{REDIRECT_URI}";
const status = document.getElementById("status"), details = document.getElementById("details");
const base64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const random = () => base64url(crypto.getRandomValues(new Uint8Array(32)));
let tokens = null;

function show(title) {
  const claims = JSON.parse(atob(tokens.access.split(".")[1].replaceAll("-", "+").replaceAll("_", "/")));
  status.textContent = `${title} as ${claims.properties.userID}.`;
  details.hidden = false;
  details.textContent = JSON.stringify({ type: claims.type, properties: claims.properties, aud: claims.aud,
    expires_in: tokens.expiresIn }, null, 2);
  document.getElementById("refresh").hidden = false;
}

async function token(form) {
  const response = await fetch(`${issuer}/token`, { method: "POST", body: new URLSearchParams(form) });
  const json = await response.json();
  if (!response.ok) throw new Error(`${json.error}: ${json.error_description}`);
  return { access: json.access_token, refresh: json.refresh_token, expiresIn: json.expires_in };
}

document.getElementById("sign-in").onclick = async () => {
  const verifier = random(), state = random();
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem("pkce", JSON.stringify({ verifier, state }));
  const url = new URL(`${issuer}/authorize`);
  url.search = new URLSearchParams({ client_id: clientId, redirect_uri: redirectUri, response_type: "code",
    state, code_challenge: challenge, code_challenge_method: "S256" });
  location.assign(url);
};

document.getElementById("refresh").onclick = async () => {
  try {
    tokens = await token({ grant_type: "refresh_token", refresh_token: tokens.refresh });
    show("Refreshed: signed in");
  } catch (error) { status.textContent = `Refreshing failed: ${error.message}`; }
};

if (location.pathname === "/callback") {
  const query = new URLSearchParams(location.search);
  const saved = JSON.parse(sessionStorage.getItem("pkce") || "null");
  sessionStorage.removeItem("pkce");
  history.replaceState(null, "", "/");
  if (query.has("error")) {
    status.textContent = `Sign-in failed: ${query.get("error")}`;
  } else if (!saved || query.get("state") !== saved.state || query.get("iss") !== issuer) {
    status.textContent = "Sign-in failed: this answer is not for the sign-in this page started.";
  } else {
    try {
      tokens = await token({ grant_type: "authorization_code", code: query.get("code"), redirect_uri: redirectUri,
        client_id: clientId, code_verifier: saved.verifier });
      show("Signed in");
    } catch (error) { status.textContent = `Sign-in failed: ${error.message}`; }
  }
}
</script></html>"#;
