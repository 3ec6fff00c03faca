//! Sign in with Apple's quirks (<https://developer.apple.com/documentation/accountorganizationaldatasharing/creating-a-client-secret>
//! and <https://developer.apple.com/documentation/sign_in_with_apple/request_an_authorization_to_the_sign_in_with_apple_server>):
//!
//! - **The client secret is a JWT** the app signs with its ES256 key from Apple's developer
//!   account: `kid` = the key id, `iss` = the team id, `sub` = the client (services) id, `aud` =
//!   `https://appleid.apple.com`, living at most six months. The crate makes one living a day and
//!   makes the next when less than an hour of it is left.
//! - **The callback is a `form_post`**: when the app asks for the name or the email, Apple's page
//!   POSTs the answer to the callback, a cross-site POST that carries no `SameSite=Lax` cookie, so
//!   neither the flow cookie (the browser binding) nor the handler's other cookies come with it.
//!   The handler answers that POST, and only one from the provider's own origin, with a page that
//!   posts the same fields again from this origin (a same-origin POST, with every cookie): the
//!   flow then checks `state` against this browser's flow as any other. No cookie is made
//!   `SameSite=None` for it.
//! - **The name comes once**, on the first sign-in, in the `user` form field (not in the ID
//!   token, and not signed): it fills `OidcClaims::name` when the ID token has none.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, Header};

use crate::providers::error::FlowError;
use crate::token::keys::{KeyError, SigningKey};

/// Apple's issuer and the audience of its client secrets.
pub(super) const APPLE_ISSUER: &str = "https://appleid.apple.com";

/// How long a client secret the crate makes lives: a day (Apple allows six months).
const SECRET_LIFETIME: u64 = 24 * 60 * 60;
/// A client secret with less than this left is replaced.
const RENEW_BEFORE: u64 = 60 * 60;

/// The key an app signs its Sign in with Apple client secrets with: from Apple's developer
/// account, the team id, the key's id and the key itself (the `.p8` file, a P-256 PKCS#8 PEM).
#[derive(Clone)]
pub struct AppleKey {
    team_id: String,
    key_id: String,
    key: SigningKey,
}

impl std::fmt::Debug for AppleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppleKey")
            .field("team_id", &self.team_id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl AppleKey {
    /// The key `key_id` of team `team_id`, from its `.p8` file's contents.
    pub fn new(team_id: impl Into<String>, key_id: impl Into<String>, p8_pem: &[u8]) -> Result<Self, KeyError> {
        Ok(AppleKey {
            team_id: team_id.into(),
            key_id: key_id.into(),
            key: SigningKey::es256_pem(p8_pem)?,
        })
    }
}

#[derive(serde::Serialize)]
struct SecretClaims<'a> {
    iss: &'a str,
    iat: u64,
    exp: u64,
    aud: &'a str,
    sub: &'a str,
}

/// The client secrets of one client: made when needed, kept while they have time left.
pub(super) struct AppleSecret {
    key: AppleKey,
    client_id: String,
    current: Mutex<Option<(String, u64)>>,
}

impl AppleSecret {
    pub(super) fn new(key: AppleKey, client_id: String) -> Self {
        AppleSecret {
            key,
            client_id,
            current: Mutex::new(None),
        }
    }

    /// A client secret with at least an hour left.
    pub(super) fn current(&self) -> Result<String, FlowError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| FlowError::Issue(crate::sessions::IssueError::Clock))?
            .as_secs();
        self.current_at(now)
    }

    /// [`current`](Self::current) at `now` (Unix seconds).
    fn current_at(&self, now: u64) -> Result<String, FlowError> {
        let mut current = self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((secret, expires_at)) = current.as_ref()
            && now.saturating_add(RENEW_BEFORE) < *expires_at
        {
            return Ok(secret.clone());
        }
        let expires_at = now.saturating_add(SECRET_LIFETIME);
        let claims = SecretClaims {
            iss: &self.key.team_id,
            iat: now,
            exp: expires_at,
            aud: APPLE_ISSUER,
            sub: &self.client_id,
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key.key_id.clone());
        let secret = jsonwebtoken::encode(&header, &claims, &self.key.key.key).map_err(|error| {
            FlowError::Upstream(format!("the Apple client secret could not be signed: {error}").into())
        })?;
        *current = Some((secret.clone(), expires_at));
        Ok(secret)
    }
}

/// The name in Apple's `user` form field (`{"name": {"firstName", "lastName"}, "email"}`), sent
/// on the first sign-in only.
pub(super) fn first_sign_in_name(user: &str) -> Option<String> {
    let user: serde_json::Value = serde_json::from_str(user).ok()?;
    let name = user.get("name")?;
    let part = |key: &str| name.get(key).and_then(serde_json::Value::as_str).map(str::trim);
    let full = [part("firstName"), part("lastName")]
        .into_iter()
        .flatten()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!full.is_empty() && full.len() <= 256).then_some(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P256: &[u8] = include_bytes!("../../../../tests/keys/es256.pem");
    const P256_PUBLIC: &[u8] = include_bytes!("../../../../tests/keys/es256.pub.pem");

    /// The secret is what Apple asks for, kept while it has over an hour left, then made anew.
    #[test]
    fn the_client_secret_is_made_kept_and_renewed() -> Result<(), Box<dyn std::error::Error>> {
        let secret = AppleSecret::new(
            AppleKey::new("TEAM123ABC", "KEY123ABC", P256)?,
            "com.example.web".into(),
        );
        let first = secret.current_at(1_000_000)?;
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.set_audience(&[APPLE_ISSUER]);
        validation.set_issuer(&["TEAM123ABC"]);
        validation.validate_exp = false;
        let key = jsonwebtoken::DecodingKey::from_ec_pem(P256_PUBLIC)?;
        let decoded = jsonwebtoken::decode::<serde_json::Value>(&first, &key, &validation)?;
        assert_eq!(decoded.header.kid.as_deref(), Some("KEY123ABC"));
        assert_eq!(decoded.claims["sub"], "com.example.web");
        assert_eq!(decoded.claims["exp"].as_u64(), Some(1_000_000 + SECRET_LIFETIME));
        // Kept while more than an hour is left; replaced after.
        assert_eq!(
            secret.current_at(1_000_000 + SECRET_LIFETIME - RENEW_BEFORE - 1)?,
            first
        );
        let renewed = secret.current_at(1_000_000 + SECRET_LIFETIME - RENEW_BEFORE)?;
        assert_ne!(renewed, first);
        Ok(())
    }

    #[test]
    fn the_first_sign_in_carries_the_name() {
        let user = r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"ada@privaterelay.appleid.com"}"#;
        assert_eq!(first_sign_in_name(user).as_deref(), Some("Ada Lovelace"));
        assert_eq!(first_sign_in_name("not json"), None);
        assert_eq!(first_sign_in_name(r#"{"email":"x@example.com"}"#), None);
    }
}
