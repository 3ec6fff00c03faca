//! The one way this crate talks HTTP to other services (a JWK Set, a session server): reqwest,
//! following no redirect, with a timeout on the whole exchange, and bodies read up to a limit.

use std::time::Duration;

/// A client that follows no redirect (a URL we were given cannot send us elsewhere) and gives
/// up after `timeout`, connection included.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
}

/// The body of `response`, refused past `max` bytes before it is all read. Errors name `what`.
pub(crate) async fn read_limited(mut response: reqwest::Response, max: usize, what: &str) -> Result<Vec<u8>, String> {
    if response.content_length().is_some_and(|len| len > max as u64) {
        return Err(format!("{what}: the answer is over {max} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| format!("{what}: {}", describe(error)))?
    {
        if body.len() + chunk.len() > max {
            return Err(format!("{what}: the answer is over {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A client error in a few words, without the URL reqwest adds (callers name what they asked).
pub(crate) fn describe(error: reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        error.without_url().to_string()
    }
}

#[cfg_attr(
    not(any(feature = "jwks", feature = "session-server")),
    allow(dead_code, reason = "the identity providers name no configured URL in errors")
)]
/// `url` with its user and password replaced by `***`: a URL a builder refuses for carrying
/// credentials is named in its error without them.
pub(crate) fn without_credentials(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("***");
    let _ = shown.set_password(None);
    shown.to_string()
}
