//! The plain OAuth 2.0 provider ([`OAuth2Provider`]): sign-in with a provider that is not
//! OpenID Connect (GitHub, Discord, Spotify, X, ...), where who the person is comes from the
//! provider's own user endpoint rather than an ID token.
//!
//! - **Authorize**: a fresh `state` (and a PKCE verifier, S256, where the provider supports it)
//!   is kept in the [`Store`](crate::store::Store) under a random flow id that only this
//!   browser's flow cookie holds; the browser goes to the provider with `client_id`,
//!   `redirect_uri`, `response_type=code`, the scopes, `state`, the challenge, and the
//!   configured `prompt`, `login_hint` and extra parameters.
//! - **Callback**: the returned `state` must equal the remembered one (constant time), then the
//!   flow record is taken (a callback works once). An `error` (`access_denied`: the person said
//!   no) ends the flow with [`FlowError::Denied`]. The code is exchanged at the token endpoint
//!   with the client's secret (`client_secret_post` or `client_secret_basic`) and the verifier;
//!   the answer is read as JSON, or as a form where the provider answers one (GitHub without
//!   `Accept: application/json`), and an `error` in it is a failure whatever the status (GitHub
//!   answers errors with 200).
//! - **Who**: the user endpoint is asked with the access token, and the provider's answer is
//!   read into a subject, an email, whether the provider verified it, and a name (each
//!   ready-made provider knows its provider's fields; [`OAuth2Provider::identity`] sets your
//!   own). `on_success` gets [`OAuth2Claims`]: those, the raw answer, and the provider's tokens.
//!
//! Every call to the provider follows no redirect, gives up after 10 seconds and reads at most
//! 256 KiB. A failure there (a 503 from the user endpoint, say) signs nobody in:
//! [`FlowError::Upstream`].

mod exchange;
mod ready;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use url::Url;

use super::contract::{IdentitySource, Provider, Step};
use super::error::{FlowError, FlowResponse};
use super::flow::{FlowRequest, clamp_ttl, flow_id};
use super::redirect_flow;

pub use self::ready::GITHUB_API_VERSION;

/// How long a person has to complete the sign-in at the provider: 10 minutes.
pub const DEFAULT_OAUTH2_TTL: Duration = Duration::from_secs(10 * 60);

/// How the client proves itself at the token endpoint (RFC 6749 section 2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `client_id` and `client_secret` in the form body.
    Post,
    /// `Authorization: Basic` with the form-urlencoded id and secret.
    Basic,
}

/// Why a provider could not be configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuth2ConfigError {
    /// An endpoint is not an absolute `https` URL (`http` only on 127.0.0.1 or localhost).
    #[error("endpoint `{0}` must be an absolute https URL (http only on 127.0.0.1 or localhost)")]
    Endpoint(String),
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built: {0}")]
    HttpClient(#[source] reqwest::Error),
}

/// The tokens the provider answered with.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct ProviderTokens {
    /// The access token, for the provider's APIs.
    pub access_token: String,
    /// The refresh token, when the provider gave one.
    pub refresh_token: Option<String>,
    /// An ID token, when the provider gave one (this provider does not validate it).
    pub id_token: Option<String>,
    /// Seconds the access token lives, when the provider says.
    pub expires_in: Option<u64>,
    /// The scopes granted, when the provider says (it may grant fewer than asked).
    pub scopes: Vec<String>,
    /// The token type (`bearer`).
    pub token_type: String,
}

impl fmt::Debug for ProviderTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderTokens")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "<redacted>"))
            .field("expires_in", &self.expires_in)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Who signed in, as read from the provider's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Identity {
    /// The person's stable id at the provider (never their email or name, which change).
    pub subject: String,
    /// Their email address, if the provider gave one.
    pub email: Option<String>,
    /// Whether the provider says it verified that address; `None` when it does not say.
    pub email_verified: Option<bool>,
    /// Their display name, if any.
    pub name: Option<String>,
}

impl Identity {
    /// An identity with only a subject.
    pub fn new(subject: impl Into<String>) -> Self {
        Identity {
            subject: subject.into(),
            ..Identity::default()
        }
    }
}

/// What a successful sign-in with a plain OAuth 2.0 provider hands to `on_success`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OAuth2Claims {
    /// The provider's name (`github`, `discord`, or the one given to [`OAuth2Provider::new`]).
    pub provider: String,
    /// Who signed in.
    pub identity: Identity,
    /// The user endpoint's answer as it came (GitHub's also carries `emails`, its email list).
    pub raw: serde_json::Value,
    /// The provider's tokens.
    pub tokens: ProviderTokens,
}

/// Reads an [`Identity`] from the user endpoint's answer; `None` when the answer has no subject.
pub type IdentityReader = dyn Fn(&serde_json::Value) -> Option<Identity> + Send + Sync;

/// The provider's quirks this crate knows about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quirk {
    None,
    /// GitHub: API calls need `User-Agent` and GitHub's JSON media type; an email that `/user`
    /// does not show comes from `/user/emails` (the primary verified one).
    GitHub,
}

/// Signs people in with a plain OAuth 2.0 provider; see the [module docs](self).
pub struct OAuth2Provider {
    name: String,
    label: Option<String>,
    authorize_url: Url,
    token_url: Url,
    userinfo_url: Option<Url>,
    client_id: String,
    client_secret: Option<String>,
    auth_method: ClientAuthMethod,
    pkce: bool,
    scopes: Vec<String>,
    scope_separator: &'static str,
    authorize_params: Vec<(String, String)>,
    identity: Arc<IdentityReader>,
    require_verified_email: bool,
    quirk: Quirk,
    ttl: Duration,
    http: reqwest::Client,
}

impl fmt::Debug for OAuth2Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Provider")
            .field("name", &self.name)
            .field("authorize_url", &self.authorize_url.as_str())
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("pkce", &self.pkce)
            .finish_non_exhaustive()
    }
}

/// An endpoint URL as a provider may have it: https, or http on the loopback interface (tests,
/// a provider on this machine).
fn endpoint(url: &str) -> Result<Url, OAuth2ConfigError> {
    let parsed = Url::parse(url).map_err(|_| OAuth2ConfigError::Endpoint(url.to_owned()))?;
    let local = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    let allowed = parsed.scheme() == "https" || (parsed.scheme() == "http" && local);
    if !allowed || parsed.fragment().is_some() || !parsed.username().is_empty() {
        return Err(OAuth2ConfigError::Endpoint(url.to_owned()));
    }
    Ok(parsed)
}

/// The standard fields: `sub` (or `id`), `email`, `email_verified`, `name`.
fn standard_identity(raw: &serde_json::Value) -> Option<Identity> {
    let subject = match raw.get("sub").or_else(|| raw.get("id"))? {
        serde_json::Value::String(subject) => subject.clone(),
        serde_json::Value::Number(subject) => subject.to_string(),
        _ => return None,
    };
    let text = |name: &str| raw.get(name).and_then(|value| value.as_str()).map(str::to_owned);
    Some(Identity {
        subject,
        email: text("email"),
        email_verified: raw.get("email_verified").and_then(serde_json::Value::as_bool),
        name: text("name"),
    })
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Pending {
    state: String,
    verifier: Option<String>,
}

impl redirect_flow::Pending for Pending {
    fn state(&self) -> &str {
        &self.state
    }
}

impl OAuth2Provider {
    /// A provider called `name` (shown in events and handed to `on_success`) with its
    /// authorization and token endpoints, for the client `client_id`. PKCE (S256) is on and the
    /// secret goes in the body (`client_secret_post`) unless set otherwise; the user endpoint,
    /// set with [`userinfo`](Self::userinfo), is read for `sub` or `id`, `email`,
    /// `email_verified` and `name` unless [`identity`](Self::identity) says otherwise.
    pub fn new(
        name: impl Into<String>,
        authorize_url: &str,
        token_url: &str,
        client_id: impl Into<String>,
    ) -> Result<Self, OAuth2ConfigError> {
        Ok(OAuth2Provider {
            name: name.into(),
            label: None,
            authorize_url: endpoint(authorize_url)?,
            token_url: endpoint(token_url)?,
            userinfo_url: None,
            client_id: client_id.into(),
            client_secret: None,
            auth_method: ClientAuthMethod::Post,
            pkce: true,
            scopes: Vec::new(),
            scope_separator: " ",
            authorize_params: Vec::new(),
            identity: Arc::new(standard_identity),
            require_verified_email: false,
            quirk: Quirk::None,
            ttl: DEFAULT_OAUTH2_TTL,
            http: crate::http_client::client(Duration::from_secs(10)).map_err(OAuth2ConfigError::HttpClient)?,
        })
    }

    /// The client's secret (a confidential client: a server-side app).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// How the secret is sent to the token endpoint.
    pub fn client_auth(mut self, method: ClientAuthMethod) -> Self {
        self.auth_method = method;
        self
    }

    /// Whether to use PKCE (on by default; turn it off only for a provider that refuses it).
    pub fn pkce(mut self, pkce: bool) -> Self {
        self.pkce = pkce;
        self
    }

    /// The scopes to ask for.
    pub fn scopes<I: IntoIterator<Item = T>, T: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The user endpoint, asked with the access token for who signed in.
    pub fn userinfo(mut self, url: &str) -> Result<Self, OAuth2ConfigError> {
        self.userinfo_url = Some(endpoint(url)?);
        Ok(self)
    }

    /// Points the provider at other endpoints with the same paths' roles (a provider's
    /// regional or self-hosted deployment, a stand-in in tests): the authorization, token and
    /// user endpoints.
    pub fn endpoints(mut self, authorize: &str, token: &str, userinfo: &str) -> Result<Self, OAuth2ConfigError> {
        self.authorize_url = endpoint(authorize)?;
        self.token_url = endpoint(token)?;
        self.userinfo_url = Some(endpoint(userinfo)?);
        Ok(self)
    }

    /// Reads who signed in from the user endpoint's answer with `reader` instead.
    pub fn identity(mut self, reader: impl Fn(&serde_json::Value) -> Option<Identity> + Send + Sync + 'static) -> Self {
        self.identity = Arc::new(reader);
        self
    }

    /// `prompt` on the authorization request (`consent`, `login`, `select_account`, `none`).
    pub fn prompt(self, prompt: impl Into<String>) -> Self {
        self.authorize_param("prompt", prompt)
    }

    /// `login_hint` on the authorization request (the address the person will sign in with).
    pub fn login_hint(self, hint: impl Into<String>) -> Self {
        self.authorize_param("login_hint", hint)
    }

    /// Any other parameter of the authorization request (`access_type=offline`, say). The ones
    /// the flow sets itself (`client_id`, `redirect_uri`, `response_type`, `scope`, `state`,
    /// `code_challenge`, `code_challenge_method`) cannot be replaced.
    pub fn authorize_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.authorize_params.push((name.into(), value.into()));
        self
    }

    /// Refuses a sign-in whose email the provider does not say it verified, for apps that map an
    /// email address to an account.
    pub fn require_verified_email(mut self) -> Self {
        self.require_verified_email = true;
        self
    }

    /// How long a person has to complete the sign-in: between 1 second and 1 day.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = clamp_ttl(ttl);
        self
    }

    /// The provider's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name the provider picker shows (`GitHub`).
    pub fn display_name(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The authorization request's URL for `state` and `challenge`.
    fn authorize_url(&self, request: &FlowRequest, state: &str, challenge: Option<&str>) -> Url {
        let mut url = self.authorize_url.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", request.callback_url().as_str())
                .append_pair("response_type", "code")
                .append_pair("state", state);
            if !self.scopes.is_empty() {
                query.append_pair("scope", &self.scopes.join(self.scope_separator));
            }
            if let Some(challenge) = challenge {
                query
                    .append_pair("code_challenge", challenge)
                    .append_pair("code_challenge_method", "S256");
            }
            for (name, value) in redirect_flow::extra_params(&self.authorize_params) {
                query.append_pair(name, value);
            }
        }
        url
    }
}

impl Provider for OAuth2Provider {
    type Claims = OAuth2Claims;

    /// The identity comes from the provider: the flow may start with a `GET`.
    fn identity_source(&self) -> IdentitySource {
        IdentitySource::Provider
    }

    fn label(&self) -> Option<String> {
        self.label.clone()
    }

    async fn authorize(&self, request: &FlowRequest) -> Result<FlowResponse, FlowError> {
        let state = flow_id()?;
        let verifier = if self.pkce { Some(flow_id()?) } else { None };
        let challenge = verifier
            .as_deref()
            .map(|verifier| URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())));
        let url = self.authorize_url(request, &state, challenge.as_deref());
        redirect_flow::begin(request, "oauth2", &Pending { state, verifier }, url.as_str(), self.ttl).await
    }

    async fn callback(&self, request: &FlowRequest) -> Result<Step<OAuth2Claims>, FlowError> {
        let pending: Pending = redirect_flow::resume(request, "oauth2").await?;
        let code = request.param("code").ok_or(FlowError::MissingParameter("code"))?;
        let tokens = self
            .exchange(code, request.callback_url(), pending.verifier.as_deref())
            .await?;
        let raw = self.user(&tokens).await?;
        let identity = (self.identity)(&raw)
            .ok_or_else(|| FlowError::Upstream("the provider's user answer names no user".into()))?;
        if self.require_verified_email && identity.email_verified != Some(true) {
            return Err(FlowError::EmailNotVerified);
        }
        Ok(Step::Success(OAuth2Claims {
            provider: self.name.clone(),
            identity,
            raw,
            tokens,
        }))
    }
}
