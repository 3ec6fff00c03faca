//! What the landing route does with a token not bound to the browser that brings it: the policy
//! ([`LandingBinding`]), the page that asks first, and the landing nonce cookie. The route itself
//! is in `route.rs`.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::Response;

use crate::cookie::CookieOptions;
use crate::page::{escape_html, page_html, set_page_headers};
use crate::verifier::Authenticated;

/// How long a landing nonce cookie lives: as long as the longest sign-in flow (a magic link can
/// be made to last a day), so the browser that started a sign-in is never asked needlessly.
pub const LANDING_NONCE_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// What the landing route does with a valid token that is not bound to this browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LandingBinding {
    /// Ask first: a page says who the token signs in as, and only its button (a same-origin
    /// `POST`) sets the session cookie. A token whose `nonce` matches this browser's landing
    /// cookie goes straight in. The default.
    #[default]
    Confirm,
    /// Let every valid token in on a `GET`, as before tokens were bound. Anyone can then plant a
    /// session in someone else's browser by sending them a landing URL with their own token.
    Off,
}

/// What the landing route's confirmation page needs: where its form goes, and the session it
/// would start.
#[non_exhaustive]
pub struct LandingConfirmation<'a, S> {
    /// The form's `action`: the landing URL with its `?token=`, which the form must `POST`.
    pub action: &'a str,
    /// The verified session the token carries, to say who the person would become.
    pub session: &'a Authenticated<S>,
}

impl<S> fmt::Debug for LandingConfirmation<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LandingConfirmation")
            .field("action", &"<redacted>")
            .field("subject", &self.session.subject)
            .finish_non_exhaustive()
    }
}

/// The confirmation page's renderer, as the layer keeps it.
pub(crate) type ConfirmPage<S> = dyn Fn(&LandingConfirmation<'_, S>) -> Response<Bytes> + Send + Sync;

/// The default confirmation page: "Continue signing in as ada?" and a button that `POST`s the
/// token back. Plain HTML, escaped, never cached, never sent as a referrer, never framed.
pub fn default_landing_page<S>(confirmation: &LandingConfirmation<'_, S>) -> Response<Bytes> {
    let who = match &confirmation.session.subject {
        Some(subject) => format!(" as <b>{}</b>", escape_html(subject)),
        None => String::new(),
    };
    let body = format!(
        "<h1>Continue signing in{who}?</h1><form method=\"post\" action=\"{action}\">\
         <p>This sign-in was not started in this browser. Continue only if you just signed in yourself.</p>\
         <button>Continue</button></form>",
        action = escape_html(confirmation.action),
    );
    let html = page_html("Continue signing in?", &body);
    let mut response = Response::new(Bytes::from(html));
    set_page_headers(response.headers_mut());
    response
}

/// The landing cookie of a layer whose session cookie is `cookie` and whose landing route is
/// `path`: `<name>-landing`, scoped to the route (to `/` under the `__Host-` prefix, which
/// requires it).
pub(crate) fn landing_cookie(cookie: &CookieOptions, path: &str) -> CookieOptions {
    let name = format!("{}-landing", cookie.cookie_name());
    let path = if name.starts_with("__Host-") { "/" } else { path };
    cookie.clone().name(name).path(path).max_age(LANDING_NONCE_LIFETIME)
}
