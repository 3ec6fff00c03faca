//! Where a sign-in may send the browser, and the `302 Found` that sends it there.
//!
//! The allowlist: a relative path on this site, or a URL on an allowed origin. Nothing else, so
//! a crafted `redirect` cannot carry a fresh token to another site.
//!
//! A relative target must be a path (`/...`) that no browser reads as another host: no `//` or
//! `/\` start, no backslash or control character anywhere, checked on the text as given and after
//! each of up to three rounds of percent-decoding (so `/%2F%2Fevil.com` and `/%5Cevil.com` fail
//! too). An absolute target must be written `http://` or `https://` + host (so `https:evil.com`,
//! which browsers and URL parsers read differently, fails), carry no user name or password, and
//! be on an allowed origin. Everything else (`javascript:`, `data:`, empty, over 2048 bytes) fails.

use std::fmt;

use http::header::{CACHE_CONTROL, HeaderValue, InvalidHeaderValue, LOCATION, REFERRER_POLICY, SET_COOKIE};
use http::{Response, StatusCode};
use percent_encoding::percent_decode_str;
use url::{Origin, Position, Url};

/// Why a redirect target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectError {
    /// Empty.
    #[error("redirect target is empty")]
    Empty,
    /// Over the length limit.
    #[error("redirect target is {len} bytes, over the {max}-byte limit")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Starts with `//` or `/\`, which browsers read as another host.
    #[error("redirect target `{0}` would leave this site (it starts like `//host`)")]
    SchemeRelative(String),
    /// Contains a backslash, which browsers treat as `/`.
    #[error("redirect target `{0}` contains a backslash")]
    Backslash(String),
    /// Contains a control character or whitespace, which browsers strip.
    #[error("redirect target `{0}` contains a control or whitespace character")]
    ControlCharacter(String),
    /// Not `http`/`https`, or not written `scheme://host`.
    #[error("redirect target `{0}` is neither a path starting with `/` nor an http(s)://host URL")]
    UnsupportedTarget(String),
    /// Has a user name or password (`https://app@evil.com`).
    #[error("redirect target `{0}` contains credentials (user@host)")]
    Credentials(String),
    /// Absolute, on an origin not in the allowlist.
    #[error("redirect origin `{0}` is not allowed; add it with `allow_redirect_origin`")]
    OriginNotAllowed(String),
}

/// The redirect allowlist: relative paths always, absolute URLs on these origins only.
#[derive(Clone, Default)]
pub struct RedirectPolicy {
    origins: Vec<Origin>,
}

impl fmt::Debug for RedirectPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origins: Vec<String> = self.origins.iter().map(Origin::ascii_serialization).collect();
        f.debug_struct("RedirectPolicy").field("origins", &origins).finish()
    }
}

/// A checked redirect target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectTarget {
    /// Parsed; for a relative target, against a placeholder base that never leaves this module.
    url: Url,
    relative: bool,
}

const MAX_REDIRECT_LEN: usize = 2048;
const DECODE_ROUNDS: usize = 3;
/// Base for parsing relative targets; `.invalid` is reserved and can never be a real host.
const RELATIVE_BASE: &str = "https://relative.invalid/";

/// Why an allowed origin could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{origin}` is not an origin like `https://app.example.com`: {reason}")]
pub struct InvalidOrigin {
    /// The text given.
    pub origin: String,
    /// What was wrong.
    pub reason: &'static str,
}

impl RedirectPolicy {
    /// A policy that allows relative paths only.
    pub fn new() -> Self {
        RedirectPolicy::default()
    }

    /// Also allows absolute URLs on `origin` (`https://app.example.com`, with a port if not the
    /// default): `RedirectPolicy::new().allow_origin("https://a.example")?.allow_origin(...)?`.
    pub fn allow_origin(mut self, origin: &str) -> Result<Self, InvalidOrigin> {
        let origin = parse_origin(origin)?;
        if !self.origins.contains(&origin) {
            self.origins.push(origin);
        }
        Ok(self)
    }

    /// Checks `target` and returns it parsed.
    pub fn check(&self, target: &str) -> Result<RedirectTarget, RedirectError> {
        if target.is_empty() {
            return Err(RedirectError::Empty);
        }
        if target.len() > MAX_REDIRECT_LEN {
            return Err(RedirectError::TooLong {
                len: target.len(),
                max: MAX_REDIRECT_LEN,
            });
        }
        check_characters(target)?;
        if target.starts_with('/') {
            return check_relative(target);
        }
        self.check_absolute(target)
    }

    fn check_absolute(&self, target: &str) -> Result<RedirectTarget, RedirectError> {
        let unsupported = || RedirectError::UnsupportedTarget(target.to_owned());
        let lower_prefix = target.get(..8).unwrap_or(target).to_ascii_lowercase();
        if !(lower_prefix.starts_with("http://") || lower_prefix.starts_with("https://")) {
            return Err(unsupported());
        }
        let url = Url::parse(target).map_err(|_| unsupported())?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RedirectError::Credentials(target.to_owned()));
        }
        let origin = url.origin();
        if !self.origins.contains(&origin) {
            return Err(RedirectError::OriginNotAllowed(origin.ascii_serialization()));
        }
        Ok(RedirectTarget { url, relative: false })
    }
}

/// Parses `scheme://host[:port]` (http or https, no credentials, path, query or fragment).
pub(crate) fn parse_origin(origin: &str) -> Result<Origin, InvalidOrigin> {
    let invalid = |reason| InvalidOrigin {
        origin: origin.to_owned(),
        reason,
    };
    let url = Url::parse(origin).map_err(|_| invalid("it does not parse as a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not contain credentials"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "it must be scheme://host[:port] with no path, query or fragment",
        ));
    }
    Ok(url.origin())
}

/// Control characters, whitespace and backslashes, in the text and in its decoded forms.
fn check_characters(target: &str) -> Result<(), RedirectError> {
    let mut form = target.to_owned();
    for round in 0..=DECODE_ROUNDS {
        if form.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(RedirectError::ControlCharacter(target.to_owned()));
        }
        if form.contains('\\') {
            return Err(RedirectError::Backslash(target.to_owned()));
        }
        if round > 0 && form.starts_with("//") {
            return Err(RedirectError::SchemeRelative(target.to_owned()));
        }
        let decoded = percent_decode_str(&form).decode_utf8_lossy().into_owned();
        if decoded == form {
            break;
        }
        form = decoded;
    }
    Ok(())
}

fn check_relative(target: &str) -> Result<RedirectTarget, RedirectError> {
    if target.starts_with("//") {
        return Err(RedirectError::SchemeRelative(target.to_owned()));
    }
    let base = Url::parse(RELATIVE_BASE).map_err(|_| RedirectError::UnsupportedTarget(target.to_owned()))?;
    let url = base
        .join(target)
        .map_err(|_| RedirectError::UnsupportedTarget(target.to_owned()))?;
    // Defence in depth: whatever the checks above missed, the parser must agree it stayed home.
    if url.origin() != base.origin() {
        return Err(RedirectError::SchemeRelative(target.to_owned()));
    }
    let checked = RedirectTarget { url, relative: true };
    // Dot segments can collapse into `//` (`/.//evil.com` normalizes to `//evil.com`), which a
    // browser reads as another host: judge the Location we would send, not only the input.
    if checked.as_str().starts_with("//") {
        return Err(RedirectError::SchemeRelative(target.to_owned()));
    }
    Ok(checked)
}

impl RedirectTarget {
    /// The target as it goes into `Location`: path, query and fragment for a relative target,
    /// the full URL otherwise; normalized and percent-encoded by the URL parser.
    pub fn as_str(&self) -> &str {
        if self.relative {
            &self.url[Position::BeforePath..]
        } else {
            self.url.as_str()
        }
    }

    /// Whether the target is a path on this site.
    pub fn is_relative(&self) -> bool {
        self.relative
    }

    /// The same target with `name=value` in its query, encoded, replacing any earlier `name`
    /// parameter (a second `token` in a crafted redirect must not win). Other parameters and the
    /// fragment are kept.
    pub(crate) fn with_query_parameter(&self, name: &str, value: &str) -> RedirectTarget {
        let mut url = self.url.clone();
        let has_name = url.query_pairs().any(|(key, _)| key == name);
        if has_name {
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(key, _)| key != name)
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect();
            url.set_query(None);
            if !kept.is_empty() {
                url.query_pairs_mut().extend_pairs(kept);
            }
        }
        url.query_pairs_mut().append_pair(name, value);
        RedirectTarget {
            url,
            relative: self.relative,
        }
    }
}

impl fmt::Display for RedirectTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `302 Found` to `location`, never cached, never leaking the URL as a referrer; with a
/// `Set-Cookie` when one is given. Every redirect the crate answers with is built here.
pub(crate) fn found<B: Default>(location: &str, set_cookie: Option<&str>) -> Result<Response<B>, InvalidHeaderValue> {
    let mut response = Response::new(B::default());
    *response.status_mut() = StatusCode::FOUND;
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_str(location)?);
    if let Some(set_cookie) = set_cookie {
        headers.insert(SET_COOKIE, HeaderValue::from_str(set_cookie)?);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(response)
}
