//! The landing route: the one path where `?token=<jwt>` is read (the target of
//! `Sessions::parameter`). A valid token becomes the session cookie and the browser is sent to the
//! same URL without it, so the token leaves the address bar and history at once.

use bytes::Bytes;
use http::{HeaderMap, Response, Uri};

use super::layer::{Decision, Shared};
use super::refusal::Refusal;
use crate::redirect::found;
use crate::verifier::SessionVerifier;

impl<V: SessionVerifier> Shared<V> {
    /// The landing route with a `?token=`: verify it, set the cookie, redirect without it.
    /// `None` when the query has no token (the request then goes on as usual).
    pub(super) async fn landing(&self, uri: &Uri, headers: &HeaderMap, grpc: bool) -> Option<Response<Bytes>> {
        let (token, location) = split_landing_token(uri)?;
        let set_cookie = match self.cache.verify(&token, headers).await {
            Ok(authenticated) => {
                let now = self.cache.now();
                let max_age = authenticated
                    .expires_at
                    .map(|expires_at| expires_at.saturating_sub(now));
                // A verifier may accept tokens a cookie cannot carry: refused, not silently dropped.
                match self.cookie.set_cookie_header(&token, max_age) {
                    Ok(set_cookie) => Some(set_cookie),
                    Err(error) => return Some(Refusal::InvalidToken.response(&error.to_string(), grpc)),
                }
            }
            Err(error) => match self.refused(&error, grpc) {
                Decision::Respond(response) => return Some(response),
                // Lenient: drop the bad token from the URL, set nothing.
                Decision::Continue(..) => None,
            },
        };
        Some(
            found::<Bytes>(&location, set_cookie.as_deref())
                .unwrap_or_else(|error| Refusal::InvalidToken.response(&error.to_string(), grpc)),
        )
    }
}

/// The `token` query parameter, and the same URL without it. `None` without a token.
fn split_landing_token(uri: &Uri) -> Option<(String, String)> {
    let mut token = None;
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(uri.query()?.as_bytes()) {
        if key == "token" {
            token = Some(value.into_owned());
        } else {
            kept.append_pair(&key, &value);
        }
    }
    let kept = kept.finish();
    let location = if kept.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{kept}", uri.path())
    };
    Some((token?, location))
}
