//! Reading the session of a request, framework-neutral: from `&http::HeaderMap`.
//!
//! `Authorization: Bearer <token>` comes first (scheme matched case-insensitively); an
//! `Authorization` header of another scheme is not ours and is passed over. Then the session
//! cookie. No token at all is a public request; a token that fails is [`RequestSession::Invalid`],
//! never a silent fall back to public. Two tokens of one source (two `Authorization` headers, two
//! session cookies, as cookie tossing from a sibling subdomain produces) are refused as ambiguous
//! rather than guessing which one the user meant.
//!
//! The session layer reads from the [`CredentialSource`]s it is given, in order: besides those
//! two, a header by name (`x-session-token`), another cookie, another `Authorization` scheme, a
//! query parameter on one route only, or a closure (Connectum's `extractToken`).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, Uri};

use crate::cookie::{CookieLookup, find_cookie};

use crate::token::claims::VerifiedToken;
use crate::token::error::TokenError;

/// Where a request's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// `Authorization: Bearer`.
    Bearer,
    /// The session cookie.
    Cookie,
    /// Another `Authorization` scheme ([`CredentialSource::Scheme`]).
    Authorization,
    /// A header by name ([`CredentialSource::Header`]).
    Header,
    /// A cookie other than the session cookie ([`CredentialSource::NamedCookie`]).
    OtherCookie,
    /// A query parameter on its route ([`CredentialSource::Query`]).
    Query,
    /// The application's closure ([`CredentialSource::custom`]).
    Custom,
}

impl TokenSource {
    /// `bearer`, `cookie`, `authorization`, `header`, `other_cookie`, `query` or `custom`, as
    /// events and logs name the source.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Bearer => "bearer",
            TokenSource::Cookie => "cookie",
            TokenSource::Authorization => "authorization",
            TokenSource::Header => "header",
            TokenSource::OtherCookie => "other_cookie",
            TokenSource::Query => "query",
            TokenSource::Custom => "custom",
        }
    }

    /// Whether a browser sends the token on its own (a cookie, or a closure that may read one):
    /// such a request's unsafe methods must come from this site.
    #[cfg_attr(not(feature = "middleware"), allow(dead_code, reason = "only the layer checks CSRF"))]
    pub(crate) fn is_ambient(self) -> bool {
        matches!(
            self,
            TokenSource::Cookie | TokenSource::OtherCookie | TokenSource::Custom
        )
    }
}

/// A closure that finds a request's token (Connectum's `extractToken`).
pub type ExtractToken = dyn Fn(&HeaderMap, &Uri) -> Option<String> + Send + Sync;

/// One place the session layer looks for a token
/// ([`SessionLayerBuilder::credential_sources`](crate::SessionLayerBuilder::credential_sources)).
/// Each refuses a request that carries its credential twice (two headers of the name, two
/// cookies of the name, two `Authorization` headers, the parameter twice): never guessed between.
#[derive(Clone)]
#[non_exhaustive]
pub enum CredentialSource {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// The session cookie (the layer's `cookie` options).
    Cookie,
    /// `Authorization: <scheme> <token>` for another scheme (`Session`, `DPoP`, ...; matched
    /// case-insensitively).
    Scheme(String),
    /// The whole value of the header `name` (`x-session-token`).
    Header(HeaderName),
    /// The cookie `name`, other than the session cookie. A cookie is sent by the browser on its
    /// own, so the same-origin rule applies to unsafe methods.
    NamedCookie(String),
    /// The query parameter `name`, read on the route `path` only (exact match): a token in a URL
    /// ends up in logs and `Referer` headers, so no other route reads it.
    Query {
        /// The one route it is read on.
        path: String,
        /// The parameter's name.
        name: String,
    },
    /// The application's own closure; see [`CredentialSource::custom`].
    Custom(Arc<ExtractToken>),
}

impl CredentialSource {
    /// A closure that finds the token in the request's headers and URI (Connectum's
    /// `extractToken`). The layer cannot know where it read it from, so the same-origin rule
    /// applies to its unsafe methods, as for a cookie.
    pub fn custom(extract: impl Fn(&HeaderMap, &Uri) -> Option<String> + Send + Sync + 'static) -> Self {
        CredentialSource::Custom(Arc::new(extract))
    }

    /// The header `name` (`x-session-token`); [`CredentialSource::Header`].
    pub fn header(name: &'static str) -> Self {
        CredentialSource::Header(HeaderName::from_static(name))
    }

    /// What a token found here is reported as.
    pub fn token_source(&self) -> TokenSource {
        match self {
            CredentialSource::Bearer => TokenSource::Bearer,
            CredentialSource::Cookie => TokenSource::Cookie,
            CredentialSource::Scheme(_) => TokenSource::Authorization,
            CredentialSource::Header(_) => TokenSource::Header,
            CredentialSource::NamedCookie(_) => TokenSource::OtherCookie,
            CredentialSource::Query { .. } => TokenSource::Query,
            CredentialSource::Custom(_) => TokenSource::Custom,
        }
    }
}

impl From<TokenSource> for CredentialSource {
    /// `Bearer` and `Cookie` as they were; the other kinds need a name, so they read as a
    /// closure that finds nothing.
    fn from(source: TokenSource) -> Self {
        match source {
            TokenSource::Bearer => CredentialSource::Bearer,
            TokenSource::Cookie => CredentialSource::Cookie,
            _ => CredentialSource::custom(|_, _| None),
        }
    }
}

impl fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Bearer => f.write_str("Bearer"),
            CredentialSource::Cookie => f.write_str("Cookie"),
            CredentialSource::Scheme(scheme) => f.debug_tuple("Scheme").field(scheme).finish(),
            CredentialSource::Header(name) => f.debug_tuple("Header").field(name).finish(),
            CredentialSource::NamedCookie(name) => f.debug_tuple("NamedCookie").field(name).finish(),
            CredentialSource::Query { path, name } => {
                f.debug_struct("Query").field("path", path).field("name", name).finish()
            }
            CredentialSource::Custom(_) => f.write_str("Custom(..)"),
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
    /// The token's header, or its query parameter, given more than once.
    #[error("more than one `{0}` credential")]
    Multiple(String),
    /// The token's header holds bytes a token cannot contain.
    #[error("malformed `{0}` credential")]
    Malformed(String),
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
            RequestError::Multiple(_) => "multiple_credentials",
            RequestError::Malformed(_) => "malformed_credential",
            RequestError::Token { error, .. } => error.kind(),
        }
    }
}

/// A token found in a request, before verification: borrowed from the request where it can be,
/// so a request its cache answers at once copies nothing.
pub(crate) enum Credential<'a> {
    None,
    Found(Cow<'a, str>, TokenSource),
}

/// The sources `Sessions::read` uses, in its order.
pub(crate) const DEFAULT_SOURCES: &[CredentialSource] = &[CredentialSource::Bearer, CredentialSource::Cookie];

/// Finds the one token a request carries, trying `sources` in order. `uri` is the request's,
/// for query sources (none without it).
pub(crate) fn find_credential<'a>(
    headers: &'a HeaderMap,
    uri: Option<&'a Uri>,
    sources: &[CredentialSource],
    cookie_name: &str,
) -> Result<Credential<'a>, RequestError> {
    for source in sources {
        let found: Option<Cow<'a, str>> = match source {
            CredentialSource::Bearer => authorization_credential(headers, "bearer")?,
            CredentialSource::Scheme(scheme) => authorization_credential(headers, scheme)?,
            CredentialSource::Cookie => cookie_credential(headers, cookie_name)?,
            CredentialSource::NamedCookie(name) => cookie_credential(headers, name)?,
            CredentialSource::Header(name) => header_credential(headers, name)?,
            CredentialSource::Query { path, name } => match uri {
                Some(uri) if uri.path() == path => query_credential(uri, name)?,
                _ => None,
            },
            CredentialSource::Custom(extract) => uri.and_then(|uri| extract(headers, uri)).map(Cow::Owned),
        };
        if let Some(token) = found.filter(|token| !token.is_empty()) {
            return Ok(Credential::Found(token, source.token_source()));
        }
    }
    Ok(Credential::None)
}

/// The token of the one `Authorization` header when its scheme is `scheme`.
fn authorization_credential<'a>(headers: &'a HeaderMap, scheme: &str) -> Result<Option<Cow<'a, str>>, RequestError> {
    let mut authorization = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = authorization.next() else {
        return Ok(None);
    };
    if authorization.next().is_some() {
        return Err(RequestError::MultipleAuthorizationHeaders);
    }
    Ok(scheme_token(value.as_bytes(), scheme.as_bytes())?.map(Cow::Borrowed))
}

/// The whole value of the one header `name`, if it is a token's characters.
fn header_credential<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<Cow<'a, str>>, RequestError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(RequestError::Multiple(name.as_str().to_owned()));
    }
    let value = value.as_bytes().trim_ascii();
    if !is_token(value) {
        return Err(RequestError::Malformed(name.as_str().to_owned()));
    }
    Ok(std::str::from_utf8(value).ok().map(Cow::Borrowed))
}

/// The one query parameter `name` of `uri`.
fn query_credential<'a>(uri: &'a Uri, name: &str) -> Result<Option<Cow<'a, str>>, RequestError> {
    let query = uri.query().unwrap_or_default();
    let mut values = url::form_urlencoded::parse(query.as_bytes()).filter(|(key, _)| key == name);
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some((_, value)), None) => Ok(Some(value)),
        (Some(_), Some(_)) => Err(RequestError::Multiple(name.to_owned())),
    }
}

fn cookie_credential<'a>(headers: &'a HeaderMap, cookie_name: &str) -> Result<Option<Cow<'a, str>>, RequestError> {
    match find_cookie(headers, cookie_name) {
        CookieLookup::None => Ok(None),
        // An emptied cookie (a logout the browser has not applied yet) means no session.
        CookieLookup::One(value) => Ok((!value.is_empty()).then_some(value)),
        CookieLookup::Several => Err(RequestError::MultipleCookies(cookie_name.to_owned())),
    }
}

/// RFC 6750 b64token: the characters a JWT is made of, plus a few more.
fn is_token(token: &[u8]) -> bool {
    !token.is_empty()
        && token
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
}

/// The token of an Authorization value of `scheme`; `None` for another scheme.
fn scheme_token<'a>(value: &'a [u8], scheme: &[u8]) -> Result<Option<&'a str>, RequestError> {
    let is_ours =
        value.len() > scheme.len() && value[..scheme.len()].eq_ignore_ascii_case(scheme) && value[scheme.len()] == b' ';
    if !is_ours {
        let bare_scheme = value.eq_ignore_ascii_case(scheme);
        return if bare_scheme {
            Err(RequestError::MalformedBearer)
        } else {
            Ok(None)
        };
    }
    let token = value[scheme.len()..].trim_ascii();
    if !is_token(token) {
        return Err(RequestError::MalformedBearer);
    }
    // All ASCII, checked above.
    std::str::from_utf8(token)
        .map(Some)
        .map_err(|_| RequestError::MalformedBearer)
}
