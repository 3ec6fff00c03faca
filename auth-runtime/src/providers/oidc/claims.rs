//! What a successful OpenID Connect sign-in hands to `on_success`.

use std::fmt;

use crate::providers::oauth2::ProviderTokens;
use crate::token::compact::decode_part;

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
    /// Every token the provider answered with (access, refresh, ID token, expiry, scopes).
    pub tokens: ProviderTokens,
    /// The ID token's claims as they came (validated), with the userinfo answer's claims under
    /// `userinfo` when it was asked.
    pub raw: serde_json::Value,
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

/// The payload of a compact JWS as JSON (the ID token, once `openidconnect` validated it).
pub(super) fn id_token_payload(token: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = decode_part(payload, "payload").ok()?;
    serde_json::from_slice(&bytes).ok()
}
