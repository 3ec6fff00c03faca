//! Ready-made plain OAuth 2.0 providers: their endpoints, default scopes, client
//! authentication and how their user endpoint names the person. Each cites the provider's API
//! reference; the tests run each against a stand-in that follows it.

use super::{ClientAuthMethod, Identity, OAuth2ConfigError, OAuth2Provider, Quirk};

/// The GitHub REST API version asked for (`X-GitHub-Api-Version`).
pub const GITHUB_API_VERSION: &str = "2022-11-28";

/// A number or a string id as text.
fn id_text(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(id) if !id.is_empty() => Some(id.clone()),
        serde_json::Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

fn text(raw: &serde_json::Value, name: &str) -> Option<String> {
    raw.get(name)
        .and_then(serde_json::Value::as_str)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

impl OAuth2Provider {
    /// GitHub (an OAuth app or a GitHub App's user authorization).
    ///
    /// Reference: <https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps>.
    /// Scopes `read:user user:email`; the secret in the body; PKCE. The token endpoint answers a
    /// form unless asked for JSON (we ask), and errors with `200`. Who: `GET /user` (`id`, a
    /// number; `login`; `name`); the email is the primary verified one of `GET /user/emails`,
    /// asked every time (`/user` shows only a public address, or none), so `email_verified`
    /// is always known. API calls carry `User-Agent` (GitHub refuses requests without one) and
    /// `X-GitHub-Api-Version`.
    pub fn github(client_id: impl Into<String>, client_secret: impl Into<String>) -> Result<Self, OAuth2ConfigError> {
        let mut provider = OAuth2Provider::new(
            "github",
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
            client_id,
        )?
        .client_secret(client_secret)
        .display_name("GitHub")
        .scopes(["read:user", "user:email"])
        .userinfo("https://api.github.com/user")?
        .identity(github_identity);
        provider.quirk = Quirk::GitHub;
        Ok(provider)
    }

    /// Discord.
    ///
    /// Reference: <https://discord.com/developers/docs/topics/oauth2> and
    /// <https://discord.com/developers/docs/resources/user#get-current-user>. Scopes
    /// `identify email`; the secret by Basic. Who: `GET /users/@me` (`id`, a snowflake as text;
    /// `global_name` or `username`; `email`, and `verified` for whether Discord verified it).
    pub fn discord(client_id: impl Into<String>, client_secret: impl Into<String>) -> Result<Self, OAuth2ConfigError> {
        Ok(OAuth2Provider::new(
            "discord",
            "https://discord.com/oauth2/authorize",
            "https://discord.com/api/oauth2/token",
            client_id,
        )?
        .client_secret(client_secret)
        .display_name("Discord")
        .client_auth(ClientAuthMethod::Basic)
        .scopes(["identify", "email"])
        .userinfo("https://discord.com/api/users/@me")?
        .identity(|raw| {
            Some(Identity {
                subject: id_text(raw.get("id"))?,
                email: text(raw, "email"),
                email_verified: raw.get("verified").and_then(serde_json::Value::as_bool),
                name: text(raw, "global_name").or_else(|| text(raw, "username")),
            })
        }))
    }

    /// Spotify.
    ///
    /// Reference: <https://developer.spotify.com/documentation/web-api/tutorials/code-flow> and
    /// <https://developer.spotify.com/documentation/web-api/reference/get-current-users-profile>.
    /// Scopes `user-read-email user-read-private`; the secret by Basic; PKCE. Who: `GET /v1/me`
    /// (`id`, `display_name`, `email`; Spotify does not say whether it verified the address, so
    /// `email_verified` is `None`).
    pub fn spotify(client_id: impl Into<String>, client_secret: impl Into<String>) -> Result<Self, OAuth2ConfigError> {
        Ok(OAuth2Provider::new(
            "spotify",
            "https://accounts.spotify.com/authorize",
            "https://accounts.spotify.com/api/token",
            client_id,
        )?
        .client_secret(client_secret)
        .display_name("Spotify")
        .client_auth(ClientAuthMethod::Basic)
        .scopes(["user-read-email", "user-read-private"])
        .userinfo("https://api.spotify.com/v1/me")?
        .identity(|raw| {
            Some(Identity {
                subject: id_text(raw.get("id"))?,
                email: text(raw, "email"),
                email_verified: None,
                name: text(raw, "display_name"),
            })
        }))
    }

    /// X (Twitter).
    ///
    /// Reference: <https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code>
    /// and <https://docs.x.com/x-api/users/user-lookup-me>. PKCE is mandatory at X; a
    /// confidential client authenticates by Basic. Scopes `users.read tweet.read` (X's user
    /// lookup needs both). Who: `GET /2/users/me`, `{"data": {"id", "name", "username"}}`; X
    /// gives no email.
    pub fn x(client_id: impl Into<String>, client_secret: impl Into<String>) -> Result<Self, OAuth2ConfigError> {
        Ok(OAuth2Provider::new(
            "x",
            "https://x.com/i/oauth2/authorize",
            "https://api.x.com/2/oauth2/token",
            client_id,
        )?
        .client_secret(client_secret)
        .display_name("X")
        .client_auth(ClientAuthMethod::Basic)
        .scopes(["users.read", "tweet.read"])
        .userinfo("https://api.x.com/2/users/me")?
        .identity(|raw| {
            let data = raw.get("data")?;
            Some(Identity {
                subject: id_text(data.get("id"))?,
                email: None,
                email_verified: None,
                name: text(data, "name").or_else(|| text(data, "username")),
            })
        }))
    }

    /// Facebook (Facebook Login, Graph API v23.0).
    ///
    /// Reference: <https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow>
    /// and <https://developers.facebook.com/docs/graph-api/reference/user/>. Scopes
    /// `email public_profile`; the secret in the body. Who: `GET /me?fields=id,name,email`
    /// (Graph returns only the fields asked for). Facebook does not say whether it verified the
    /// address, so `email_verified` is `None`.
    pub fn facebook(client_id: impl Into<String>, client_secret: impl Into<String>) -> Result<Self, OAuth2ConfigError> {
        Ok(OAuth2Provider::new(
            "facebook",
            "https://www.facebook.com/v23.0/dialog/oauth",
            "https://graph.facebook.com/v23.0/oauth/access_token",
            client_id,
        )?
        .client_secret(client_secret)
        .display_name("Facebook")
        .scopes(["email", "public_profile"])
        .userinfo("https://graph.facebook.com/v23.0/me?fields=id,name,email")?
        .identity(|raw| {
            Some(Identity {
                subject: id_text(raw.get("id"))?,
                email: text(raw, "email"),
                email_verified: None,
                name: text(raw, "name"),
            })
        }))
    }
}

/// GitHub's `/user`, with `emails` (from `/user/emails`) beside it: the primary verified
/// address, else the public one (unverified as far as we know).
fn github_identity(raw: &serde_json::Value) -> Option<Identity> {
    let subject = id_text(raw.get("id"))?;
    let emails = raw.get("emails").and_then(serde_json::Value::as_array);
    let primary = emails.and_then(|emails| {
        emails.iter().find(|entry| {
            entry.get("primary").and_then(serde_json::Value::as_bool) == Some(true)
                && entry.get("verified").and_then(serde_json::Value::as_bool) == Some(true)
        })
    });
    let (email, email_verified) = match primary.and_then(|entry| text(entry, "email")) {
        Some(email) => (Some(email), Some(true)),
        None => {
            let public = text(raw, "email");
            let verified = public.as_ref().map(|public| {
                emails.is_some_and(|emails| {
                    emails.iter().any(|entry| {
                        text(entry, "email").as_ref() == Some(public)
                            && entry.get("verified").and_then(serde_json::Value::as_bool) == Some(true)
                    })
                })
            });
            (public, verified)
        }
    };
    Some(Identity {
        subject,
        email,
        email_verified,
        name: text(raw, "name").or_else(|| text(raw, "login")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_takes_the_primary_verified_email() {
        let raw = serde_json::json!({
            "id": 583231, "login": "octocat", "name": null, "email": null,
            "emails": [
                { "email": "old@example.com", "primary": false, "verified": true },
                { "email": "octocat@example.com", "primary": true, "verified": true },
            ],
        });
        let identity = github_identity(&raw);
        assert_eq!(identity.as_ref().map(|i| i.subject.as_str()), Some("583231"));
        assert_eq!(
            identity.as_ref().and_then(|i| i.email.as_deref()),
            Some("octocat@example.com")
        );
        assert_eq!(identity.as_ref().and_then(|i| i.email_verified), Some(true));
        assert_eq!(identity.and_then(|i| i.name), Some("octocat".to_owned()));
        let unverified = serde_json::json!({
            "id": 1, "login": "x", "email": "x@example.com",
            "emails": [{ "email": "x@example.com", "primary": true, "verified": false }],
        });
        let identity = github_identity(&unverified);
        assert_eq!(
            identity.as_ref().and_then(|i| i.email.as_deref()),
            Some("x@example.com")
        );
        assert_eq!(identity.and_then(|i| i.email_verified), Some(false));
    }
}
