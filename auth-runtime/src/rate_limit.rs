//! Fixed-window rate limits counted in the [`Store`] (so that they hold across a fleet), and
//! where a request's client address comes from.
//!
//! The sign-in flows count authorize requests and code submissions with them, and refresh
//! tokens count rotations. A limit keyed by the client's address needs that address: when it
//! cannot be told (the app is not served with axum's `ConnectInfo`, the proxy's header is
//! missing), the request is refused and an ERROR event says how to fix it. A limit never
//! switches itself off because a setting is missing.
//!
//! Counters are security records (`rate:` keys, see
//! [`is_security_key`](crate::store::is_security_key)): one atomic `increment` each, and a
//! [`MemoryStore`](crate::store::MemoryStore) never refuses them because flows filled it.
//! Identities and addresses are hashed before they become keys.
//!
//! [`Store`]: crate::store::Store

use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::{Extensions, HeaderMap, HeaderName};
use sha2::{Digest, Sha256};

use crate::store::contract::{Store, StoreError};
use crate::telemetry::event;

/// At most `max` events per `window`, counted in fixed windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Events allowed per window.
    pub max: u32,
    /// The window's length.
    pub window: Duration,
}

impl RateLimit {
    /// `max` events per `window` (a window of at least one second).
    pub const fn new(max: u32, window: Duration) -> Self {
        RateLimit { max, window }
    }
}

/// Where a request's client address comes from, for the limits counted per client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAddress {
    /// The peer of the connection, from axum's `ConnectInfo<SocketAddr>`: serve the app with
    /// `into_make_service_with_connect_info::<SocketAddr>()`. Without it (or without the `axum`
    /// feature) the address cannot be told, and a request that a per-client limit would count
    /// is refused with an ERROR event, never let through uncounted. The default.
    Peer,
    /// A header set by a reverse proxy you run (`X-Real-IP`, say), whose last value is taken.
    /// Only for a header the proxy always overwrites: a client can send any header it likes. A
    /// request without it is refused like a missing peer address.
    TrustedHeader(HeaderName),
    /// No per-client limit: say so only when something in front of the service limits clients.
    Unlimited,
}

/// Whether this process has said at ERROR that a client address could not be told.
static UNKNOWN_REPORTED: AtomicBool = AtomicBool::new(false);

/// A request's client, as the limits count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Client {
    /// The address, IPv6 ones as their /64 network (one subscriber usually has a whole /64).
    Known(String),
    /// [`ClientAddress::Unlimited`]: no per-client limit applies.
    Unlimited,
    /// The configured source gave nothing: refuse, and say why.
    Unknown,
}

impl ClientAddress {
    /// The client of a request, as configured.
    pub(crate) fn client_of(&self, headers: &HeaderMap, extensions: &Extensions) -> Client {
        let address = match self {
            ClientAddress::Peer => peer_of(extensions),
            ClientAddress::TrustedHeader(name) => headers
                .get_all(name)
                .iter()
                .next_back()
                .and_then(|value| value.to_str().ok())
                .map(|value| value.rsplit(',').next().unwrap_or(value).trim().to_owned())
                .filter(|value| !value.is_empty())
                .map(|value| match value.parse::<IpAddr>() {
                    Ok(ip) => client_key(ip),
                    Err(_) => value,
                }),
            ClientAddress::Unlimited => return Client::Unlimited,
        };
        match address {
            Some(address) => Client::Known(address),
            None => {
                // Loud once per process, then quiet: a flood of refused requests must not become
                // a flood of ERROR lines.
                if !UNKNOWN_REPORTED.swap(true, Ordering::Relaxed) {
                    event!(
                        error,
                        SIGN_IN,
                        source = ?self,
                        "the client address is unknown, so a per-client limit cannot count this request: \
                         it is refused, and so is every such request. Serve the app with \
                         into_make_service_with_connect_info::<SocketAddr>(), or configure \
                         ClientAddress::TrustedHeader behind a proxy"
                    );
                } else {
                    event!(debug, SIGN_IN, source = ?self, "the client address is unknown; refused");
                }
                Client::Unknown
            }
        }
    }
}

#[cfg(feature = "axum")]
fn peer_of(extensions: &Extensions) -> Option<String> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|axum::extract::ConnectInfo(peer)| client_key(peer.ip()))
}

#[cfg(not(feature = "axum"))]
fn peer_of(_extensions: &Extensions) -> Option<String> {
    None
}

/// How an address is counted: IPv4 (and IPv4-mapped IPv6) as itself, IPv6 as its /64, which a
/// single subscriber usually holds whole and could otherwise walk through one address at a time.
pub(crate) fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", Ipv6Addr::from(network))
            }
        },
    }
}

/// The fixed window an event of `kind` for `subject` at `now` (Unix seconds) counts in.
pub(crate) struct Window {
    /// The counter's store key: `rate:{kind}:{window start}:{first 16 bytes of SHA-256 of the
    /// subject, hex}`.
    pub(crate) key: String,
    /// How long a new counter lives: the window.
    pub(crate) ttl: Duration,
    /// The limit's `max`.
    pub(crate) max: u64,
    /// Seconds until the window ends (at least one): the `Retry-After` once it is full.
    pub(crate) retry_after: u64,
}

impl Window {
    pub(crate) fn of(limit: RateLimit, kind: &str, subject: &str, now: u64) -> Self {
        let window = limit.window.as_secs().max(1);
        let start = now - now % window;
        let digest = Sha256::digest(subject.as_bytes());
        let hashed: String = digest[..16].iter().map(|byte| format!("{byte:02x}")).collect();
        Window {
            key: format!("rate:{kind}:{start}:{hashed}"),
            ttl: Duration::from_secs(window),
            max: u64::from(limit.max),
            retry_after: (start + window).saturating_sub(now).max(1),
        }
    }
}

/// Counts one event of `kind` for `subject` against `limit` at `now` (Unix seconds):
/// `Some(retry_after)` in seconds once the window's count passes the limit.
#[cfg_attr(
    not(feature = "providers"),
    allow(dead_code, reason = "the sign-in flows count with it")
)]
pub(crate) async fn count(
    store: &dyn Store,
    limit: RateLimit,
    kind: &str,
    subject: &str,
    now: u64,
) -> Result<Option<u64>, StoreError> {
    let window = Window::of(limit, kind, subject, now);
    let count = store.increment(&window.key, window.ttl).await?;
    Ok((count > window.max).then_some(window.retry_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trusted_header_gives_its_last_value() {
        let source = ClientAddress::TrustedHeader(HeaderName::from_static("x-forwarded-for"));
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "203.0.113.9, 198.51.100.7".parse().expect("value"));
        assert_eq!(
            source.client_of(&headers, &Extensions::new()),
            Client::Known("198.51.100.7".to_owned())
        );
        assert_eq!(
            source.client_of(&HeaderMap::new(), &Extensions::new()),
            Client::Unknown,
            "a missing header is not a free pass"
        );
        assert_eq!(
            ClientAddress::Unlimited.client_of(&headers, &Extensions::new()),
            Client::Unlimited
        );
    }

    #[cfg(feature = "axum")]
    #[test]
    fn the_peer_comes_from_connect_info_or_is_unknown() {
        use axum::extract::ConnectInfo;
        use std::net::SocketAddr;
        assert_eq!(
            ClientAddress::Peer.client_of(&HeaderMap::new(), &Extensions::new()),
            Client::Unknown,
            "no ConnectInfo"
        );
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 1], 4000))));
        assert_eq!(
            ClientAddress::Peer.client_of(&HeaderMap::new(), &extensions),
            Client::Known("192.0.2.1".to_owned())
        );
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let ip = |text: &str| text.parse::<IpAddr>().expect("an address");
        assert_eq!(client_key(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(
            client_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            client_key(ip("2001:db8:1:2::7"))
        );
        assert_ne!(client_key(ip("2001:db8:1:3::1")), client_key(ip("2001:db8:1:2::1")));
        assert_eq!(client_key(ip("::ffff:192.0.2.7")), "192.0.2.7");
        assert_eq!(client_key(ip("192.0.2.7")), "192.0.2.7");
    }
}
