//! `POST <prefix>/token` (RFC 6749 section 6, the refresh token grant; with clients registered,
//! the authorization code grant of [`authorization`](super::authorization)) and the metadata
//! OpenAuth's client reads first (`<prefix>/.well-known/oauth-authorization-server`, RFC 8414),
//! for API clients holding a pair of [`RefreshTokens`](crate::refresh::RefreshTokens).

use std::sync::Arc;

use axum::extract::Request;
use http::StatusCode;
use http::header::AUTHORIZATION;

use super::authorization::AuthorizationServer;
use super::authorization::grant::{ClientAuth, invalid_client};
use super::error::FlowResponse;
use super::form_fields::is_form;
use super::token_answer::{FormParams, answer, error, token_answer};
use crate::refresh::{Presenter, Refresher};

/// The largest form body the endpoint reads: a grant with its code, verifier, redirect URI and
/// client credentials is well under it.
const MAX_FORM_BODY: usize = 4 * 1024;

/// The token endpoint of one [`AuthHandler`](super::AuthHandler).
pub(super) struct TokenEndpoint {
    refresher: Arc<dyn Refresher>,
    metadata: String,
    authorization: Option<Arc<AuthorizationServer>>,
}

impl TokenEndpoint {
    /// The endpoint at `endpoint_base` (`https://app.example.com/auth`), publishing its keys at
    /// `jwks_uri`, with the authorization code grant when `authorization` is given.
    pub(super) fn new(
        refresher: Arc<dyn Refresher>,
        endpoint_base: &str,
        jwks_uri: &str,
        authorization: Option<Arc<AuthorizationServer>>,
    ) -> Self {
        let mut metadata = serde_json::json!({
            "issuer": refresher.issuer(),
            "token_endpoint": format!("{endpoint_base}/token"),
            "jwks_uri": jwks_uri,
            "grant_types_supported": ["refresh_token"],
            "token_endpoint_auth_methods_supported": ["none"],
            "response_types_supported": [],
        });
        if let (Some(server), Some(entries)) = (&authorization, metadata.as_object_mut())
            && let serde_json::Value::Object(more) = server.metadata(endpoint_base)
        {
            entries.extend(more);
        }
        TokenEndpoint {
            refresher,
            metadata: metadata.to_string(),
            authorization,
        }
    }

    /// The authorization server metadata (RFC 8414).
    pub(super) fn metadata(&self) -> FlowResponse {
        answer(StatusCode::OK, self.metadata.clone())
    }

    /// The authorization server, when clients are registered.
    pub(super) fn authorization(&self) -> Option<&Arc<AuthorizationServer>> {
        self.authorization.as_ref()
    }

    /// `POST /token`: `grant_type=refresh_token&refresh_token=...`, or (with clients registered)
    /// `grant_type=authorization_code&code=...`, in a form body; a new pair, or an RFC 6749
    /// section 5.2 error.
    pub(super) async fn token(&self, request: Request) -> FlowResponse {
        if !is_form(request.headers()) {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the body must be application/x-www-form-urlencoded",
            );
        }
        let address = self.refresher.client_of(request.headers(), request.extensions());
        let (parts, body) = request.into_parts();
        let Ok(body) = axum::body::to_bytes(body, MAX_FORM_BODY).await else {
            return error(StatusCode::BAD_REQUEST, "invalid_request", "the body is too large");
        };
        let mut params: Vec<(String, String)> = Vec::new();
        for (name, value) in url::form_urlencoded::parse(&body) {
            // RFC 6749 section 3.2: a parameter must not be sent twice.
            if params.iter().any(|(seen, _)| *seen == name) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "a parameter was given more than once",
                );
            }
            params.push((name.into_owned(), value.into_owned()));
        }
        let params = FormParams::new(params);
        let client = match &self.authorization {
            Some(server) => match server.authenticate(&parts.headers, &params) {
                Ok(client) => client,
                Err(refused) => return refused.response(),
            },
            // No clients: nobody can authenticate as one.
            None if is_basic(&parts.headers) || params.one("client_secret").is_some() => {
                return invalid_client(is_basic(&parts.headers));
            }
            None => ClientAuth::Unauthenticated { claimed: None },
        };
        match (params.one("grant_type"), &self.authorization) {
            (Some("refresh_token"), _) => {}
            (Some("authorization_code"), Some(server)) => return server.exchange(&params, &client).await,
            (None, _) => return error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required"),
            (Some(_), _) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "unsupported_grant_type",
                    "this grant type is not supported here",
                );
            }
        }
        let Some(refresh_token) = params.one("refresh_token") else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "exactly one refresh_token is required",
            );
        };
        let must_authenticate = |id: &str| {
            self.authorization
                .as_ref()
                .is_none_or(|server| server.must_authenticate(id))
        };
        let presenter = Presenter::Endpoint {
            client: client.authenticated(),
            must_authenticate: &must_authenticate,
        };
        token_answer(self.refresher.refresh(refresh_token, &address, presenter).await)
    }
}

/// Whether the request carries `Authorization: Basic ...` (client credentials).
fn is_basic(headers: &http::HeaderMap) -> bool {
    headers.get_all(AUTHORIZATION).iter().any(|value| {
        value
            .as_bytes()
            .get(..6)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"basic "))
    })
}
