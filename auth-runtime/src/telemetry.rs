//! Events for every decision, through `tracing` (the `tracing` feature, on by default): free when
//! no subscriber listens, and compiled out without the feature. The targets and field names are
//! part of the API (README, "Logs and metrics"); no event ever carries a token, a cookie value, a
//! code, a link, an email address in full or a flow's state.

// Which targets and helpers are used depends on the features: the events of a feature that is
// off, or all of them without `tracing`, compile to nothing.
#![allow(dead_code)]

/// Per-request session decisions of the layer: accepted, refused, CSRF, the landing route.
pub(crate) const SESSION: &str = "auth_runtime::session";
/// The verified-session cache: invalidations, and whether it follows the store's events.
pub(crate) const CACHE: &str = "auth_runtime::cache";
/// Store calls that failed or were slow, and the Redis subscription.
pub(crate) const STORE: &str = "auth_runtime::store";
/// Another issuer's keys: JWK Set fetches.
pub(crate) const KEYS: &str = "auth_runtime::keys";
/// A session server asked over HTTP.
pub(crate) const SESSION_SERVER: &str = "auth_runtime::session_server";
/// The sign-in flows of the `/auth` router.
pub(crate) const SIGN_IN: &str = "auth_runtime::sign_in";
/// Authorization rules' decisions.
pub(crate) const AUTHZ: &str = "auth_runtime::authz";
/// Revocations written.
pub(crate) const REVOCATION: &str = "auth_runtime::revocation";
/// Refresh token families: started, rotated, refused, reuse detected.
pub(crate) const REFRESH: &str = "auth_runtime::refresh";

/// `event!(level, TARGET, fields..., "message")`: `tracing::<level>!` with one of the targets
/// above, with the `tracing` feature; nothing without it (the arguments are then not compiled:
/// compute what an event shows inside the call, and name helpers by their path).
macro_rules! event {
    ($level:ident, $target:ident, $($rest:tt)+) => {{
        #[cfg(feature = "tracing")]
        {
            ::tracing::$level!(target: $crate::telemetry::$target, $($rest)+);
        }
    }};
}
pub(crate) use event;

/// Attacker-controlled text as an event shows it: at most 64 characters, control characters
/// escaped. For an `Origin` header or a `kid`, never for a credential.
pub(crate) fn shown(text: &str) -> String {
    const SHOWN: usize = 64;
    let mut shown: String = text.chars().take(SHOWN).flat_map(char::escape_debug).collect();
    if text.chars().nth(SHOWN).is_some() {
        shown.push('…');
    }
    shown
}
