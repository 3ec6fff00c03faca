//! An identity provider's cross-site form `POST` to a callback (`response_mode=form_post`, Sign
//! in with Apple) carries none of this site's `SameSite=Lax` cookies. The handler answers it
//! with this page, which posts the same fields again from this origin: that second POST is
//! same-origin, carries every cookie (the flow's browser binding, the landing and authorization
//! cookies), and is checked like any callback. Nothing is read or spent before it.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderValue, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use sha2::{Digest, Sha256};

use super::error::FlowResponse;
use super::error_page::respond;
use super::flow::FlowRequest;

/// The page's one script: it submits the form.
const SUBMIT: &str = "document.forms[0].submit();";

/// The page's Content-Security-Policy: only that script (by its hash), forms to this origin.
fn policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        let hash = STANDARD.encode(Sha256::digest(SUBMIT.as_bytes()));
        format!("default-src 'none'; script-src 'sha256-{hash}'; form-action 'self'; frame-ancestors 'none'")
    })
}

/// `text` safe in a double-quoted HTML attribute.
fn attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The page that posts `request`'s fields again to the provider's callback, from this origin.
pub(super) fn repost(request: &FlowRequest) -> FlowResponse {
    let mut fields = String::new();
    for (name, value) in request.params() {
        fields.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            attribute(name),
            attribute(value)
        ));
    }
    let body = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Signing in</title>\
         <form method=\"post\" action=\"{action}\">{fields}<noscript><button>Continue signing in</button></noscript></form>\
         <script>{SUBMIT}</script></html>",
        action = attribute(request.callback_url().path()),
    );
    let mut response = respond(StatusCode::OK, "text/html; charset=utf-8", body);
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Not `no-referrer`: under it a browser sends `Origin: null` with the form's POST, which
    // the same-origin check must refuse. Nothing secret is in the URL.
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(value) = HeaderValue::from_str(policy()) {
        headers.insert(CONTENT_SECURITY_POLICY, value);
    }
    response
}
