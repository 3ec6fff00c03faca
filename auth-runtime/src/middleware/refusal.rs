//! The one vocabulary of refusals: every 401, 403, 500 and 503 the crate answers (the layer and
//! the axum extractors alike) is built here, with one JSON shape and one set of names.
//!
//! | kind | HTTP | `error` | gRPC `grpc-status` |
//! |---|---|---|---|
//! | no session where one is required | 401 | `unauthenticated` | 16 Unauthenticated |
//! | a token was presented and refused | 401 | `invalid_token` | 16 Unauthenticated |
//! | a session of the wrong kind, a cross-site request, or denied by an authorization rule | 403 | `forbidden` | 7 PermissionDenied |
//! | a path not in canonical form, where authorization rules apply | 400 | `bad_request` | 3 InvalidArgument |
//! | too many refreshes from one family or client | 429 | `rate_limited` | 8 ResourceExhausted |
//! | the session backend could not answer | 503 | `temporarily_unavailable` | 14 Unavailable |
//! | the server is configured so that it cannot apply a limit (no client address) | 500 | `server_misconfigured` | 13 Internal |
//! | the session layer is not installed on the route | 500 | `session_layer_missing` | 13 Internal |
//!
//! A gRPC request gets a trailers-only response (HTTP 200, `grpc-status` and `grpc-message` in
//! the headers). A gRPC-Web request (`application/grpc-web`, from a browser) gets gRPC-Web's own
//! form: HTTP 200 and a body holding only the trailer frame (flag `0x80`, the length, then
//! `grpc-status` and `grpc-message` lines), base64-encoded for `application/grpc-web-text`.
//!
//! The HTTP body is `{"error": "<name>", "reason": "<what happened>"}`; a 401 carries
//! `WWW-Authenticate: Bearer` (with `error="invalid_token"` for a refused token, RFC 6750), a
//! 503 `Retry-After: 1`, a 429 the `Retry-After` of its limit (set by the caller), and every
//! refusal `Cache-Control: no-store`. A browser's request (its
//! `Accept` names `text/html`: a page load or a form post) gets the same status and headers with
//! a short page instead of the JSON, so a person reads what happened instead of raw JSON.

use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, Response, StatusCode};

use crate::page::{escape_html, page_html, set_page_headers};

/// How a refusal is written, from what the request says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `{"error", "reason"}`: API clients, and anything that does not ask for HTML.
    Json,
    /// A page: a browser's page load or form post (`Accept` names `text/html`).
    Html,
    /// Trailers-only gRPC (`content-type: application/grpc...`).
    Grpc,
    /// gRPC-Web (`content-type: application/grpc-web...`); `text` for `application/grpc-web-text`,
    /// whose body is base64.
    GrpcWeb {
        /// Whether the body is base64 (`application/grpc-web-text`).
        text: bool,
    },
}

impl Format {
    /// The format `headers` ask for: gRPC by content type, HTML when `Accept` names it.
    pub(crate) fn of(headers: &HeaderMap) -> Format {
        let content_type = headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes).unwrap_or_default();
        if content_type.starts_with(b"application/grpc-web-text") {
            return Format::GrpcWeb { text: true };
        }
        if content_type.starts_with(b"application/grpc-web") {
            return Format::GrpcWeb { text: false };
        }
        if content_type.starts_with(b"application/grpc") {
            return Format::Grpc;
        }
        let html = headers
            .get_all(ACCEPT)
            .iter()
            .any(|accept| accept.to_str().is_ok_and(|accept| accept.contains("text/html")));
        if html { Format::Html } else { Format::Json }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No session where one is required.
    Unauthenticated,
    /// The request path is not in canonical form (authorization rules cannot vouch for it).
    BadRequest,
    /// A token was presented and refused.
    InvalidToken,
    /// A session of the wrong kind, or a cross-site request with the session cookie.
    Forbidden,
    /// Too many refreshes from one family or client; the client keeps its tokens and retries
    /// after `Retry-After`.
    TooManyRequests,
    /// The session backend could not answer; the client should keep its token and retry.
    Unavailable,
    /// A limit cannot be applied as configured (the client's address cannot be told).
    Misconfigured,
    /// The session layer did not run for this request: a programming error.
    #[cfg_attr(
        not(feature = "axum"),
        allow(dead_code, reason = "only the axum extractors look for the layer")
    )]
    LayerMissing,
}

impl Refusal {
    /// The name in the body's `error` field.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Refusal::Unauthenticated => "unauthenticated",
            Refusal::BadRequest => "bad_request",
            Refusal::InvalidToken => "invalid_token",
            Refusal::Forbidden => "forbidden",
            Refusal::TooManyRequests => "rate_limited",
            Refusal::Unavailable => "temporarily_unavailable",
            Refusal::Misconfigured => "server_misconfigured",
            Refusal::LayerMissing => "session_layer_missing",
        }
    }

    /// The HTTP status.
    pub(crate) fn status(self) -> StatusCode {
        match self {
            Refusal::Unauthenticated | Refusal::InvalidToken => StatusCode::UNAUTHORIZED,
            Refusal::Forbidden => StatusCode::FORBIDDEN,
            Refusal::BadRequest => StatusCode::BAD_REQUEST,
            Refusal::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Refusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::LayerMissing | Refusal::Misconfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn grpc_status(self) -> &'static str {
        match self {
            Refusal::Unauthenticated | Refusal::InvalidToken => "16",
            Refusal::Forbidden => "7",
            Refusal::BadRequest => "3",
            Refusal::TooManyRequests => "8",
            Refusal::Unavailable => "14",
            Refusal::LayerMissing | Refusal::Misconfigured => "13",
        }
    }

    /// The page's heading: what happened, for a person.
    fn heading(self) -> &'static str {
        match self {
            Refusal::Unauthenticated => "Please sign in",
            Refusal::BadRequest => "Bad request",
            Refusal::InvalidToken => "Your sign-in is no longer valid",
            Refusal::Forbidden => "Request refused",
            Refusal::TooManyRequests => "Too many requests",
            Refusal::Unavailable => "Temporarily unavailable",
            Refusal::LayerMissing | Refusal::Misconfigured => "Server error",
        }
    }

    /// The refusal as an HTTP response in `format`.
    pub(crate) fn response(self, reason: &str, format: Format) -> Response<Bytes> {
        let mut response = match format {
            Format::Grpc => return self.grpc_response(reason),
            Format::GrpcWeb { text } => return self.grpc_web_response(reason, text),
            Format::Json => {
                let body = serde_json::json!({ "error": self.name(), "reason": reason }).to_string();
                let mut response = Response::new(Bytes::from(body));
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                response
            }
            Format::Html => {
                let heading = self.heading();
                let mut sentence = reason.chars();
                let reason: String = sentence
                    .next()
                    .map(|first| first.to_uppercase().chain(sentence).collect())
                    .unwrap_or_default();
                let body = format!("<h1>{heading}</h1><p>{}.</p>", escape_html(&reason));
                let mut response = Response::new(Bytes::from(page_html(heading, &body)));
                set_page_headers(response.headers_mut());
                response
            }
        };
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self {
            Refusal::InvalidToken => {
                headers.insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            Refusal::Unauthenticated => {
                headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Refusal::Unavailable => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Refusal::Forbidden
            | Refusal::BadRequest
            | Refusal::LayerMissing
            | Refusal::Misconfigured
            | Refusal::TooManyRequests => {}
        }
        response
    }

    /// gRPC-Web's refusal: the status in a trailer frame, the body's only frame.
    fn grpc_web_response(self, reason: &str, text: bool) -> Response<Bytes> {
        let message = percent_encoding::utf8_percent_encode(reason, percent_encoding::NON_ALPHANUMERIC);
        let trailers = format!("grpc-status:{}\r\ngrpc-message:{message}\r\n", self.grpc_status());
        let mut frame = Vec::with_capacity(5 + trailers.len());
        frame.push(0x80);
        frame.extend_from_slice(&u32::try_from(trailers.len()).unwrap_or(u32::MAX).to_be_bytes());
        frame.extend_from_slice(trailers.as_bytes());
        let (body, content_type) = if text {
            use base64::Engine as _;
            let encoded = base64::engine::general_purpose::STANDARD.encode(&frame);
            (Bytes::from(encoded), "application/grpc-web-text+proto")
        } else {
            (Bytes::from(frame), "application/grpc-web+proto")
        };
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    fn grpc_response(self, reason: &str) -> Response<Bytes> {
        let mut response = Response::new(Bytes::new());
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert("grpc-status", HeaderValue::from_static(self.grpc_status()));
        let message = percent_encoding::utf8_percent_encode(reason, percent_encoding::NON_ALPHANUMERIC).to_string();
        if let Ok(message) = HeaderValue::from_str(&message) {
            headers.insert("grpc-message", message);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// gRPC-Web's trailer frame, byte for byte: flag 0x80, the big-endian length, the lines.
    #[test]
    fn grpc_web_refusals_are_one_trailer_frame() {
        let response = Refusal::Forbidden.response("no way", Format::GrpcWeb { text: false });
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/grpc-web+proto");
        let trailers = b"grpc-status:7\r\ngrpc-message:no%20way\r\n";
        let mut expected = vec![0x80, 0, 0, 0, trailers.len() as u8];
        expected.extend_from_slice(trailers);
        assert_eq!(response.body().as_ref(), expected.as_slice());
        let text = Refusal::Forbidden.response("no way", Format::GrpcWeb { text: true });
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(text.body())
            .expect("base64");
        assert_eq!(decoded, expected);
        assert_eq!(text.headers()[CONTENT_TYPE], "application/grpc-web-text+proto");
    }

    #[test]
    fn every_refusal_has_the_one_json_shape() {
        let kinds = [
            Refusal::Unauthenticated,
            Refusal::BadRequest,
            Refusal::InvalidToken,
            Refusal::Forbidden,
            Refusal::TooManyRequests,
            Refusal::Unavailable,
            Refusal::Misconfigured,
            Refusal::LayerMissing,
        ];
        for kind in kinds {
            let response = kind.response("why", Format::Json);
            assert_eq!(response.status(), kind.status());
            let body: serde_json::Value = serde_json::from_slice(response.body()).expect("JSON body");
            assert_eq!(body, serde_json::json!({ "error": kind.name(), "reason": "why" }));
            assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
            assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
            assert_eq!(
                response.headers().contains_key(WWW_AUTHENTICATE),
                response.status() == StatusCode::UNAUTHORIZED
            );
        }
    }

    #[test]
    fn a_browser_gets_a_page_with_the_same_status_and_headers() {
        let mut browser = HeaderMap::new();
        browser.insert(
            ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"),
        );
        assert_eq!(Format::of(&browser), Format::Html);
        assert_eq!(Format::of(&HeaderMap::new()), Format::Json);
        let mut grpc = browser.clone();
        grpc.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc+proto"));
        assert_eq!(Format::of(&grpc), Format::Grpc);

        let response = Refusal::InvalidToken.response("the token <b>expired</b>", Format::Html);
        let json = Refusal::InvalidToken.response("the token <b>expired</b>", Format::Json);
        assert_eq!(response.status(), json.status());
        assert_eq!(response.headers()[WWW_AUTHENTICATE], json.headers()[WWW_AUTHENTICATE]);
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        let page = std::str::from_utf8(response.body()).expect("UTF-8");
        assert!(page.contains("<h1>Your sign-in is no longer valid</h1>"), "{page}");
        assert!(
            page.contains("The token &lt;b&gt;expired&lt;/b&gt;."),
            "escaped: {page}"
        );
        let mut web = HeaderMap::new();
        web.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc-web+proto"));
        assert_eq!(Format::of(&web), Format::GrpcWeb { text: false });
        web.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc-web-text"));
        assert_eq!(Format::of(&web), Format::GrpcWeb { text: true });
        let unavailable = Refusal::Unavailable.response("try again", Format::Html);
        assert_eq!(unavailable.headers()[RETRY_AFTER], "1");
    }
}
