//! Pairs in a browser: the sign-in redirect, the two cookies set and cleared, and reading the
//! refresh cookie (never guessing between two).

use http::header::{HeaderValue, SET_COOKIE};
use http::{HeaderMap, Response};

use super::RefreshTokens;
use super::outcome::{RefreshError, TokenPair};
use crate::cookie::CookieOptions;
use crate::redirect::found;
use crate::session_types::SessionTypes;
use crate::sessions::IssueError;

impl<S: SessionTypes> RefreshTokens<S> {
    /// Signs `session` in with a new family: `302 Found` to `redirect` with the access token in
    /// the session cookie and the refresh token in the refresh cookie (each `Max-Age` its own
    /// lifetime). `redirect` is checked like [`Sessions::cookie`](crate::Sessions::cookie)'s.
    pub async fn sign_in<B: Default>(&self, session: &S, redirect: &str) -> Result<Response<B>, RefreshError> {
        let target = self.inner.sessions.check_redirect(redirect).map_err(IssueError::from)?;
        let pair = self.issue(session).await?;
        let mut response = found::<B>(target.as_str(), None).map_err(IssueError::from)?;
        self.inner.sessions.hand_over(session, &mut response)?;
        for cookie in self.set_cookies(&pair)? {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
        Ok(response)
    }

    /// The two `Set-Cookie` values that put `pair` in a browser.
    pub fn set_cookies(&self, pair: &TokenPair) -> Result<[HeaderValue; 2], RefreshError> {
        let access = self
            .inner
            .sessions
            .cookie_options()
            .set_cookie_header(&pair.access_token, Some(pair.expires_in))?;
        let refresh = self
            .inner
            .cookie
            .set_cookie_header(&pair.refresh_token, Some(pair.refresh_expires_in))?;
        let header = |value: String| HeaderValue::from_str(&value).map_err(IssueError::from);
        Ok([header(access)?, header(refresh)?])
    }

    /// The two `Set-Cookie` values that delete the session and refresh cookies (logout).
    pub fn clear_cookies(&self) -> [String; 2] {
        [
            self.inner.sessions.cookie_options().clear_cookie_header(),
            self.inner.cookie.clear_cookie_header(),
        ]
    }

    /// The refresh token the request's refresh cookie carries; `None` when it carries the cookie
    /// more than once (another host of the site may have set one: never guess which is ours).
    pub fn refresh_cookie(&self, headers: &HeaderMap) -> Option<String> {
        match refresh_cookie(&self.inner.cookie, headers) {
            RefreshCookie::One(token) => Some(token),
            RefreshCookie::Absent | RefreshCookie::Several => None,
        }
    }
}

/// What a request carries in the refresh cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefreshCookie {
    Absent,
    One(String),
    /// More than one cookie of the name (cookie tossing from a sibling host): treated as none,
    /// and cleared.
    Several,
}

/// The refresh cookie `cookie` names, in `headers`.
pub(crate) fn refresh_cookie(cookie: &CookieOptions, headers: &HeaderMap) -> RefreshCookie {
    let mut found = cookie.find(headers);
    match (found.pop(), found.is_empty()) {
        (None, _) => RefreshCookie::Absent,
        (Some(token), true) => RefreshCookie::One(token),
        (Some(_), false) => RefreshCookie::Several,
    }
}
