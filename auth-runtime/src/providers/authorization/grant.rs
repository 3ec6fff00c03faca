//! The token endpoint's side of the authorization server: who the client is
//! (`client_secret_basic`, `client_secret_post`, or a public client's `client_id`), and the
//! authorization code grant (RFC 6749 section 4.1.3, PKCE's RFC 7636 section 4.6).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use http::{HeaderMap, StatusCode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::super::error::FlowResponse;
use super::super::token_answer::{FormParams, error, token_answer};
use super::complete::code_key;
use super::{AuthorizationServer, IssuedCode, USED_CODE_LIFETIME, USED_CODE_PREFIX, UsedCode};
use crate::refresh::RefreshError;
use crate::telemetry::event;

/// Who the client of a token request is.
#[derive(Debug)]
pub(crate) enum ClientAuth {
    /// It proved it with its secret.
    Authenticated(String),
    /// It sent no secret; `claimed` is the `client_id` it named, if any (a public client).
    Unauthenticated { claimed: Option<String> },
}

impl ClientAuth {
    /// The authenticated client, if any.
    pub(crate) fn authenticated(&self) -> Option<&str> {
        match self {
            ClientAuth::Authenticated(id) => Some(id),
            ClientAuth::Unauthenticated { .. } => None,
        }
    }
}

/// Why a token request's client authentication was refused.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ClientRefused {
    /// Unknown client or wrong secret (`basic`: it tried `Authorization: Basic`).
    Invalid { basic: bool },
    /// A secret both by Basic and in the body.
    TwoMethods,
    /// Basic names one client, the body's `client_id` another.
    Mismatch,
}

impl ClientRefused {
    /// The RFC 6749 section 5.2 answer.
    pub(crate) fn response(self) -> FlowResponse {
        match self {
            ClientRefused::Invalid { basic } => invalid_client(basic),
            ClientRefused::TwoMethods => error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "use one client authentication method, not two",
            ),
            ClientRefused::Mismatch => error(StatusCode::BAD_REQUEST, "invalid_request", "client_id does not match"),
        }
    }
}

/// `401 invalid_client`, with the Basic challenge when the client tried Basic (RFC 6749 5.2).
pub(crate) fn invalid_client(basic: bool) -> FlowResponse {
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    );
    if basic {
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"token\""));
    }
    response
}

/// The client id and secret of an `Authorization: Basic` header: base64 of the two,
/// form-urlencoded, joined by `:` (RFC 6749 section 2.3.1). `Err` for a malformed header.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, ()> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return if headers.contains_key(AUTHORIZATION) {
            Err(())
        } else {
            Ok(None)
        };
    };
    let value = value.to_str().map_err(|_| ())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| ())?;
    let decoded = String::from_utf8(decoded).map_err(|_| ())?;
    let (id, secret) = decoded.split_once(':').ok_or(())?;
    let form_decode = |text: &str| -> String {
        url::form_urlencoded::parse(format!("x={text}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((form_decode(id), form_decode(secret))))
}

impl AuthorizationServer {
    /// Authenticates the client of a token request: a secret by Basic or in the body (never
    /// both, RFC 6749 section 2.3), checked against the registry; else the `client_id` it names.
    pub(crate) fn authenticate(&self, headers: &HeaderMap, params: &FormParams) -> Result<ClientAuth, ClientRefused> {
        let basic = basic_credentials(headers).map_err(|()| ClientRefused::Invalid { basic: true })?;
        let body_secret = params.one("client_secret");
        let body_id = params.one("client_id");
        let (id, secret, by_basic) = match (basic, body_secret) {
            (Some(_), Some(_)) => return Err(ClientRefused::TwoMethods),
            (Some((id, secret)), None) => {
                if body_id.is_some_and(|body_id| body_id != id) {
                    return Err(ClientRefused::Mismatch);
                }
                (id, secret, true)
            }
            (None, Some(secret)) => {
                let id = body_id.ok_or(ClientRefused::Invalid { basic: false })?;
                (id.to_owned(), secret.to_owned(), false)
            }
            (None, None) => {
                return Ok(ClientAuth::Unauthenticated {
                    claimed: body_id.map(str::to_owned),
                });
            }
        };
        let known = self
            .registry
            .get(&id)
            .is_some_and(|client| client.authenticates(&secret));
        if known {
            Ok(ClientAuth::Authenticated(id))
        } else {
            event!(info, SIGN_IN, "client authentication failed");
            Err(ClientRefused::Invalid { basic: by_basic })
        }
    }

    /// Whether a family issued to client `id` rotates only for the authenticated client.
    pub(crate) fn must_authenticate(&self, id: &str) -> bool {
        self.registry.must_authenticate(id)
    }

    /// `grant_type=authorization_code`: the code for a pair, once, for its client, its redirect
    /// URI and its PKCE verifier.
    pub(crate) async fn exchange(&self, params: &FormParams, client: &ClientAuth) -> FlowResponse {
        let invalid_grant = |description: &str| error(StatusCode::BAD_REQUEST, "invalid_grant", description);
        let Some(code) = params.one("code") else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "exactly one code is required",
            );
        };
        let client_id = match client {
            ClientAuth::Authenticated(id) => id.as_str(),
            ClientAuth::Unauthenticated { claimed: Some(id) } => id.as_str(),
            ClientAuth::Unauthenticated { claimed: None } => {
                return error(StatusCode::BAD_REQUEST, "invalid_request", "client_id is required");
            }
        };
        // An unknown client, or a confidential one that did not authenticate.
        let Some(registered) = self.registry.get(client_id) else {
            return invalid_client(false);
        };
        if registered.is_confidential() && client.authenticated().is_none() {
            return invalid_client(false);
        }
        let key = code_key(code);
        let used_key = format!("{USED_CODE_PREFIX}{key}");
        let record = match self.store.take(&key).await {
            Ok(record) => record,
            Err(_) => return unavailable(),
        };
        let Some(record) = record.and_then(|bytes| serde_json::from_slice::<IssuedCode>(&bytes).ok()) else {
            return self.replayed(&used_key).await;
        };
        let (Ok(family), Ok(now)) = (crate::random::random_id::<16>(), self.now()) else {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the tokens could not be issued",
            );
        };
        // The family is named before it starts, so a replay that races this exchange revokes it.
        let marker = UsedCode {
            family: family.clone(),
            expires_at: now.saturating_add(self.refresher.lifetime().as_secs()),
        };
        let stored = match serde_json::to_vec(&marker) {
            Ok(bytes) => self.store.put(&used_key, bytes, USED_CODE_LIFETIME).await,
            Err(_) => {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the tokens could not be issued",
                );
            }
        };
        if stored.is_err() {
            return unavailable();
        }
        if now >= record.expires_at {
            return invalid_grant("the code has expired");
        }
        if record.client_id != client_id {
            event!(
                warn,
                SIGN_IN,
                client_id,
                "an authorization code was presented by another client"
            );
            return invalid_grant("the code was issued to another client");
        }
        if params.one("redirect_uri") != Some(record.redirect_uri.as_str()) {
            return invalid_grant("redirect_uri is not the one the code was issued for");
        }
        if !pkce_matches(params.one("code_verifier"), &record.challenge) {
            return invalid_grant("code_verifier does not match the code_challenge");
        }
        match self.refresher.issue_to_client(record.session, family, client_id).await {
            Ok(pair) => {
                event!(info, SIGN_IN, client_id, "authorization code exchanged");
                token_answer(Ok(pair))
            }
            Err(refused) => token_answer(Err(refused)),
        }
    }

    /// A code presented again (or never issued, or expired): if it was redeemed, what it bought
    /// is revoked (RFC 6749 section 4.1.2).
    async fn replayed(&self, used_key: &str) -> FlowResponse {
        let marker = match self.store.get(used_key).await {
            Ok(marker) => marker.and_then(|bytes| serde_json::from_slice::<UsedCode>(&bytes).ok()),
            Err(_) => return unavailable(),
        };
        if let Some(marker) = marker {
            event!(
                warn,
                SIGN_IN,
                session_id = marker.family.as_str(),
                "an authorization code was used twice; the tokens it bought are revoked"
            );
            if let Err(_error) = self.refresher.revoke_family(&marker.family, marker.expires_at).await {
                return unavailable();
            }
        }
        error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the code is unknown, expired or already used",
        )
    }
}

/// `503 temporarily_unavailable`: the store did not answer.
fn unavailable() -> FlowResponse {
    token_answer(Err(RefreshError::Store(crate::store::StoreError::Unavailable(
        "the store did not answer".into(),
    ))))
}

/// Whether `verifier` is a PKCE verifier (43 to 128 unreserved characters) whose S256 hash is
/// `challenge`, compared in constant time.
fn pkce_matches(verifier: Option<&str>, challenge: &str) -> bool {
    let Some(verifier) = verifier else {
        return false;
    };
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The challenge computed elsewhere: `base64.urlsafe_b64encode(hashlib.sha256(verifier)
    /// .digest())` in Python, padding removed.
    #[test]
    fn pkce_s256_matches_an_independent_hash() {
        let verifier = "dBjftJeZ4CVP-mJ0kyqTjSWtGzWJE0YcVUkGxXgBjI0";
        let challenge = "b9PKdO_3VXBW534Rd7C4AczQ27i3qOAHsAY4-HwixeE";
        assert!(pkce_matches(Some(verifier), challenge));
        assert!(!pkce_matches(Some(&verifier.replace('d', "e")), challenge));
        assert!(!pkce_matches(None, challenge));
        assert!(!pkce_matches(Some("short"), challenge));
        // `plain`: the challenge itself as the verifier is not S256.
        assert!(!pkce_matches(Some(challenge), challenge));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        let encoded = STANDARD.encode("my%20client:s%3Acret+x");
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap_or(HeaderValue::from_static("")),
        );
        assert_eq!(
            basic_credentials(&headers),
            Ok(Some(("my client".to_owned(), "s:cret x".to_owned())))
        );
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(basic_credentials(&headers), Err(()));
        assert_eq!(basic_credentials(&HeaderMap::new()), Ok(None));
    }
}
