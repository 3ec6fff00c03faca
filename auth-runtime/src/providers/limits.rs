//! Rate limits on the sign-in flows, counted in the [`Store`] so that they hold across a fleet.
//!
//! Without them each new flow is a new message to someone's inbox and five more guesses at a
//! code: about 10^5 code flows give even odds of guessing a 6-digit code. The handler counts, per
//! fixed window, the authorize requests of each identity (the `email` claim, by default) and of
//! each client address, and [`CodeProvider`](super::CodeProvider) counts code submissions per
//! identity across all its flows. Over a limit, a step fails with
//! [`FlowError::RateLimited`], answered `429 Too Many Requests` with `Retry-After`.
//!
//! Counters are security records (`rate:` keys, see
//! [`is_security_key`](crate::store::is_security_key)): one atomic `increment` each, and a
//! [`MemoryStore`](crate::store::MemoryStore) never refuses them because flows filled it.
//! Identities and addresses are hashed before they become keys.
//!
//! [`Store`]: crate::store::Store

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use http::{Extensions, HeaderMap, HeaderName};
use sha2::{Digest, Sha256};

use super::error::FlowError;
use crate::store::contract::Store;

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

/// Authorize requests (links and codes sent) per identity: 5 per 15 minutes.
pub const DEFAULT_REQUESTS_PER_IDENTITY: RateLimit = RateLimit::new(5, Duration::from_secs(15 * 60));
/// Authorize requests per client address: 60 per 15 minutes (an office behind one address).
pub const DEFAULT_REQUESTS_PER_CLIENT: RateLimit = RateLimit::new(60, Duration::from_secs(15 * 60));
/// Code submissions per identity, across every flow: 10 per hour. With 6 digits, an attacker
/// then guesses right with odds of 10^-5 per hour.
pub const DEFAULT_CODE_TRIES_PER_IDENTITY: RateLimit = RateLimit::new(10, Duration::from_secs(60 * 60));

/// Where a request's client address comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAddress {
    /// The peer of the connection, from axum's `ConnectInfo<SocketAddr>` (serve the app with
    /// `into_make_service_with_connect_info::<SocketAddr>()`). Without it, no per-client limit
    /// applies. The default.
    Peer,
    /// A header set by a reverse proxy you run (`X-Real-IP`, say), whose last value is taken.
    /// Only for a header the proxy always overwrites: a client can send any header it likes.
    TrustedHeader(HeaderName),
    /// No per-client limit.
    Unlimited,
}

/// The limits an [`AuthHandler`](super::AuthHandler) applies; see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RateLimits {
    pub(crate) requests_per_identity: RateLimit,
    pub(crate) requests_per_client: RateLimit,
    pub(crate) code_tries_per_identity: RateLimit,
    pub(crate) identity_claim: String,
    pub(crate) client_address: ClientAddress,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            requests_per_identity: DEFAULT_REQUESTS_PER_IDENTITY,
            requests_per_client: DEFAULT_REQUESTS_PER_CLIENT,
            code_tries_per_identity: DEFAULT_CODE_TRIES_PER_IDENTITY,
            identity_claim: "email".to_owned(),
            client_address: ClientAddress::Peer,
        }
    }
}

impl RateLimits {
    /// The client address of a request, as configured; `None` when it cannot be told.
    pub(crate) fn client_of(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<String> {
        match &self.client_address {
            ClientAddress::Peer => extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip().to_string()),
            ClientAddress::TrustedHeader(name) => headers
                .get_all(name)
                .iter()
                .next_back()
                .and_then(|value| value.to_str().ok())
                .map(|value| value.rsplit(',').next().unwrap_or(value).trim().to_owned())
                .filter(|value| !value.is_empty()),
            ClientAddress::Unlimited => None,
        }
    }
}

/// An identity as it is compared: trimmed and lowercased (`Ada@Example.com ` is `ada@example.com`).
pub(crate) fn normalized_identity(identity: &str) -> String {
    identity.trim().to_lowercase()
}

/// Counts one event of `kind` for `subject` against `limit` at `now` (Unix seconds):
/// [`FlowError::RateLimited`] once the window's count passes the limit.
pub(crate) async fn count(
    store: &dyn Store,
    limit: RateLimit,
    kind: &str,
    subject: &str,
    now: u64,
) -> Result<(), FlowError> {
    let window = limit.window.as_secs().max(1);
    let start = now - now % window;
    let digest = Sha256::digest(subject.as_bytes());
    let hashed: String = digest[..16].iter().map(|byte| format!("{byte:02x}")).collect();
    let key = format!("rate:{kind}:{start}:{hashed}");
    let count = store.increment(&key, Duration::from_secs(window)).await?;
    if count > u64::from(limit.max) {
        return Err(FlowError::RateLimited {
            retry_after: (start + window).saturating_sub(now).max(1),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_compare_trimmed_and_lowercased() {
        assert_eq!(normalized_identity(" Ada@Example.COM "), "ada@example.com");
    }

    #[test]
    fn a_trusted_header_gives_its_last_value() {
        let limits = RateLimits {
            client_address: ClientAddress::TrustedHeader(HeaderName::from_static("x-forwarded-for")),
            ..RateLimits::default()
        };
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "203.0.113.9, 198.51.100.7".parse().expect("value"));
        assert_eq!(
            limits.client_of(&headers, &Extensions::new()).as_deref(),
            Some("198.51.100.7")
        );
        let peer = RateLimits::default();
        assert_eq!(peer.client_of(&headers, &Extensions::new()), None, "no ConnectInfo");
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 1], 4000))));
        assert_eq!(peer.client_of(&headers, &extensions).as_deref(), Some("192.0.2.1"));
    }
}
