//! Cross-site request refusal for cookie-authenticated requests: an unsafe method must come from
//! this site (`Sec-Fetch-Site: same-origin`, or an `Origin` that is allowed or names the `Host`).
//! Bearer requests are exempt: browsers never attach them on their own.

use http::header::{HOST, ORIGIN};
use http::{HeaderMap, Method};

/// Whether `method` changes state (and so needs a same-origin check under a cookie).
pub(crate) fn is_unsafe(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

/// `Sec-Fetch-Site: same-origin`, or an `Origin` that is allowed or names the `Host` requested.
pub(crate) fn same_origin(headers: &HeaderMap, allowed: &[url::Origin]) -> bool {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes() == b"same-origin")
    {
        return true;
    }
    let Some(origin) = headers.get(ORIGIN).and_then(|origin| origin.to_str().ok()) else {
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
    let Some(host) = headers.get(HOST).and_then(|host| host.to_str().ok()) else {
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
    host_name.eq_ignore_ascii_case(origin_host) && host_port.unwrap_or(origin_port) == origin_port
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

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
                same_origin(&headers(&[("origin", origin), ("host", host)]), &[]),
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
        ];
        for (origin, host) in cross {
            assert!(
                !same_origin(&headers(&[("origin", origin), ("host", host)]), &[]),
                "{origin} vs {host}"
            );
        }
    }
}
