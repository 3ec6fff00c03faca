//! The landing route: the one path where `?token=<jwt>` is read (the target of
//! `Sessions::parameter`). A valid token becomes the session cookie and the browser is sent to the
//! same URL without it, so the token leaves the address bar and history at once.
//!
//! A token in a URL can be sent by anyone to anyone, so the route lets it in on its own only in
//! the browser that started the sign-in (see [`LandingBinding`] and the `landing` module):
//! the browser holds a nonce in the landing cookie, and the token carries its hash. Any other
//! browser gets a page asking whether to continue, whose button `POST`s the same URL back; that
//! `POST` must be same-origin.

use std::fmt;

use bytes::Bytes;
use http::header::{HeaderValue, SET_COOKIE};
use http::{HeaderMap, Method, Response, StatusCode, Uri};
use url::Url;

use super::confirm::{LANDING_NONCE_LIFETIME, LandingBinding, LandingConfirmation};
use super::nonce::{LANDING_NONCE_PARAMETER, binding_of, binds};
use crate::cookie::CookieError;
use crate::middleware::csrf::same_origin;
use crate::middleware::invalid_token::refusal_event;
use crate::middleware::layer::{Next, SessionLayer, Shared};
use crate::middleware::refusal::{Format, Refusal};
use crate::page::protect_page;
use crate::random::random_id;
use crate::redirect::found;
use crate::telemetry::event;
use crate::verifier::{Authenticated, SessionVerifier};

/// A fresh landing nonce for one sign-in: the cookie that gives it to the browser, and the
/// binding (its hash) the sign-in server puts into the token. See
/// [`SessionLayer::landing_nonce`].
#[derive(Clone)]
pub struct LandingNonce {
    binding: String,
    set_cookie: HeaderValue,
}

impl fmt::Debug for LandingNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LandingNonce")
            .field("binding", &self.binding)
            .field("set_cookie", &"<redacted>")
            .finish()
    }
}

impl LandingNonce {
    /// The binding: the value of the sign-in request's `landing_nonce` parameter, or of
    /// [`IssueOptions::nonce`](crate::IssueOptions::nonce) for a token you issue yourself.
    pub fn binding(&self) -> &str {
        &self.binding
    }

    /// The `Set-Cookie` value that gives the browser the nonce; put it on the response that
    /// starts the sign-in.
    pub fn set_cookie(&self) -> &HeaderValue {
        &self.set_cookie
    }
}

/// Why a landing nonce or a sign-in redirect could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LandingError {
    /// The layer has no landing route: nothing would ever read the nonce.
    #[error("the session layer has no landing route; set one with `landing_route`")]
    NoLandingRoute,
    /// The sign-in URL is not an absolute `http` or `https` URL.
    #[error("sign-in URL `{0}` must be an absolute http(s) URL")]
    SignInUrl(String),
    /// The operating system's random number generator failed.
    #[error("could not draw random bytes for the landing nonce: {0}")]
    Random(getrandom::Error),
    /// The cookie could not be written.
    #[error(transparent)]
    Cookie(#[from] CookieError),
}

impl<V: SessionVerifier> SessionLayer<V> {
    /// A fresh landing nonce: set [`set_cookie`](LandingNonce::set_cookie) on the response that
    /// starts a sign-in, and have the token carry [`binding`](LandingNonce::binding) (as the
    /// sign-in request's `landing_nonce`, or [`IssueOptions::nonce`](crate::IssueOptions::nonce)),
    /// and the landing route lets that token in without asking, in this browser only.
    pub fn landing_nonce(&self) -> Result<LandingNonce, LandingError> {
        let cookie = self
            .shared()
            .landing_cookie
            .as_ref()
            .ok_or(LandingError::NoLandingRoute)?;
        let nonce = random_id::<32>().map_err(LandingError::Random)?;
        let header = cookie.set_cookie_header(&nonce, Some(LANDING_NONCE_LIFETIME.as_secs()))?;
        // A base64url value and validated options always make a valid header.
        let set_cookie = HeaderValue::from_str(&header).map_err(|_| LandingError::Cookie(CookieError::InvalidValue))?;
        Ok(LandingNonce {
            binding: binding_of(&nonce),
            set_cookie,
        })
    }

    /// Starts a sign-in on another server (an `AuthHandler` elsewhere, whose `on_success` calls
    /// `Sessions::parameter` back to this landing route): `302 Found` to `sign_in_url` with
    /// `landing_nonce=<binding>` added to its query, setting a fresh landing nonce cookie.
    ///
    /// `sign_in_url` is a page (the sign-in server's form, which posts `landing_nonce` with the
    /// rest of it) or the authorize step of a provider whose identity comes from an identity
    /// provider (OpenID Connect), which starts with a `GET`. The authorize step of a link or code
    /// provider takes only a same-origin `POST`: redirected there, a browser gets `405`.
    pub fn sign_in_redirect<B: Default>(&self, sign_in_url: &str) -> Result<Response<B>, LandingError> {
        let mut url = Url::parse(sign_in_url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| LandingError::SignInUrl(sign_in_url.to_owned()))?;
        let nonce = self.landing_nonce()?;
        url.query_pairs_mut()
            .append_pair(LANDING_NONCE_PARAMETER, nonce.binding());
        let mut response =
            found::<B>(url.as_str(), None).map_err(|_| LandingError::SignInUrl(sign_in_url.to_owned()))?;
        response.headers_mut().insert(SET_COOKIE, nonce.set_cookie.clone());
        Ok(response)
    }
}

impl<V: SessionVerifier> Shared<V> {
    /// The landing route with a `?token=`: a navigation (`GET`/`HEAD`) or a confirmation
    /// (`POST`). `None` when the query has no token (the request then goes on as usual).
    pub(crate) async fn landing(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        format: Format,
    ) -> Option<Response<Bytes>> {
        let (token, location) = split_landing_token(uri)?;
        let confirmed = method == Method::POST;
        // Only a page of this site may confirm: another site's form cannot plant a session.
        if confirmed && !same_origin(headers, uri, &self.origins, &self.site) {
            event!(
                info,
                SESSION,
                path = uri.path(),
                "landing: cross-site confirmation refused"
            );
            return Some(Refusal::Forbidden.response("cross-site sign-in confirmation refused", format));
        }
        let authenticated = match self.cache.verify(&token, headers).await {
            Ok(authenticated) => authenticated,
            Err(error) => {
                refusal_event(&error, "landing", &token);
                return match self.refused(&error, format) {
                    Next::Respond(response) => Some(response),
                    // Lenient: drop the bad token from the URL, set nothing.
                    Next::Continue(..) => Some(
                        found::<Bytes>(&location, None)
                            .unwrap_or_else(|error| Refusal::InvalidToken.response(&error.to_string(), format)),
                    ),
                };
            }
        };
        if !confirmed && self.landing_binding == LandingBinding::Confirm && !self.bound_here(&authenticated, headers) {
            let action = uri.to_string();
            let confirmation = LandingConfirmation {
                action: &action,
                session: &authenticated,
            };
            event!(
                debug,
                SESSION,
                subject = authenticated.subject.as_deref(),
                bound = authenticated.nonce.is_some(),
                "landing: a token not bound to this browser; confirmation asked"
            );
            let mut page = (self.landing_page)(&confirmation);
            protect_page(page.headers_mut());
            if method == Method::HEAD {
                *page.body_mut() = Bytes::new();
            }
            return Some(page);
        }
        let now = self.cache.now();
        let max_age = authenticated
            .expires_at
            .map(|expires_at| expires_at.saturating_sub(now));
        // A verifier may accept tokens a cookie cannot carry: refused, not silently dropped.
        let set_cookie = match self.cookie.set_cookie_header(&token, max_age) {
            Ok(set_cookie) => set_cookie,
            Err(error) => return Some(Refusal::InvalidToken.response(&error.to_string(), format)),
        };
        let mut response = match found::<Bytes>(&location, Some(&set_cookie)) {
            Ok(response) => response,
            Err(error) => return Some(Refusal::InvalidToken.response(&error.to_string(), format)),
        };
        if confirmed {
            // After a POST, the browser fetches the next page with a GET.
            *response.status_mut() = StatusCode::SEE_OTHER;
        }
        event!(
            debug,
            SESSION,
            subject = authenticated.subject.as_deref(),
            confirmed,
            "landing: token moved into the session cookie"
        );
        // The nonce has done its work: one nonce, one sign-in.
        if let Some(clear) = &self.clear_landing_cookie {
            response.headers_mut().append(SET_COOKIE, clear.clone());
        }
        Some(response)
    }

    /// Whether the token was issued for the sign-in this browser started: its `nonce` is the
    /// hash of the one landing cookie the browser sent.
    fn bound_here(&self, authenticated: &Authenticated<V::Session>, headers: &HeaderMap) -> bool {
        let (Some(binding), Some(cookie)) = (&authenticated.nonce, &self.landing_cookie) else {
            return false;
        };
        match cookie.find(headers).as_slice() {
            [nonce] => binds(nonce, binding),
            // None, or two (one tossed in by a sibling domain): not provably this browser's.
            _ => false,
        }
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
