//! Ready-made OpenID providers: each one's issuer, scopes and authorization parameters, from its
//! documentation. The flow is [`OidcProvider`]'s (discovery, PKCE, `state`, `nonce`, the ID
//! token checked against the provider's keys).

use super::{OidcError, OidcProvider};

/// A ready-made OpenID provider: its name, issuer, scopes and extra authorization parameters.
///
/// ```no_run
/// # async fn demo() -> Result<(), auth_runtime::providers::oidc::OidcError> {
/// use auth_runtime::providers::oidc::{OidcPreset, OidcProvider};
///
/// let google = OidcProvider::google("client-id", "client-secret").await?;
/// // A Keycloak realm, and Cognito user pool: their issuers come from where they run.
/// let keycloak = OidcProvider::preset(OidcPreset::keycloak("https://sso.example.com", "staff"), "app", Some("secret".into())).await?;
/// let cognito = OidcProvider::preset(OidcPreset::cognito("eu-west-1", "eu-west-1_AbCdEf123"), "app", None).await?;
/// # let _ = (google, keycloak, cognito);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcPreset {
    name: &'static str,
    label: &'static str,
    issuer: String,
    scopes: Vec<&'static str>,
    authorize_params: Vec<(&'static str, &'static str)>,
    /// The discovery document may name a tenant template as its issuer (Microsoft).
    tenant_template: bool,
    /// The provider answers with a cross-site form POST (Apple).
    form_post: bool,
}

/// What Twitch needs to give the email: the `claims` request parameter (Twitch's OIDC guide:
/// `email` and `email_verified` come only when asked for by name), asked of its userinfo
/// endpoint as every preset's email is.
const TWITCH_CLAIMS: &str = r#"{"userinfo":{"email":null,"email_verified":null}}"#;

impl OidcPreset {
    fn new(name: &'static str, label: &'static str, issuer: impl Into<String>, scopes: &[&'static str]) -> Self {
        OidcPreset {
            name,
            label,
            issuer: issuer.into(),
            scopes: scopes.to_vec(),
            authorize_params: Vec::new(),
            tenant_template: false,
            form_post: false,
        }
    }

    /// Sign in with Apple: <https://developer.apple.com/documentation/sign_in_with_apple/request_an_authorization_to_the_sign_in_with_apple_server>.
    /// Scopes `name email`, which make Apple answer with a cross-site form POST
    /// (`response_mode=form_post`; see [`AppleKey`](super::AppleKey) for what the crate does
    /// about it and about Apple's client secret).
    pub fn apple() -> Self {
        let mut preset = OidcPreset::new("apple", "Apple", super::apple::APPLE_ISSUER, &["name", "email"]);
        preset.authorize_params.push(("response_mode", "form_post"));
        preset.form_post = true;
        preset
    }

    /// Microsoft (Entra ID, personal accounts): <https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc>.
    /// `tenant` is `common` (work and personal accounts), `organizations` (work accounts),
    /// `consumers` (personal accounts) or one tenant's id or domain. The `common` and
    /// `organizations` documents name their issuer as
    /// `https://login.microsoftonline.com/{tenantid}/v2.0`: each ID token's `iss` must be that with
    /// the token's own `tid`. Restrict the tenants with [`OidcProvider::allow_tenants`].
    pub fn microsoft(tenant: &str) -> Self {
        let mut preset = OidcPreset::new(
            "microsoft",
            "Microsoft",
            format!("https://login.microsoftonline.com/{tenant}/v2.0"),
            &["email", "profile"],
        );
        preset.tenant_template = true;
        preset
    }

    /// Google: <https://developers.google.com/identity/openid-connect/openid-connect>.
    pub fn google() -> Self {
        OidcPreset::new("google", "Google", "https://accounts.google.com", &["email", "profile"])
    }

    /// Twitch: <https://dev.twitch.tv/docs/authentication/getting-tokens-oidc/>. Scope
    /// `user:read:email`, and the `claims` parameter that asks for the email by name.
    pub fn twitch() -> Self {
        let mut preset = OidcPreset::new("twitch", "Twitch", "https://id.twitch.tv/oauth2", &["user:read:email"]);
        preset.authorize_params.push(("claims", TWITCH_CLAIMS));
        preset
    }

    /// Slack ("Sign in with Slack"): <https://api.slack.com/authentication/sign-in-with-slack>.
    pub fn slack() -> Self {
        OidcPreset::new("slack", "Slack", "https://slack.com", &["email", "profile"])
    }

    /// Yahoo: <https://developer.yahoo.com/oauth2/guide/openid_connect/>.
    pub fn yahoo() -> Self {
        OidcPreset::new("yahoo", "Yahoo", "https://api.login.yahoo.com", &["email", "profile"])
    }

    /// JumpCloud: <https://jumpcloud.com/support/sso-with-oidc>.
    pub fn jumpcloud() -> Self {
        OidcPreset::new(
            "jumpcloud",
            "JumpCloud",
            "https://oauth.id.jumpcloud.com/",
            &["email", "profile"],
        )
    }

    /// An Amazon Cognito user pool: its issuer is
    /// `https://cognito-idp.<region>.amazonaws.com/<user pool id>`
    /// (<https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html>).
    pub fn cognito(region: &str, user_pool_id: &str) -> Self {
        OidcPreset::new(
            "cognito",
            "Amazon Cognito",
            format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"),
            &["email", "profile"],
        )
    }

    /// A Keycloak realm: its issuer is `<base URL>/realms/<realm>`
    /// (<https://www.keycloak.org/docs/latest/server_admin/#_oidc>).
    pub fn keycloak(base_url: &str, realm: &str) -> Self {
        OidcPreset::new(
            "keycloak",
            "Keycloak",
            format!("{}/realms/{realm}", base_url.trim_end_matches('/')),
            &["email", "profile"],
        )
    }

    /// The same provider at another issuer (a regional or self-hosted deployment, or a stand-in
    /// in tests).
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// The provider's name (`google`, `keycloak`, ...): mount it under this name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The issuer discovery asks.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The scopes asked for besides `openid`.
    pub fn scopes(&self) -> &[&'static str] {
        &self.scopes
    }

    /// The extra parameters of the authorization request.
    pub fn authorize_params(&self) -> &[(&'static str, &'static str)] {
        &self.authorize_params
    }
}

impl OidcProvider {
    /// Discovers `preset`'s issuer and sets up its scopes and parameters for `client_id`.
    pub async fn preset(
        preset: OidcPreset,
        client_id: impl Into<String>,
        client_secret: Option<String>,
    ) -> Result<Self, OidcError> {
        let mut provider =
            OidcProvider::discover_with(&preset.issuer, client_id, client_secret, preset.tenant_template)
                .await?
                .scopes(preset.scopes.iter().copied());
        for (name, value) in preset.authorize_params {
            provider = provider.authorize_param(name, value);
        }
        provider.form_post = preset.form_post;
        Ok(provider.display_name(preset.label))
    }

    /// Google ([`OidcPreset::google`]).
    pub async fn google(client_id: impl Into<String>, client_secret: impl Into<String>) -> Result<Self, OidcError> {
        Self::preset(OidcPreset::google(), client_id, Some(client_secret.into())).await
    }

    /// Microsoft for `tenant` ([`OidcPreset::microsoft`]).
    pub async fn microsoft(
        tenant: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<Self, OidcError> {
        Self::preset(OidcPreset::microsoft(tenant), client_id, Some(client_secret.into())).await
    }

    /// Sign in with Apple ([`OidcPreset::apple`]) for the services id `client_id`, its client
    /// secrets signed with `key`.
    pub async fn apple(client_id: impl Into<String>, key: super::AppleKey) -> Result<Self, OidcError> {
        Ok(Self::preset(OidcPreset::apple(), client_id, None)
            .await?
            .apple_client_secret(key))
    }

    /// Twitch ([`OidcPreset::twitch`]).
    pub async fn twitch(client_id: impl Into<String>, client_secret: impl Into<String>) -> Result<Self, OidcError> {
        Self::preset(OidcPreset::twitch(), client_id, Some(client_secret.into())).await
    }

    /// Slack ([`OidcPreset::slack`]).
    pub async fn slack(client_id: impl Into<String>, client_secret: impl Into<String>) -> Result<Self, OidcError> {
        Self::preset(OidcPreset::slack(), client_id, Some(client_secret.into())).await
    }

    /// Yahoo ([`OidcPreset::yahoo`]).
    pub async fn yahoo(client_id: impl Into<String>, client_secret: impl Into<String>) -> Result<Self, OidcError> {
        Self::preset(OidcPreset::yahoo(), client_id, Some(client_secret.into())).await
    }

    /// JumpCloud ([`OidcPreset::jumpcloud`]).
    pub async fn jumpcloud(client_id: impl Into<String>, client_secret: impl Into<String>) -> Result<Self, OidcError> {
        Self::preset(OidcPreset::jumpcloud(), client_id, Some(client_secret.into())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_follow_each_providers_shape() {
        assert_eq!(OidcPreset::google().issuer(), "https://accounts.google.com");
        assert_eq!(
            OidcPreset::cognito("eu-west-1", "eu-west-1_AbC").issuer(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"
        );
        assert_eq!(
            OidcPreset::keycloak("https://sso.example.com/", "staff").issuer(),
            "https://sso.example.com/realms/staff"
        );
        assert_eq!(OidcPreset::twitch().authorize_params, [("claims", TWITCH_CLAIMS)]);
        let moved = OidcPreset::google().with_issuer("http://127.0.0.1:1");
        assert_eq!((moved.name(), moved.issuer()), ("google", "http://127.0.0.1:1"));
    }
}
