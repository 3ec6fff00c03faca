//! `POST <prefix>/token` (RFC 6749 section 6, the refresh token grant) and the metadata OpenAuth's
//! client reads first (`<prefix>/.well-known/oauth-authorization-server`, RFC 8414), for API
//! clients holding a pair of [`RefreshTokens`](crate::refresh::RefreshTokens).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, PRAGMA, RETRY_AFTER};

use super::error::FlowResponse;
use super::flow::is_form;
use crate::refresh::{RefreshError, Refresher};

/// The largest form body the endpoint reads: a grant type and one 43-character refresh token.
const MAX_FORM_BODY: usize = 4 * 1024;

/// The token endpoint of one [`AuthHandler`](super::AuthHandler).
pub(super) struct TokenEndpoint {
    refresher: Arc<dyn Refresher>,
    metadata: String,
}

impl TokenEndpoint {
    /// The endpoint at `endpoint_base` (`https://app.example.com/auth`), publishing its keys at
    /// `jwks_uri`.
    pub(super) fn new(refresher: Arc<dyn Refresher>, endpoint_base: &str, jwks_uri: &str) -> Self {
        let metadata = serde_json::json!({
            "issuer": refresher.issuer(),
            "token_endpoint": format!("{endpoint_base}/token"),
            "jwks_uri": jwks_uri,
            "grant_types_supported": ["refresh_token"],
            "token_endpoint_auth_methods_supported": ["none"],
            "response_types_supported": [],
        })
        .to_string();
        TokenEndpoint { refresher, metadata }
    }

    /// The authorization server metadata (RFC 8414).
    pub(super) fn metadata(&self) -> FlowResponse {
        answer(StatusCode::OK, self.metadata.clone())
    }

    /// `POST /token`: `grant_type=refresh_token&refresh_token=...` in a form body; a new pair, or
    /// an RFC 6749 section 5.2 error.
    pub(super) async fn token(&self, request: Request) -> FlowResponse {
        if !is_form(request.headers()) {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the body must be application/x-www-form-urlencoded",
            );
        }
        let client = self.refresher.client_of(request.headers(), request.extensions());
        let Ok(body) = axum::body::to_bytes(request.into_body(), MAX_FORM_BODY).await else {
            return error(StatusCode::BAD_REQUEST, "invalid_request", "the body is too large");
        };
        let mut grant_type = Vec::new();
        let mut refresh_token = Vec::new();
        for (name, value) in url::form_urlencoded::parse(&body) {
            match name.as_ref() {
                "grant_type" => grant_type.push(value.into_owned()),
                "refresh_token" => refresh_token.push(value.into_owned()),
                _ => {}
            }
        }
        // RFC 6749 section 3.2: a parameter must not be sent twice.
        let (Some(grant_type), None) = (grant_type.first(), grant_type.get(1)) else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "exactly one grant_type is required",
            );
        };
        if grant_type != "refresh_token" {
            return error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only the refresh_token grant is supported here",
            );
        }
        let (Some(refresh_token), None) = (refresh_token.first(), refresh_token.get(1)) else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "exactly one refresh_token is required",
            );
        };
        match self.refresher.refresh(refresh_token, &client).await {
            Ok(pair) => answer(StatusCode::OK, pair.to_json()),
            // RFC 8628's `slow_down`: the client keeps its tokens and waits.
            Err(RefreshError::RateLimited { retry_after }) => retry_later(
                StatusCode::TOO_MANY_REQUESTS,
                "slow_down",
                "too many refreshes; keep your tokens and try again after Retry-After",
                retry_after,
            ),
            Err(refused) if refused.is_invalid_grant() => {
                error(StatusCode::BAD_REQUEST, "invalid_grant", &refused.to_string())
            }
            Err(RefreshError::Store(_)) => retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the token store is unavailable; keep your tokens and try again",
                1,
            ),
            Err(_) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the tokens could not be issued",
            ),
        }
    }
}

/// An RFC 6749 section 5.2 error body.
fn error(status: StatusCode, code: &str, description: &str) -> FlowResponse {
    let body = serde_json::json!({ "error": code, "error_description": description }).to_string();
    answer(status, body)
}

/// [`error`] with `Retry-After: seconds`: the client keeps its tokens and tries again then.
fn retry_later(status: StatusCode, code: &str, description: &str, seconds: u64) -> FlowResponse {
    let mut response = error(status, code, description);
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// A JSON answer that no cache keeps (RFC 6749 section 5.1).
fn answer(status: StatusCode, body: String) -> FlowResponse {
    let mut response = FlowResponse::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
