//! Cross-site request refusal for cookie-authenticated requests: an unsafe method must come from
//! this site (`Sec-Fetch-Site: same-origin`, or an `Origin` that is allowed or is this request's
//! own origin). Bearer requests are exempt: browsers never attach them on their own.
//!
//! "This request's own origin" is the scheme the service is served on with the host and port of
//! `Host` (`:authority` in HTTP/2). The scheme counts: on an HTTPS site, `Origin:
//! http://app.example.com` is another origin (any page on the network path can be served there).
//! It is, in order: the request's own (HTTP/2 `:scheme`), the layer's configured
//! [`site_scheme`](super::SessionLayerBuilder::site_scheme), or, by default, what the session
//! cookie says: a `Secure` cookie travels over HTTPS only, except to loopback hosts, where
//! browsers send it over plain HTTP too.

use http::header::{HOST, ORIGIN};
use http::uri::Scheme;
use http::{HeaderMap, Method, Uri};

/// Whether `method` changes state (and so needs a same-origin check under a cookie).
pub(crate) fn is_unsafe(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

/// How the layer knows the scheme the service is served on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SiteScheme {
    /// Set in the layer's configuration.
    Configured(Scheme),
    /// Inferred from the session cookie's `Secure` attribute.
    FromCookie {
        /// Whether the cookie is `Secure`.
        secure: bool,
    },
}

impl SiteScheme {
    /// Whether `scheme` may be this site's for a request to `host`.
    fn allows(&self, request_scheme: Option<&Scheme>, scheme: &str, host: &str) -> bool {
        if let Some(request_scheme) = request_scheme {
            return request_scheme.as_str().eq_ignore_ascii_case(scheme);
        }
        match self {
            SiteScheme::Configured(configured) => configured.as_str().eq_ignore_ascii_case(scheme),
            SiteScheme::FromCookie { secure: true } => scheme == "https" || (scheme == "http" && is_loopback(host)),
            // A cookie without `Secure` says nothing of the scheme: it travels over both.
            SiteScheme::FromCookie { secure: false } => scheme == "https" || scheme == "http",
        }
    }
}

/// `localhost` and the loopback addresses: browsers treat plain HTTP there as secure.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// `Sec-Fetch-Site: same-origin`, or an `Origin` that is allowed or is this request's own.
pub(crate) fn same_origin(headers: &HeaderMap, uri: &Uri, allowed: &[url::Origin], site: &SiteScheme) -> bool {
    // A header given twice must say the same thing both times: one good value must not hide a
    // bad one (no browser sends two).
    let mut sites = headers.get_all("sec-fetch-site").iter().peekable();
    if sites.peek().is_some() && sites.all(|site| site.as_bytes() == b"same-origin") {
        return true;
    }
    let mut origins = headers.get_all(ORIGIN).iter();
    let (Some(origin), None) = (origins.next(), origins.next()) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let Ok(origin) = url::Url::parse(origin) else {
        return false;
    };
    if allowed.contains(&origin.origin()) {
        return true;
    }
    let (Some(origin_host), Some(origin_port)) = (origin.host_str(), origin.port_or_known_default()) else {
        return false;
    };
    // `Host`, or in HTTP/2 (which has none) the `:authority` the request URI carries.
    let host = match headers.get(HOST) {
        Some(host) => host.to_str().ok(),
        None => uri.authority().map(|authority| authority.as_str()),
    };
    let Some(host) = host else {
        return false;
    };
    // `Host` is `name[:port]`, where an IPv6 name is bracketed and has colons of its own.
    let (host_name, host_port) = match host.rsplit_once(':') {
        Some((name, port)) if !host.ends_with(']') => match port.parse::<u16>() {
            Ok(port) => (name, Some(port)),
            Err(_) => return false,
        },
        _ => (host, None),
    };
    let scheme = origin.scheme();
    if !site.allows(uri.scheme(), scheme, host_name) {
        return false;
    }
    // Without a port, `Host` names the default port of the scheme the site is served on.
    let default_port = if scheme == "https" { 443 } else { 80 };
    host_name.eq_ignore_ascii_case(origin_host) && host_port.unwrap_or(default_port) == origin_port
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    const SECURE: SiteScheme = SiteScheme::FromCookie { secure: true };

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("valid value"));
        }
        map
    }

    #[test]
    fn origins_match_the_host_with_default_ports_and_ipv6() {
        let same = [
            ("http://127.0.0.1:3000", "127.0.0.1:3000"),
            ("https://app.example.com", "app.example.com"),
            ("https://app.example.com", "APP.example.com:443"),
            ("http://[::1]:8080", "[::1]:8080"),
            ("http://[::1]", "[::1]"),
        ];
        for (origin, host) in same {
            assert!(
                same_origin(
                    &headers(&[("origin", origin), ("host", host)]),
                    &Uri::default(),
                    &[],
                    &SECURE
                ),
                "{origin} vs {host}"
            );
        }
        let cross = [
            ("http://127.0.0.1:3001", "127.0.0.1:3000"),
            ("https://app.example.com", "app.example.com:80"),
            ("http://app.example.com", "app.example.com:443"),
            ("https://evil.example", "app.example.com"),
            ("https://app.example.com", "app.example.com:x"),
            ("null", "app.example.com"),
            // The scheme counts: plain HTTP on the same host is another origin of an HTTPS site.
            ("http://app.example.com", "app.example.com"),
        ];
        for (origin, host) in cross {
            assert!(
                !same_origin(
                    &headers(&[("origin", origin), ("host", host)]),
                    &Uri::default(),
                    &[],
                    &SECURE
                ),
                "{origin} vs {host}"
            );
        }
    }

    #[test]
    fn the_site_scheme_comes_from_the_request_the_configuration_or_the_cookie() {
        let cross_scheme = headers(&[("origin", "http://app.example.com"), ("host", "app.example.com")]);
        let plain = SiteScheme::FromCookie { secure: false };
        assert!(
            same_origin(&cross_scheme, &Uri::default(), &[], &plain),
            "no Secure cookie, no claim"
        );
        let http = SiteScheme::Configured(Scheme::HTTP);
        assert!(same_origin(&cross_scheme, &Uri::default(), &[], &http));
        let https = SiteScheme::Configured(Scheme::HTTPS);
        assert!(!same_origin(&cross_scheme, &Uri::default(), &[], &https));
        // HTTP/2: the request says its scheme and authority; no `Host` header.
        let h2: Uri = "https://app.example.com/update".parse().expect("uri");
        let from_h2 = headers(&[("origin", "https://app.example.com")]);
        assert!(same_origin(&from_h2, &h2, &[], &http), "the request's own :scheme wins");
        let other = headers(&[("origin", "http://app.example.com")]);
        assert!(!same_origin(&other, &h2, &[], &plain));
        let elsewhere = headers(&[("origin", "https://evil.example")]);
        assert!(!same_origin(&elsewhere, &h2, &[], &plain));
    }

    /// No browser sends either header twice: a second value must not hide a cross-site one.
    #[test]
    fn a_second_header_never_hides_a_cross_site_one() {
        let mut two_sites = headers(&[("sec-fetch-site", "same-origin"), ("host", "app.example.com")]);
        two_sites.append("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&two_sites, &Uri::default(), &[], &SECURE));
        let mut two_origins = headers(&[("origin", "https://app.example.com"), ("host", "app.example.com")]);
        assert!(same_origin(&two_origins, &Uri::default(), &[], &SECURE));
        two_origins.append("origin", HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&two_origins, &Uri::default(), &[], &SECURE));
    }
}
