//! The token endpoint's answers as RFC 6749 writes them (section 5.1's JSON that no cache
//! keeps, section 5.2's errors), and its form parameters: shared by the refresh token grant and
//! the authorization server's code grant.

use axum::body::Body;
use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, PRAGMA, RETRY_AFTER};

use super::error::FlowResponse;
use crate::refresh::{RefreshError, TokenPair};

/// A token request's form parameters, each given at most once (RFC 6749 section 3.2).
pub(crate) struct FormParams(Vec<(String, String)>);

impl FormParams {
    /// `params`, which the caller has checked hold no name twice.
    pub(crate) fn new(params: Vec<(String, String)>) -> Self {
        FormParams(params)
    }

    /// The value of `name`, if given.
    pub(crate) fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The answer to a token request that issued `pair`, or why not.
pub(crate) fn token_answer(result: Result<TokenPair, RefreshError>) -> FlowResponse {
    match result {
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

/// An RFC 6749 section 5.2 error body.
pub(crate) fn error(status: StatusCode, code: &str, description: &str) -> FlowResponse {
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
pub(crate) fn answer(status: StatusCode, body: String) -> FlowResponse {
    let mut response = FlowResponse::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
