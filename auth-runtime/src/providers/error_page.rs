//! What a failed sign-in step shows: the default error page (and the type of a replacement),
//! and the plain responses the router writes.

use axum::body::Body;
use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, X_CONTENT_TYPE_OPTIONS};

use super::error::{FlowError, FlowResponse};

/// The longest error message the default page shows: a message can quote what the request
/// carried (an identity provider's `error`, a token's issuer), which is attacker text.
const MAX_ERROR_MESSAGE: usize = 200;

/// The default `on_error`: a plain-text page with the status of [`FlowError::status`]. Server-side
/// failures get a generic message; their detail is for your logs, not the browser. The message
/// is cut to 200 characters with control characters replaced, and the page is sent with
/// `X-Content-Type-Options: nosniff`, so quoted request text can never be read as HTML.
pub fn default_error_page(provider: &str, error: FlowError) -> FlowResponse {
    let status = error.status();
    let message = if status.is_server_error() {
        format!("sign-in with `{provider}` failed; try again later")
    } else {
        shortened(&error.to_string())
    };
    let mut response = respond(status, "text/plain; charset=utf-8", message);
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `message` cut to [`MAX_ERROR_MESSAGE`] characters, control characters shown as `?`.
fn shortened(message: &str) -> String {
    let mut shown: String = message
        .chars()
        .take(MAX_ERROR_MESSAGE)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if message.chars().nth(MAX_ERROR_MESSAGE).is_some() {
        shown.push('…');
    }
    shown
}

pub(super) type ErrorPage = dyn Fn(&str, FlowError) -> FlowResponse + Send + Sync;

/// A response of `status` with `content_type` and `body`.
pub(super) fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> FlowResponse {
    let mut response = FlowResponse::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An identity provider's `error` parameter is attacker text: the default page quotes at
    /// most 200 characters of it, never a control character, and forbids content sniffing.
    #[test]
    fn the_default_error_page_does_not_echo_long_attacker_text() {
        let error = FlowError::Denied {
            error: format!("<script>{}\r\n", "A".repeat(10_000)),
            description: None,
        };
        let response = default_error_page("oidc", error);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(response.headers()[CONTENT_TYPE], "text/plain; charset=utf-8");
        let body = shortened(&"A".repeat(10_000));
        assert_eq!(body.chars().count(), MAX_ERROR_MESSAGE + 1);
        assert_eq!(shortened("a\r\nb"), "a??b");
    }
}
