//! The OpenID Connect provider: the authorization code flow with PKCE (S256), `state` and
//! `nonce`, on the `openidconnect` crate.
//!
//! - Authorize: a fresh PKCE verifier, `state` and `nonce` are kept in the [`Store`] under a
//!   random flow id that only this browser's flow cookie holds; the browser is redirected to the
//!   identity provider.
//! - Callback: the flow record is taken (so a callback works once), the returned `state` must
//!   equal the remembered one (constant-time), the `iss` parameter, when the provider sends it,
//!   must be the discovered issuer (RFC 9207, against mix-up attacks), then the code is exchanged
//!   with the PKCE verifier and the ID token is checked by `openidconnect`: signature against the
//!   provider's JWKS with the provider's advertised algorithms, `iss`, `aud`, `azp`, `exp`, and
//!   the `nonce`; an `at_hash`, when present, must match the access token. When `email` was asked
//!   for but the ID token does not carry it, the userinfo endpoint is asked, and its `sub` must
//!   be the ID token's.
//!
//! The HTTP client follows no redirects (a token endpoint that redirects could otherwise point
//! the server at internal addresses) and gives up after 10 seconds.
//!
//! [`Store`]: crate::store::Store

use std::fmt;
use std::time::Duration;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse, reqwest,
};
use subtle::ConstantTimeEq;

use super::contract::{Provider, Step};
use super::error::{FlowError, Response};
use super::flow::{FlowRequest, clamp_ttl, flow_id};
use crate::redirect::found;
use crate::sessions::IssueError;

/// How long a person has to complete the sign-in at the identity provider: 10 minutes.
pub const DEFAULT_OIDC_TTL: Duration = Duration::from_secs(10 * 60);

type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// Why discovery failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// The issuer is not a URL.
    #[error("issuer `{0}` is not a URL")]
    Issuer(String),
    /// The HTTP client could not be built (no TLS backend).
    #[error("the HTTP client could not be built: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// The discovery document or the JWKS could not be fetched or did not validate (the issuer
    /// in the document must equal the one asked for).
    #[error("OpenID Connect discovery at `{issuer}` failed: {source}")]
    Discovery {
        /// The issuer asked for.
        issuer: String,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// What a successful OpenID Connect sign-in proves, from the validated ID token.
#[derive(Clone)]
#[non_exhaustive]
pub struct OidcClaims {
    /// `iss`: the identity provider.
    pub issuer: String,
    /// `sub`: the person's stable identifier at that provider.
    pub subject: String,
    /// `email`, if the scopes asked for it and the provider gave it.
    pub email: Option<String>,
    /// `email_verified`, if given.
    pub email_verified: Option<bool>,
    /// `name`, if given (the default-language one).
    pub name: Option<String>,
    /// The raw ID token, already validated.
    pub id_token: String,
    /// The access token, for the provider's userinfo or other APIs.
    pub access_token: String,
}

impl fmt::Debug for OidcClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcClaims")
            .field("issuer", &self.issuer)
            .field("subject", &self.subject)
            .field("email", &self.email)
            .field("email_verified", &self.email_verified)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Signs people in with an OpenID Connect identity provider; see the [module docs](self).
pub struct OidcProvider {
    metadata: CoreProviderMetadata,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    scopes: Vec<String>,
    ttl: Duration,
    http: reqwest::Client,
}

impl fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.metadata.issuer().as_str())
            .field("client_id", &self.client_id.as_str())
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct PendingLogin {
    state: String,
    pkce_verifier: String,
    nonce: String,
}

fn upstream(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> FlowError {
    FlowError::Upstream(error.into())
}

impl OidcProvider {
    /// Fetches the issuer's discovery document and keys (`{issuer}/.well-known/openid-configuration`)
    /// and sets up the client `client_id` (with `client_secret` for a confidential client; PKCE is
    /// used either way). Scopes default to `openid email profile`.
    pub async fn discover(
        issuer: &str,
        client_id: impl Into<String>,
        client_secret: Option<String>,
    ) -> Result<Self, OidcError> {
        let issuer_url = IssuerUrl::new(issuer.to_owned()).map_err(|_| OidcError::Issuer(issuer.to_owned()))?;
        let http = reqwest::ClientBuilder::new()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(OidcError::HttpClient)?;
        let metadata = CoreProviderMetadata::discover_async(issuer_url, &http)
            .await
            .map_err(|error| OidcError::Discovery {
                issuer: issuer.to_owned(),
                source: Box::new(error),
            })?;
        Ok(OidcProvider {
            metadata,
            client_id: ClientId::new(client_id.into()),
            client_secret: client_secret.map(ClientSecret::new),
            scopes: vec!["email".to_owned(), "profile".to_owned()],
            ttl: DEFAULT_OIDC_TTL,
            http,
        })
    }

    /// The scopes to ask for besides `openid` (which is always asked for).
    pub fn scopes<I: IntoIterator<Item = T>, T: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes
            .into_iter()
            .map(Into::into)
            .filter(|scope| scope != "openid")
            .collect();
        self
    }

    /// How long a person has to complete the sign-in: between 1 second and 1 day.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = clamp_ttl(ttl);
        self
    }

    /// The issuer, as discovered.
    pub fn issuer(&self) -> &str {
        self.metadata.issuer().as_str()
    }

    fn client(&self, request: &FlowRequest) -> Client {
        CoreClient::from_provider_metadata(
            self.metadata.clone(),
            self.client_id.clone(),
            self.client_secret.clone(),
        )
        .set_redirect_uri(RedirectUrl::from_url(request.callback_url().clone()))
    }
}

impl Provider for OidcProvider {
    type Claims = OidcClaims;

    async fn authorize(&self, request: &FlowRequest) -> Result<Response, FlowError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client(request);
        let mut authorize = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.scopes {
            authorize = authorize.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = authorize.url();
        let pending = PendingLogin {
            state: state.into_secret(),
            pkce_verifier: verifier.into_secret(),
            nonce: nonce.secret().clone(),
        };
        let flow = flow_id()?;
        let record = serde_json::to_vec(&pending).map_err(FlowError::other)?;
        request
            .store()
            .put(&request.store_key("oidc", &flow), record, self.ttl)
            .await?;
        let mut response: Response = found(url.as_str(), None).map_err(IssueError::from)?;
        request.set_flow_state(&mut response, &flow, self.ttl)?;
        Ok(response)
    }

    async fn callback(&self, request: &FlowRequest) -> Result<Step<OidcClaims>, FlowError> {
        let flow = request.flow_state().ok_or(FlowError::MissingState)?;
        // Taken before anything else is checked: whatever happens next, this flow is over.
        let record = request
            .store()
            .take(&request.store_key("oidc", &flow))
            .await?
            .ok_or(FlowError::StateExpired)?;
        let pending: PendingLogin = serde_json::from_slice(&record).map_err(|_| FlowError::StateExpired)?;
        let state = request.param("state").ok_or(FlowError::MissingParameter("state"))?;
        if !bool::from(state.as_bytes().ct_eq(pending.state.as_bytes())) {
            return Err(FlowError::StateMismatch);
        }
        if let Some(error) = request.param("error") {
            return Err(FlowError::Denied {
                error: error.to_owned(),
                description: request.param("error_description").map(str::to_owned),
            });
        }
        // RFC 9207: an `iss` in the response must be our issuer; a second `iss` must not hide a
        // wrong one.
        if request.params().iter().any(|(name, _)| name == "iss") && request.param("iss") != Some(self.issuer()) {
            return Err(upstream("the callback's `iss` is not the configured issuer"));
        }
        let code = request.param("code").ok_or(FlowError::MissingParameter("code"))?;
        let client = self.client(request);
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(upstream)?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(upstream)?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| upstream("the token response has no `id_token`"))?;
        let verifier = client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, &Nonce::new(pending.nonce))
            .map_err(upstream)?;
        if let Some(expected) = claims.access_token_hash() {
            let actual = AccessTokenHash::from_token(
                tokens.access_token(),
                id_token.signing_alg().map_err(upstream)?,
                id_token.signing_key(&verifier).map_err(upstream)?,
            )
            .map_err(upstream)?;
            if actual != *expected {
                return Err(upstream("the ID token's `at_hash` does not match the access token"));
            }
        }
        let name = |name: Option<&openidconnect::LocalizedClaim<openidconnect::EndUserName>>| {
            name.and_then(|name| name.get(None)).map(|name| name.to_string())
        };
        let mut signed_in = OidcClaims {
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
            email: claims.email().map(|email| email.to_string()),
            email_verified: claims.email_verified(),
            name: name(claims.name()),
            id_token: id_token.to_string(),
            access_token: tokens.access_token().secret().clone(),
        };
        // In the code flow, providers may keep scope claims out of the ID token and serve them
        // from userinfo (OpenID Connect Core, section 5.4); ask it, bound to the token's subject.
        let asked_for_email = self.scopes.iter().any(|scope| scope == "email");
        if asked_for_email && signed_in.email.is_none() && self.metadata.userinfo_endpoint().is_some() {
            let info: CoreUserInfoClaims = client
                .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
                .map_err(upstream)?
                .request_async(&self.http)
                .await
                .map_err(upstream)?;
            signed_in.email = info.email().map(|email| email.to_string());
            signed_in.email_verified = info.email_verified();
            signed_in.name = signed_in.name.or_else(|| name(info.name()));
        }
        Ok(Step::Success(signed_in))
    }
}
