//! The few HTML pages the crate answers itself (the landing route's confirmation, a magic link's
//! page): escaping, and the headers every such page carries.

use http::HeaderMap;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};

/// `text` safe inside HTML text and double-quoted attributes.
pub(crate) fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// The pages' look: a few lines of inline CSS (no external asset, nothing to load elsewhere).
const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem}\
h1{font-size:1.4rem}button{font:inherit;padding:.4rem .9rem;border:1px solid #1f5fbf;border-radius:4px;\
background:#1f5fbf;color:#fff;cursor:pointer}";

/// A whole page: `title` (plain text, escaped here) and `body` (HTML the caller escaped).
pub(crate) fn page_html(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{STYLE}</style>\
         <main>{body}</main></html>",
        escape_html(title)
    )
}

/// The headers of a page that carries a credential in a form: HTML, never cached, its address
/// (which can hold a token) never sent as a referrer to another origin, never sniffed, and never
/// framed by another site (a framed page's button could be clicked through a decoy:
/// clickjacking).
///
/// `Referrer-Policy: same-origin`, not `no-referrer`: under `no-referrer` a browser sends
/// `Origin: null` with the page's own form `POST`, and the sign-in handler, which checks that
/// origin, refuses the person's own click as cross-site (found in Chromium by the browser tests).
pub(crate) fn set_page_headers(headers: &mut HeaderMap) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}
