//! The OpenID Connect provider: the authorization code flow with PKCE (S256), `state` and
//! `nonce`, on the `openidconnect` crate.
//!
//! - Authorize: a fresh PKCE verifier, `state` and `nonce` are kept in the [`Store`] under a
//!   random flow id that only this browser's flow cookie holds; the browser is redirected to the
//!   identity provider.
//! - Callback: the returned `state` must equal the remembered one (constant-time); only then is
//!   the flow record taken (so a callback works once, and a forged callback, such as a cross-site
//!   navigation that carries the flow cookie, leaves the person's flow in progress alone). The
//!   `iss` parameter must be the discovered issuer when the provider sends it, and must be sent
//!   when the provider advertises `authorization_response_iss_parameter_supported` (RFC 9207,
//!   against mix-up attacks); then the code is exchanged
//!   with the PKCE verifier and the ID token is checked by `openidconnect`: signature against the
//!   provider's JWKS with the provider's advertised algorithms, `iss`, `aud`, `azp`, `exp`, and
//!   the `nonce`; an `at_hash`, when present, must match the access token. When `email` was asked
//!   for but the ID token does not carry it, the userinfo endpoint is asked, and its `sub` must
//!   be the ID token's.
//!
//! An ID token signed with a key the provider did not publish at discovery (it rotated its keys)
//! makes the provider's discovery document and JWKS be fetched again, at most once a minute and
//! once for all concurrent sign-ins, and the token checked once more against the new keys.
//! [`require_verified_email`](OidcProvider::require_verified_email) refuses a sign-in whose email
//! the provider has not verified.
//!
//! The HTTP client follows no redirects (a token endpoint that redirects could otherwise point
//! the server at internal addresses) and gives up after 10 seconds.
//!
//! Ready-made providers (Google, Twitch, Slack, Yahoo, Cognito, Keycloak, JumpCloud) are
//! [`OidcPreset`]s: [`OidcProvider::google`] and the like, or [`OidcProvider::preset`].
//!
//! [`Store`]: crate::store::Store

mod apple;
mod builder;
mod claims;
mod discovery;
mod presets;

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod,
    CoreGrantType, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AdditionalProviderMetadata, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, ProviderMetadata, RedirectUrl, Scope, SignatureVerificationError, TokenResponse, reqwest,
};

use super::contract::{IdentitySource, Provider, Step};
use super::error::{FlowError, FlowResponse};
use super::flow::FlowRequest;
use super::oauth2::ProviderTokens;
use super::redirect_flow;

/// How long a person has to complete the sign-in at the identity provider: 10 minutes.
pub const DEFAULT_OIDC_TTL: Duration = Duration::from_secs(10 * 60);

/// The least time between two fetches of the provider's keys after an unknown `kid`.
const KEYS_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// The discovery fields beyond OpenID Connect Discovery that the flow reads.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
struct ExtraMetadata {
    /// RFC 9207: the provider sends `iss` with every authorization response.
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// Signs people in with an OpenID Connect identity provider; see the [module docs](self).
pub struct OidcProvider {
    issuer_url: IssuerUrl,
    /// The discovery document and keys; replaced when the keys are fetched again.
    metadata: RwLock<Arc<Metadata>>,
    /// When the keys were last fetched again; one fetch at a time.
    refetched: tokio::sync::Mutex<Option<Instant>>,
    require_verified_email: bool,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    scopes: Vec<String>,
    authorize_params: Vec<(String, String)>,
    /// The document names a tenant template (Microsoft): each ID token's `iss` is checked
    /// against it with the token's `tid`.
    tenant_template: bool,
    /// The tenants (`tid`) whose people may sign in, when restricted.
    allowed_tenants: Option<Vec<String>>,
    /// Sign in with Apple's client secret, made from the app's key.
    apple_secret: Option<Arc<AppleSecret>>,
    /// The provider answers with a cross-site form POST (`response_mode=form_post`).
    form_post: bool,
    /// The name the picker shows.
    label: Option<String>,
    ttl: Duration,
    http: reqwest::Client,
}

pub use self::apple::AppleKey;
use self::apple::AppleSecret;
pub use self::claims::OidcClaims;
use self::claims::id_token_payload;
pub use self::discovery::OidcError;
pub use self::presets::OidcPreset;

impl fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.issuer_url.as_str())
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

impl redirect_flow::Pending for PendingLogin {
    fn state(&self) -> &str {
        &self.state
    }
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
        Self::discover_with(issuer, client_id, client_secret, false).await
    }

    /// [`discover`](Self::discover), accepting a tenant template as the document's issuer
    /// when `tenant_template` (Microsoft's multi-tenant endpoints).
    pub(super) async fn discover_with(
        issuer: &str,
        client_id: impl Into<String>,
        client_secret: Option<String>,
        tenant_template: bool,
    ) -> Result<Self, OidcError> {
        let issuer_url = IssuerUrl::new(issuer.to_owned()).map_err(|_| OidcError::Issuer(issuer.to_owned()))?;
        let http = crate::http_client::client(Duration::from_secs(10)).map_err(OidcError::HttpClient)?;
        let metadata = discovery::fetch(&issuer_url, &http, tenant_template)
            .await
            .map_err(|source| OidcError::Discovery {
                issuer: issuer.to_owned(),
                source,
            })?;
        Ok(OidcProvider {
            issuer_url,
            metadata: RwLock::new(Arc::new(metadata)),
            refetched: tokio::sync::Mutex::new(None),
            require_verified_email: false,
            client_id: ClientId::new(client_id.into()),
            client_secret: client_secret.map(ClientSecret::new),
            scopes: vec!["email".to_owned(), "profile".to_owned()],
            authorize_params: Vec::new(),
            tenant_template,
            allowed_tenants: None,
            apple_secret: None,
            form_post: false,
            label: None,
            ttl: DEFAULT_OIDC_TTL,
            http,
        })
    }

    /// The issuer, as configured (discovery checks the document names the same one).
    pub fn issuer(&self) -> &str {
        self.issuer_url.as_str()
    }

    fn metadata(&self) -> Arc<Metadata> {
        Arc::clone(&self.metadata.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The client for `metadata`, with the current client secret (Apple's is a JWT made when
    /// needed).
    fn client(&self, metadata: &Metadata, request: &FlowRequest) -> Result<Client, FlowError> {
        let secret = match &self.apple_secret {
            Some(apple) => Some(ClientSecret::new(apple.current()?)),
            None => self.client_secret.clone(),
        };
        // Basic unless the provider takes the secret only in the body (Apple).
        let methods = metadata.token_endpoint_auth_methods_supported();
        let body_only = methods.is_some_and(|methods| {
            methods.contains(&CoreClientAuthMethod::ClientSecretPost)
                && !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
        });
        let client = CoreClient::from_provider_metadata(metadata.clone(), self.client_id.clone(), secret)
            .set_redirect_uri(RedirectUrl::from_url(request.callback_url().clone()));
        Ok(if body_only {
            client.set_auth_type(openidconnect::AuthType::RequestBody)
        } else {
            client
        })
    }

    /// Fetches the discovery document and keys again (the provider rotated its keys): at most
    /// once per [`KEYS_REFETCH_INTERVAL`], and once for every sign-in waiting on it.
    async fn refetch_keys(&self) -> Result<Arc<Metadata>, FlowError> {
        let mut refetched = self.refetched.lock().await;
        if refetched.is_some_and(|at| at.elapsed() < KEYS_REFETCH_INTERVAL) {
            return Ok(self.metadata());
        }
        *refetched = Some(Instant::now());
        let fresh = Arc::new(
            discovery::fetch(&self.issuer_url, &self.http, self.tenant_template)
                .await
                .map_err(FlowError::Upstream)?,
        );
        *self.metadata.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&fresh);
        Ok(fresh)
    }
}

impl Provider for OidcProvider {
    type Claims = OidcClaims;

    /// The identity comes from the OpenID provider: the flow may start with a `GET`.
    fn identity_source(&self) -> IdentitySource {
        IdentitySource::Provider
    }

    /// The provider's origin, when it answers with a form POST (Sign in with Apple).
    fn form_post_origin(&self) -> Option<String> {
        self.form_post
            .then(|| self.issuer_url.url().origin().ascii_serialization())
    }

    fn label(&self) -> Option<String> {
        self.label.clone()
    }

    async fn authorize(&self, request: &FlowRequest) -> Result<FlowResponse, FlowError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client(&self.metadata(), request)?;
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
        for (name, value) in redirect_flow::extra_params(&self.authorize_params) {
            authorize = authorize.add_extra_param(name.clone(), value.clone());
        }
        let (url, state, nonce) = authorize.url();
        let pending = PendingLogin {
            state: state.into_secret(),
            pkce_verifier: verifier.into_secret(),
            nonce: nonce.secret().clone(),
        };
        redirect_flow::begin(request, "oidc", &pending, url.as_str(), self.ttl).await
    }

    async fn callback(&self, request: &FlowRequest) -> Result<Step<OidcClaims>, FlowError> {
        let pending: PendingLogin = redirect_flow::resume(request, "oidc").await?;
        let metadata = self.metadata();
        // RFC 9207: an `iss` in the response must be our issuer; a second `iss` must not hide a
        // wrong one.
        // Under a tenant template (Microsoft's `common`), the tenant's own issuer.
        let sent_iss = request.params().iter().any(|(name, _)| name == "iss");
        let iss_ok = |iss: &str| {
            iss == self.issuer()
                || (self.tenant_template && discovery::is_tenant_issuer(metadata.issuer().as_str(), iss))
        };
        if sent_iss && !request.param("iss").is_some_and(iss_ok) {
            return Err(upstream("the callback's `iss` is not the configured issuer"));
        }
        if !sent_iss
            && metadata
                .additional_metadata()
                .authorization_response_iss_parameter_supported
        {
            return Err(upstream(
                "the provider sends `iss` with its responses, and this one has none",
            ));
        }
        let code = request.param("code").ok_or(FlowError::MissingParameter("code"))?;
        let mut client = self.client(&metadata, request)?;
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
        let nonce = Nonce::new(pending.nonce);
        // With a tenant template the issuer is checked below, against the token's own tenant.
        let check_issuer = !self.tenant_template;
        fn verifier_of(client: &Client, check_issuer: bool) -> openidconnect::IdTokenVerifier<'_, CoreJsonWebKey> {
            client.id_token_verifier().require_issuer_match(check_issuer)
        }
        let first = id_token.claims(&verifier_of(&client, check_issuer), &nonce).cloned();
        let claims = match first {
            Ok(claims) => claims,
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
                // A key the provider published after discovery: fetch its keys again, check once more.
                let refetched = self.refetch_keys().await?;
                client = self.client(&refetched, request)?;
                id_token
                    .claims(&verifier_of(&client, check_issuer), &nonce)
                    .map_err(upstream)?
                    .clone()
            }
            Err(error) => return Err(upstream(error)),
        };
        let verifier = verifier_of(&client, check_issuer);
        // The validated token's claims as they came: `tid` and whatever else the provider sends.
        let mut raw = id_token_payload(&id_token.to_string()).unwrap_or_default();
        if self.tenant_template || self.allowed_tenants.is_some() {
            let tid = raw.get("tid").and_then(serde_json::Value::as_str);
            discovery::check_tenant(
                metadata.issuer().as_str(),
                claims.issuer().as_str(),
                tid,
                self.allowed_tenants.as_deref(),
            )?;
        }
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
            tokens: ProviderTokens {
                access_token: tokens.access_token().secret().clone(),
                refresh_token: tokens.refresh_token().map(|token| token.secret().clone()),
                id_token: Some(id_token.to_string()),
                expires_in: tokens.expires_in().map(|lifetime| lifetime.as_secs()),
                scopes: tokens
                    .scopes()
                    .map(|scopes| scopes.iter().map(|scope| scope.to_string()).collect())
                    .unwrap_or_default(),
                token_type: tokens.token_type().as_ref().to_owned(),
            },
            raw: serde_json::Value::Null,
        };
        // In the code flow, providers may keep scope claims out of the ID token and serve them
        // from userinfo (OpenID Connect Core, section 5.4); ask it, bound to the token's subject.
        // By scope, or by name in the `claims` parameter (Twitch).
        let asked_for_email = self.scopes.iter().any(|scope| scope == "email")
            || self
                .authorize_params
                .iter()
                .any(|(name, value)| name == "claims" && value.contains("\"email\""));
        if asked_for_email && signed_in.email.is_none() && metadata.userinfo_endpoint().is_some() {
            let info: CoreUserInfoClaims = client
                .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
                .map_err(upstream)?
                .request_async(&self.http)
                .await
                .map_err(upstream)?;
            signed_in.email = info.email().map(|email| email.to_string());
            signed_in.email_verified = info.email_verified();
            signed_in.name = signed_in.name.or_else(|| name(info.name()));
            if let (Some(object), Ok(info)) = (raw.as_object_mut(), serde_json::to_value(&info)) {
                object.insert("userinfo".to_owned(), info);
            }
        }
        if self.form_post
            && let Some(user) = request.param("user")
        {
            // Apple: the name comes once, on the first sign-in, beside the code (not signed).
            signed_in.name = signed_in.name.or_else(|| apple::first_sign_in_name(user));
            if let (Some(object), Ok(user)) = (raw.as_object_mut(), serde_json::from_str::<serde_json::Value>(user)) {
                object.insert("user".to_owned(), user);
            }
        }
        signed_in.raw = raw;
        if self.require_verified_email && signed_in.email_verified != Some(true) {
            return Err(FlowError::EmailNotVerified);
        }
        Ok(Step::Success(signed_in))
    }
}
