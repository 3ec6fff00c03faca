//! Rate limits on the sign-in flows, counted in the [`Store`] so that they hold across a fleet
//! (the counting itself, and where a client's address comes from, are in `rate_limit.rs`).
//!
//! Without them each new flow is a new message to someone's inbox and five more guesses at a
//! code: about 10^5 code flows give even odds of guessing a 6-digit code. The handler counts, per
//! fixed window, the authorize requests of each identity (the `email` claim, by default) and of
//! each client address, and [`CodeProvider`](super::CodeProvider) counts code submissions per
//! identity across all its flows. Over a limit, a step fails with
//! [`FlowError::RateLimited`], answered `429 Too Many Requests` with `Retry-After`. A client
//! whose address cannot be told is refused ([`FlowError::ClientAddressUnknown`]), never let
//! through uncounted.
//!
//! [`Store`]: crate::store::Store

use std::time::Duration;

use crate::rate_limit::{ClientAddress, RateLimit};

/// Authorize requests (links and codes sent) per identity: 5 per 15 minutes.
pub const DEFAULT_REQUESTS_PER_IDENTITY: RateLimit = RateLimit::new(5, Duration::from_secs(15 * 60));
/// Authorize requests per client address: 60 per 15 minutes (an office behind one address).
pub const DEFAULT_REQUESTS_PER_CLIENT: RateLimit = RateLimit::new(60, Duration::from_secs(15 * 60));
/// Code submissions per identity, across every flow: 10 per hour. With 6 digits, an attacker
/// then guesses right with odds of 10^-5 per hour.
pub const DEFAULT_CODE_TRIES_PER_IDENTITY: RateLimit = RateLimit::new(10, Duration::from_secs(60 * 60));

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

/// An identity as it is compared: trimmed and lowercased (`Ada@Example.com ` is `ada@example.com`).
pub(crate) fn normalized_identity(identity: &str) -> String {
    identity.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_compare_trimmed_and_lowercased() {
        assert_eq!(normalized_identity(" Ada@Example.COM "), "ada@example.com");
    }
}
