//! The two calls to the provider: the code for tokens (RFC 6749 section 4.1.3), and the user
//! endpoint for who signed in.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{ACCEPT, AUTHORIZATION, USER_AGENT};
use url::Url;

use super::{ClientAuthMethod, OAuth2Provider, ProviderTokens, Quirk};
use crate::http_client::{describe, read_limited};
use crate::providers::error::FlowError;

/// The most bytes read from a provider's answer.
const MAX_ANSWER: usize = 256 * 1024;

/// What this crate calls itself to providers that want a `User-Agent` (GitHub refuses requests
/// without one).
const USER_AGENT_VALUE: &str = concat!("auth-runtime/", env!("CARGO_PKG_VERSION"));

fn upstream(message: String) -> FlowError {
    FlowError::Upstream(message.into())
}

/// `value` form-urlencoded, as RFC 6749 section 2.3.1 wants client ids and secrets in Basic.
fn form_encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl OAuth2Provider {
    /// Exchanges `code` (with the PKCE `verifier`) for the provider's tokens.
    pub(super) async fn exchange(
        &self,
        code: &str,
        redirect_uri: &Url,
        verifier: Option<&str>,
    ) -> Result<ProviderTokens, FlowError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri.as_str()),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        let mut request = self
            .http
            .post(self.token_url.clone())
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, USER_AGENT_VALUE);
        match (&self.client_secret, self.auth_method) {
            (Some(secret), ClientAuthMethod::Basic) => {
                let credentials = format!("{}:{}", form_encoded(&self.client_id), form_encoded(secret));
                request = request.header(AUTHORIZATION, format!("Basic {}", STANDARD.encode(credentials)));
            }
            (Some(secret), ClientAuthMethod::Post) => {
                form.push(("client_id", &self.client_id));
                form.push(("client_secret", secret));
            }
            // A public client names itself; PKCE proves the code is its own.
            (None, _) => form.push(("client_id", &self.client_id)),
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = request
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|error| upstream(format!("token endpoint: {}", describe(error))))?;
        let status = response.status();
        let form_answer = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
        let bytes = read_limited(response, MAX_ANSWER, "token endpoint")
            .await
            .map_err(upstream)?;
        let answer: serde_json::Value = if form_answer {
            let fields: serde_json::Map<String, serde_json::Value> = url::form_urlencoded::parse(&bytes)
                .map(|(name, value)| (name.into_owned(), serde_json::Value::String(value.into_owned())))
                .collect();
            serde_json::Value::Object(fields)
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|_| upstream(format!("token endpoint answered {status} without JSON")))?
        };
        // GitHub answers errors with 200: an `error` is a failure whatever the status.
        if let Some(error) = answer.get("error").and_then(|error| error.as_str()) {
            return Err(upstream(format!("token endpoint refused the code: {error}")));
        }
        if !status.is_success() {
            return Err(upstream(format!("token endpoint answered {status}")));
        }
        tokens_from(&answer)
    }

    /// Asks the user endpoint who the access token is for.
    pub(super) async fn user(&self, tokens: &ProviderTokens) -> Result<serde_json::Value, FlowError> {
        let Some(url) = &self.userinfo_url else {
            return Err(upstream("no user endpoint is configured".to_owned()));
        };
        let mut user = self.get_json(url.clone(), tokens).await?;
        if self.quirk == Quirk::GitHub
            && let Ok(emails_url) = Url::parse(&format!("{}/emails", url.as_str().trim_end_matches('/')))
        {
            // `/user` shows only a public email, and not whether it is verified; the primary
            // verified one is in `/user/emails` (the `user:email` scope).
            let emails = self.get_json(emails_url, tokens).await?;
            if let Some(object) = user.as_object_mut() {
                object.insert("emails".to_owned(), emails);
            }
        }
        Ok(user)
    }

    async fn get_json(&self, url: Url, tokens: &ProviderTokens) -> Result<serde_json::Value, FlowError> {
        let accept = match self.quirk {
            Quirk::GitHub => "application/vnd.github+json",
            Quirk::None => "application/json",
        };
        let mut request = self
            .http
            .get(url)
            .bearer_auth(&tokens.access_token)
            .header(ACCEPT, accept)
            .header(USER_AGENT, USER_AGENT_VALUE);
        if self.quirk == Quirk::GitHub {
            request = request.header("X-GitHub-Api-Version", super::GITHUB_API_VERSION);
        }
        let response = request
            .send()
            .await
            .map_err(|error| upstream(format!("user endpoint: {}", describe(error))))?;
        let status = response.status();
        if !status.is_success() {
            return Err(upstream(format!("user endpoint answered {status}")));
        }
        let bytes = read_limited(response, MAX_ANSWER, "user endpoint")
            .await
            .map_err(upstream)?;
        serde_json::from_slice(&bytes).map_err(|_| upstream("user endpoint answered without JSON".to_owned()))
    }
}

/// The tokens in a token endpoint's answer (RFC 6749 section 5.1).
fn tokens_from(answer: &serde_json::Value) -> Result<ProviderTokens, FlowError> {
    let text = |name: &str| answer.get(name).and_then(|value| value.as_str()).map(str::to_owned);
    let access_token =
        text("access_token").ok_or_else(|| upstream("the token answer has no access_token".to_owned()))?;
    // Numbers in JSON; text in a form answer.
    let expires_in = answer.get("expires_in").and_then(|value| match value {
        serde_json::Value::Number(number) => number.as_u64(),
        serde_json::Value::String(text) => text.parse().ok(),
        _ => None,
    });
    // RFC 6749 says space-separated; GitHub separates with commas.
    let scopes = text("scope")
        .map(|scope| {
            scope
                .split([' ', ','])
                .filter(|scope| !scope.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(ProviderTokens {
        access_token,
        refresh_token: text("refresh_token"),
        id_token: text("id_token"),
        expires_in,
        scopes,
        token_type: text("token_type").unwrap_or_else(|| "bearer".to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_are_read_as_json_or_as_a_form() -> Result<(), FlowError> {
        let json = serde_json::json!({
            "access_token": "a", "refresh_token": "r", "expires_in": 3600, "scope": "read:user user:email",
            "token_type": "Bearer"
        });
        let tokens = tokens_from(&json)?;
        assert_eq!(tokens.expires_in, Some(3600));
        assert_eq!(tokens.scopes, ["read:user", "user:email"]);
        let form = serde_json::json!({ "access_token": "a", "scope": "repo,gist", "expires_in": "60" });
        let tokens = tokens_from(&form)?;
        assert_eq!(tokens.scopes, ["repo", "gist"]);
        assert_eq!(tokens.expires_in, Some(60));
        assert!(tokens_from(&serde_json::json!({ "token_type": "bearer" })).is_err());
        Ok(())
    }

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        assert_eq!(form_encoded("a b:c"), "a+b%3Ac");
    }
}
