//! Reading the session of a request, framework-neutral: from `&http::HeaderMap`.
//!
//! `Authorization: Bearer <token>` comes first (scheme matched case-insensitively); an
//! `Authorization` header of another scheme is not ours and is passed over. Then the session
//! cookie. No token at all is a public request; a token that fails is [`RequestSession::Invalid`],
//! never a silent fall back to public. Two tokens of one source (two `Authorization` headers, two
//! session cookies, as cookie tossing from a sibling subdomain produces) are refused as ambiguous
//! rather than guessing which one the user meant.

use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::token::claims::VerifiedToken;
use crate::token::error::TokenError;

/// Where a request's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `Authorization: Bearer`.
    Bearer,
    /// The session cookie.
    Cookie,
}

impl TokenSource {
    /// `bearer` or `cookie`, as events and logs name the source.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Bearer => "bearer",
            TokenSource::Cookie => "cookie",
        }
    }
}

/// The outcome of reading a request.
#[derive(Debug)]
pub enum RequestSession<S> {
    /// No token: a public (anonymous) request.
    Public,
    /// A valid token and its typed session.
    Session {
        /// The session and its claims.
        verified: VerifiedToken<S>,
        /// Where the token came from (CSRF rules differ for cookies).
        source: TokenSource,
    },
    /// A token was presented and refused.
    Invalid(RequestError),
}

/// The old name of [`RequestSession`]: beside `Authenticated` and `VerifiedToken` it read as a
/// third word for a checked session; it is what reading a request found.
#[deprecated(since = "0.3.0", note = "renamed `RequestSession`")]
pub type Authentication<S> = RequestSession<S>;

impl<S> RequestSession<S> {
    /// The typed session, if the request carried a valid one.
    pub fn session(&self) -> Option<&S> {
        match self {
            RequestSession::Session { verified, .. } => Some(&verified.session),
            _ => None,
        }
    }

    /// Takes the session out: `Ok(None)` for a public request, `Err` for an invalid token.
    pub fn into_result(self) -> Result<Option<VerifiedToken<S>>, RequestError> {
        match self {
            RequestSession::Public => Ok(None),
            RequestSession::Session { verified, .. } => Ok(Some(verified)),
            RequestSession::Invalid(error) => Err(error),
        }
    }
}

/// Why a request's credentials were refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// More than one `Authorization` header.
    #[error("more than one Authorization header")]
    MultipleAuthorizationHeaders,
    /// `Authorization: Bearer` with no token or with bytes a token cannot contain.
    #[error("malformed Bearer credentials")]
    MalformedBearer,
    /// More than one session cookie.
    #[error("more than one `{0}` cookie")]
    MultipleCookies(String),
    /// The token itself failed verification.
    #[error("{source:?} token rejected: {error}")]
    Token {
        /// Where the token came from.
        source: TokenSource,
        /// Why it was refused.
        #[source]
        error: TokenError,
    },
}

impl RequestError {
    /// The kind of refusal, as events and logs name it.
    pub fn kind(&self) -> &'static str {
        match self {
            RequestError::MultipleAuthorizationHeaders => "multiple_authorization_headers",
            RequestError::MalformedBearer => "malformed_bearer",
            RequestError::MultipleCookies(_) => "multiple_cookies",
            RequestError::Token { error, .. } => error.kind(),
        }
    }
}

/// A token found in a request, before verification.
pub(crate) enum Credential {
    None,
    Found(String, TokenSource),
}

/// The sources `Sessions::read` uses, in its order.
pub(crate) const DEFAULT_SOURCES: &[TokenSource] = &[TokenSource::Bearer, TokenSource::Cookie];

/// Finds the one token a request carries, trying `sources` in order.
pub(crate) fn find_credential(
    headers: &HeaderMap,
    sources: &[TokenSource],
    cookie_name: &str,
    cookie_values: impl Fn() -> Vec<String>,
) -> Result<Credential, RequestError> {
    for source in sources {
        let found = match source {
            TokenSource::Bearer => bearer_credential(headers)?,
            TokenSource::Cookie => cookie_credential(cookie_name, cookie_values())?,
        };
        if let Some(token) = found {
            return Ok(Credential::Found(token, *source));
        }
    }
    Ok(Credential::None)
}

fn bearer_credential(headers: &HeaderMap) -> Result<Option<String>, RequestError> {
    let mut authorization = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = authorization.next() else {
        return Ok(None);
    };
    if authorization.next().is_some() {
        return Err(RequestError::MultipleAuthorizationHeaders);
    }
    Ok(bearer_token(value.as_bytes())?.map(str::to_owned))
}

fn cookie_credential(cookie_name: &str, mut cookies: Vec<String>) -> Result<Option<String>, RequestError> {
    match cookies.len() {
        0 => Ok(None),
        // An emptied cookie (a logout the browser has not applied yet) means no session.
        1 => Ok(Some(cookies.remove(0)).filter(|value| !value.is_empty())),
        _ => Err(RequestError::MultipleCookies(cookie_name.to_owned())),
    }
}

/// The token of a `Bearer` Authorization value; `None` for another scheme.
fn bearer_token(value: &[u8]) -> Result<Option<&str>, RequestError> {
    const SCHEME: &[u8] = b"bearer";
    let is_bearer =
        value.len() > SCHEME.len() && value[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) && value[SCHEME.len()] == b' ';
    if !is_bearer {
        let bare_scheme = value.eq_ignore_ascii_case(SCHEME);
        return if bare_scheme {
            Err(RequestError::MalformedBearer)
        } else {
            Ok(None)
        };
    }
    let token = value[SCHEME.len()..].trim_ascii();
    // RFC 6750 b64token: the characters a JWT is made of, plus a few more.
    let valid = !token.is_empty()
        && token
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b));
    if !valid {
        return Err(RequestError::MalformedBearer);
    }
    // All ASCII, checked above.
    std::str::from_utf8(token)
        .map(Some)
        .map_err(|_| RequestError::MalformedBearer)
}
