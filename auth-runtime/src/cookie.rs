//! The session cookie: its name and attributes, the `Set-Cookie` line that issues or clears it,
//! and finding it in a request's `Cookie` headers.
//!
//! `Set-Cookie` is written in one fixed order, `name=value; HttpOnly; Secure; SameSite=Lax;
//! Path=/; [Domain=d; ]Max-Age=n`, which is the format DESIGN.md documents and tests pin.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Duration;

use http::HeaderMap;
use http::header::COOKIE;

/// The `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on same-site requests and top-level navigations: the default.
    Lax,
    /// Sent on same-site requests only.
    Strict,
    /// Sent on cross-site requests too; requires `Secure`.
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Lax => "Lax",
            SameSite::Strict => "Strict",
            SameSite::None => "None",
        }
    }
}

/// How the session cookie is named and scoped.
///
/// The defaults are the safe ones: `auth-token; HttpOnly; Secure; SameSite=Lax; Path=/`, with
/// `Max-Age` set to the token's remaining lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieOptions {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
    pub(crate) max_age: Option<Duration>,
}

impl Default for CookieOptions {
    fn default() -> Self {
        CookieOptions {
            name: "auth-token".to_owned(),
            path: "/".to_owned(),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            max_age: None,
        }
    }
}

/// Why cookie options were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieError {
    /// The name is empty or has characters a cookie name cannot have.
    #[error("cookie name `{0}` must be a non-empty RFC 6265 token (letters, digits, `-`, `_`, ...)")]
    InvalidName(String),
    /// The path does not start with `/` or contains `;` or control characters.
    #[error("cookie path `{0}` must start with `/` and contain no `;` or control characters")]
    InvalidPath(String),
    /// The domain contains characters a host name cannot have.
    #[error("cookie domain `{0}` is not a host name")]
    InvalidDomain(String),
    /// A cookie value with characters a cookie cannot carry (space, `;`, `,`, `"`, `\`, controls).
    #[error("cookie value must consist of RFC 6265 cookie-octets (no space, `;`, `,`, `\"` or `\\`)")]
    InvalidValue,
    /// `SameSite=None` without `Secure`: browsers drop such cookies.
    #[error("`SameSite=None` requires `Secure`")]
    SameSiteNoneWithoutSecure,
    /// A `__Host-` or `__Secure-` name whose prefix rules are not met.
    #[error("cookie name `{name}` needs {rule}")]
    PrefixRules {
        /// The cookie name.
        name: String,
        /// The rule the prefix imposes.
        rule: &'static str,
    },
}

impl CookieOptions {
    /// The defaults (see the type's documentation).
    pub fn new() -> Self {
        CookieOptions::default()
    }

    /// Cookie name; `auth-token` by default. A `__Host-` name pins the cookie to this exact host.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// `Path`; `/` by default.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// `Domain`; unset by default, which keeps the cookie to the host that set it.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// `Secure`; on by default. Turn off only for plain-HTTP development on localhost.
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// `HttpOnly`; on by default, keeping the token away from page scripts.
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// `SameSite`; `Lax` by default.
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// An upper bound for `Max-Age`. The cookie never outlives its token whatever this says.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Whether the cookie is `Secure` (sent over HTTPS only, and to loopback hosts).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The cookie name.
    pub fn cookie_name(&self) -> &str {
        &self.name
    }

    /// Checks the options against RFC 6265 and the browsers' prefix rules.
    pub(crate) fn validate(&self) -> Result<(), CookieError> {
        if self.name.is_empty() || !self.name.bytes().all(is_token_byte) {
            return Err(CookieError::InvalidName(self.name.clone()));
        }
        if !self.path.starts_with('/')
            || self
                .path
                .bytes()
                .any(|b| b == b';' || b.is_ascii_control() || b >= 0x7f)
        {
            return Err(CookieError::InvalidPath(self.path.clone()));
        }
        if let Some(domain) = &self.domain {
            let valid = !domain.is_empty()
                && domain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            if !valid {
                return Err(CookieError::InvalidDomain(domain.clone()));
            }
        }
        if self.same_site == SameSite::None && !self.secure {
            return Err(CookieError::SameSiteNoneWithoutSecure);
        }
        let prefix_error = |rule| {
            Err(CookieError::PrefixRules {
                name: self.name.clone(),
                rule,
            })
        };
        if self.name.starts_with("__Host-") && (!self.secure || self.path != "/" || self.domain.is_some()) {
            return prefix_error("`Secure`, `Path=/` and no `Domain` (the `__Host-` prefix)");
        }
        if self.name.starts_with("__Secure-") && !self.secure {
            return prefix_error("`Secure` (the `__Secure-` prefix)");
        }
        Ok(())
    }

    /// The `Set-Cookie` value that stores `value` in this cookie: a session token
    /// (`Sessions::cookie` and the landing route use it), or an opaque session id for
    /// applications that issue their own credentials.
    ///
    /// `max_age` is in seconds, capped by [`max_age`](Self::max_age); with neither, the cookie
    /// lasts the browser session. `value` must be cookie-safe (RFC 6265 `cookie-octet`s).
    pub fn set_cookie_header(&self, value: &str, max_age: Option<u64>) -> Result<String, CookieError> {
        let cookie_octet = |b: u8| {
            b == 0x21
                || (0x23..=0x2b).contains(&b)
                || (0x2d..=0x3a).contains(&b)
                || (0x3c..=0x5b).contains(&b)
                || (0x5d..=0x7e).contains(&b)
        };
        if !value.bytes().all(cookie_octet) {
            return Err(CookieError::InvalidValue);
        }
        Ok(self.write_set_cookie(value, max_age))
    }

    /// The `Set-Cookie` value that deletes this cookie (what `Sessions::logout` sends): same
    /// name, path, domain and attributes, empty value, `Max-Age=0`.
    pub fn clear_cookie_header(&self) -> String {
        self.write_set_cookie("", Some(0))
    }

    /// The one place `Set-Cookie` is written, in the documented attribute order.
    fn write_set_cookie(&self, value: &str, max_age: Option<u64>) -> String {
        let cap = self.max_age.map(|cap| cap.as_secs());
        let max_age = match (max_age, cap) {
            (Some(max_age), Some(cap)) => Some(max_age.min(cap)),
            (max_age, cap) => max_age.or(cap),
        };
        let mut line = format!("{}={}", self.name, value);
        if self.http_only {
            line.push_str("; HttpOnly");
        }
        if self.secure {
            line.push_str("; Secure");
        }
        let _ = write!(line, "; SameSite={}; Path={}", self.same_site.as_str(), self.path);
        if let Some(domain) = &self.domain {
            let _ = write!(line, "; Domain={domain}");
        }
        if let Some(max_age) = max_age {
            let _ = write!(line, "; Max-Age={max_age}");
        }
        line
    }

    /// The value of our cookie when the request carries exactly one and `valid` accepts it: two
    /// (one tossed in by a sibling host) are never guessed between.
    #[cfg_attr(not(feature = "providers"), allow(dead_code, reason = "the sign-in flows' cookies"))]
    pub(crate) fn find_one(&self, headers: &HeaderMap, valid: impl Fn(&str) -> bool) -> Option<String> {
        let mut values = self.find(headers);
        match values.len() {
            1 => values.pop().filter(|value| valid(value)),
            _ => None,
        }
    }

    /// The values of every cookie with our name in the request, in order.
    pub(crate) fn find(&self, headers: &HeaderMap) -> Vec<String> {
        cookie_values(headers, &self.name)
    }
}

/// What a request carries under one cookie name.
pub(crate) enum CookieLookup<'a> {
    /// No cookie of the name.
    None,
    /// Exactly one (borrowed from the header when it is valid UTF-8).
    One(Cow<'a, str>),
    /// Two or more (one tossed in by a sibling host, say): never guessed between.
    Several,
}

/// The one cookie called `name`, without copying it in the usual case (one value in valid
/// UTF-8): the per-request path of the session layer.
pub(crate) fn find_cookie<'a>(headers: &'a HeaderMap, name: &str) -> CookieLookup<'a> {
    let mut values = values_of(headers, name);
    match (values.next(), values.next()) {
        (None, _) => CookieLookup::None,
        (Some(value), None) => CookieLookup::One(value),
        (Some(_), Some(_)) => CookieLookup::Several,
    }
}

/// The values of every cookie called `name` in the request, in order.
pub(crate) fn cookie_values(headers: &HeaderMap, name: &str) -> Vec<String> {
    values_of(headers, name).map(Cow::into_owned).collect()
}

/// The values of every cookie called `name` in the request's `Cookie` headers, in order, each
/// borrowed from its header when it is valid UTF-8.
///
/// `name=value` pairs split on `;`, name and value trimmed, no decoding: what the cookie crate's
/// `split_parse` finds (a unit test holds the two to it), without building a full `Cookie` for
/// every pair, which was a third of the cost of a cached request. The header is read as bytes,
/// not `to_str`: one cookie with non-ASCII bytes must not hide ours, and only the value found is
/// decoded (lossily when it is not UTF-8, as the whole header was before).
fn values_of<'a, 'n>(headers: &'a HeaderMap, name: &'n str) -> impl Iterator<Item = Cow<'a, str>> + use<'a, 'n> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(move |header| cookie_pairs(header.as_bytes()).filter_map(move |pair| value_named(pair, name)))
}

/// The value of `pair` (`name=value`) when its name is `name`. The usual pair (ASCII around
/// the name) is compared where it stands; one with other bytes there is split and trimmed in full.
fn value_named<'a>(pair: &'a [u8], name: &str) -> Option<Cow<'a, str>> {
    // A header value holds no ASCII whitespace but spaces and tabs, which both trims remove.
    let rest = pair.trim_ascii_start();
    if !rest.first()?.is_ascii() {
        return value_named_in_full(pair, name);
    }
    let after = rest.strip_prefix(name.as_bytes())?.trim_ascii_start();
    match after.split_first()? {
        (b'=', value) => Some(trimmed_text(value)),
        (byte, _) if !byte.is_ascii() => value_named_in_full(pair, name),
        _ => None,
    }
}

/// [`value_named`] for a pair with non-ASCII bytes around its name: split at the first `=`,
/// the name trimmed as `str::trim` trims (a no-break space, say).
fn value_named_in_full<'a>(pair: &'a [u8], name: &str) -> Option<Cow<'a, str>> {
    let equals = memchr::memchr(b'=', pair)?;
    let (pair_name, value) = (pair.get(..equals)?, pair.get(equals + 1..)?);
    (String::from_utf8_lossy(pair_name).trim() == name).then(|| trimmed_text(value))
}

/// A cookie value as text, trimmed: borrowed when it is UTF-8, decoded lossily when not.
fn trimmed_text(value: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(value) {
        Ok(text) => Cow::Borrowed(text.trim()),
        Err(_) => Cow::Owned(String::from_utf8_lossy(value).trim().to_owned()),
    }
}

/// `header` split on `;`, as `str::split(';')` does, with `memchr`'s vectorized search: a session
/// token makes the `Cookie` header several hundred bytes long, and every request scans it whole.
fn cookie_pairs(header: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let ends = memchr::memchr_iter(b';', header).chain(std::iter::once(header.len()));
    ends.map(move |end| {
        let pair = header.get(start..end).unwrap_or_default();
        start = end + 1;
        pair
    })
}

/// RFC 6265 `token` characters (RFC 7230 `tchar`).
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `find` splits the header itself; it must find exactly what the cookie crate finds.
    #[test]
    fn finding_our_cookie_agrees_with_parsing_every_pair() {
        let headers = [
            "auth-token=abc",
            "theme=dark; auth-token=abc; lang=en",
            "auth-token=abc;auth-token=def",
            "  auth-token  =  abc  ;",
            "auth-token2=abc; xauth-token=def; auth-token",
            "auth-token=; auth-token=a=b=c",
            "=abc; ; ;auth-token=\"quoted\"",
            "auth-token\t=\tabc",
            "a=b; AUTH-TOKEN=upper",
            "x=auth-token=1; auth-token2=2; auth-tokenauth-token=3",
            "auth-token=abc; auth-token =def",
            "auth-token x=abc; auth-token",
            "",
            ";;;",
        ];
        let options = CookieOptions::new();
        for header in headers {
            let mut map = HeaderMap::new();
            map.insert(COOKIE, http::HeaderValue::from_static(header));
            let expected: Vec<String> = cookie::Cookie::split_parse(header)
                .flatten()
                .filter(|cookie| cookie.name() == "auth-token")
                .map(|cookie| cookie.value().to_owned())
                .collect();
            assert_eq!(options.find(&map), expected, "{header:?}");
            // The layer's allocation-free lookup finds the same: none, the one, or several.
            let quick = match find_cookie(&map, "auth-token") {
                CookieLookup::None => Vec::new(),
                CookieLookup::One(value) => vec![value.into_owned()],
                CookieLookup::Several => vec!["<several>".to_owned(); 2],
            };
            assert_eq!(quick.len(), expected.len(), "{header:?}");
            if expected.len() == 1 {
                assert_eq!(quick, expected, "{header:?}");
            }
        }
        // A pair that is not UTF-8 does not hide ours.
        let mut map = HeaderMap::new();
        let value = http::HeaderValue::from_bytes(b"a=\xff\xfe; auth-token=abc").expect("opaque bytes are allowed");
        map.insert(COOKIE, value);
        assert_eq!(options.find(&map), ["abc"]);
        assert!(matches!(find_cookie(&map, "auth-token"), CookieLookup::One(value) if value == "abc"));
        // Unicode whitespace around a name or a value is trimmed as `str::trim` (and the cookie
        // crate) trims it; a value that is not UTF-8 is decoded lossily, never dropped.
        for (header, expected) in [
            ("\u{a0}auth-token\u{a0}=\u{3000}abc", "abc"),
            ("x=1; auth-token \u{a0}=abc; y=2", "abc"),
            ("auth-token\u{e9}=no; auth-token=abc", "abc"),
            ("a=b; auth-token=caf\u{e9}", "caf\u{e9}"),
        ] {
            let mut map = HeaderMap::new();
            map.insert(
                COOKIE,
                http::HeaderValue::from_bytes(header.as_bytes()).expect("obs-text is allowed"),
            );
            let parsed: Vec<String> = cookie::Cookie::split_parse(header)
                .flatten()
                .filter(|cookie| cookie.name() == "auth-token")
                .map(|cookie| cookie.value().to_owned())
                .collect();
            assert_eq!(parsed, [expected], "{header:?}");
            assert_eq!(options.find(&map), [expected], "{header:?}");
            assert!(matches!(find_cookie(&map, "auth-token"), CookieLookup::One(value) if value == expected));
        }
        let mut map = HeaderMap::new();
        map.insert(
            COOKIE,
            http::HeaderValue::from_bytes(b"auth-token=ab\xffc").expect("opaque bytes are allowed"),
        );
        assert_eq!(options.find(&map), ["ab\u{fffd}c"]);
    }
}
