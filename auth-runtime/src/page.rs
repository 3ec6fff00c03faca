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
background:#1f5fbf;color:#fff;cursor:pointer}input{font:inherit;padding:.35rem .5rem;width:100%;max-width:24rem;\
box-sizing:border-box}";

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
    for (name, value) in PROTECTIVE {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// The protective headers of [`set_page_headers`], for a page the application wrote itself (a
/// custom landing or link page): each one it did not set is added, the ones it set are kept.
pub(crate) fn protect_page(headers: &mut HeaderMap) {
    for (name, value) in PROTECTIVE {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}

/// What a credential-carrying page always gets (see [`set_page_headers`]).
const PROTECTIVE: [(http::HeaderName, &str); 5] = [
    (CACHE_CONTROL, "no-store"),
    (REFERRER_POLICY, "same-origin"),
    (X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"),
    (X_FRAME_OPTIONS, "DENY"),
];
