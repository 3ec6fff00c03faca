//! [`RemoteJwks`]: another issuer's signing keys, fetched from its JWK Set and kept fresh.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use http::header::{ACCEPT, CACHE_CONTROL};
use jsonwebtoken::jwk::Jwk;
use url::Url;

mod builder;

#[allow(deprecated, reason = "the old name stays importable for one release")]
pub use self::builder::JwksError;
pub use self::builder::{JwksConfigError, JwksSource, RemoteJwksBuilder};
use self::builder::{Options, web_url};
use super::lookup::{LookupError, select};
use crate::clock::Clock;
use crate::http_client::{describe, read_limited};
use crate::telemetry::event;
use crate::token::keys::VerificationKey;

/// Another issuer's signing keys, fetched and cached. Clones share one cache.
///
/// - Where: `<issuer>/.well-known/jwks.json`, an explicit URL, or the `jwks_uri` of the issuer's
///   OpenID (or RFC 8414 OAuth) discovery document, whose `issuer` must be the one configured.
/// - How long: the answer's `Cache-Control: max-age`, kept within bounds (30 s to 1 day by
///   default; 5 minutes without one). A background refresh starts once a fifth of that time is
///   left, so requests do not wait on the issuer.
/// - Rotation: a token naming an unknown `kid` fetches the set again, at most once per
///   [`refetch_interval`](RemoteJwksBuilder::refetch_interval); concurrent fetches are coalesced
///   into one, so a thousand requests with a new `kid` cause one request to the issuer.
/// - Outages: when a fetch fails the last good set keeps serving for
///   [`max_stale`](RemoteJwksBuilder::max_stale) past its expiry, then lookups fail closed
///   (`BackendUnavailable`: 503 through the layer, never cached).
/// - What is kept: only keys for signatures (`use` `sig` or absent, `key_ops` with `verify` or
///   absent) with an `alg` this crate verifies and a key that fits it (curve, RSA of 2048 bits or
///   more); others are skipped. A set with no usable key is an error.
/// - The client follows no redirects, times out (5 s by default) and reads at most 256 KiB.
#[derive(Clone)]
pub struct RemoteJwks {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("source", &self.inner.source)
            .finish_non_exhaustive()
    }
}

struct Inner {
    source: JwksSource,
    options: Options,
    client: reqwest::Client,
    /// The key set URL, once known (at build, or after discovery).
    url: Mutex<Option<Url>>,
    state: Mutex<State>,
    /// Held while fetching: one fetch at a time, the others wait and use its result.
    fetching: tokio::sync::Mutex<()>,
    /// Whether a background refresh is under way.
    refreshing: AtomicBool,
    /// What freshness and the refetch interval are measured on.
    clock: Clock,
}

#[derive(Default)]
struct State {
    keys: Arc<Vec<VerificationKey>>,
    /// Until when the set is fresh; `None` before the first good fetch.
    fresh_until: Option<SystemTime>,
    /// When a background refresh starts.
    refresh_at: Option<SystemTime>,
    /// Every fetch attempt, good or bad, counts: waiters compare it to know one happened.
    attempts: u64,
    last_attempt: Option<SystemTime>,
    last_error: Option<String>,
}

impl RemoteJwks {
    /// The set holding the key for `kid`, and its index there; fetches as the module docs say.
    pub(crate) async fn find(&self, kid: Option<&str>) -> Result<(Arc<Vec<VerificationKey>>, usize), LookupError> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let (fresh_until, refresh_at, attempts, recent_failure) = {
            let state = inner.state();
            let recent = state
                .last_attempt
                .is_some_and(|at| since(now, at) < inner.options.refetch_interval);
            let recent_failure = state.last_error.as_ref().filter(|_| recent).cloned();
            (state.fresh_until, state.refresh_at, state.attempts, recent_failure)
        };
        let expired = fresh_until.is_none_or(|fresh_until| now >= fresh_until);
        if expired {
            // Never fetched, or expired: fetch now (coalesced; after a failure, not again before
            // the refetch interval), and fall back on a set still within the staleness bound.
            let fetched = match recent_failure {
                Some(error) => Err(error),
                None => inner.fetch_once(attempts).await,
            };
            if let Err(error) = fetched {
                let usable = fresh_until.is_some_and(|fresh_until| now < later(fresh_until, inner.options.max_stale));
                if !usable {
                    return Err(LookupError::Unavailable(error));
                }
                event!(warn, KEYS, error = %error, "serving the last good JWK Set past its expiry");
            }
        } else if refresh_at.is_some_and(|at| now >= at) {
            self.refresh_in_background(attempts);
        }
        let (keys, attempts, last_attempt) = {
            let state = inner.state();
            (Arc::clone(&state.keys), state.attempts, state.last_attempt)
        };
        if let Some(index) = select(&keys, kid) {
            return Ok((keys, index));
        }
        // An unknown `kid`: the issuer may have rotated. Ask again, at most once per interval.
        let due = last_attempt.is_none_or(|at| since(inner.clock.now(), at) >= inner.options.refetch_interval);
        if !due {
            return Err(LookupError::Unknown);
        }
        event!(
            debug,
            KEYS,
            kid = kid.map(crate::telemetry::shown),
            "unknown kid; fetching the JWK Set again"
        );
        // A failed refetch leaves the set as it was: the token's key is still unknown.
        let _ = inner.fetch_once(attempts).await;
        let keys = Arc::clone(&inner.state().keys);
        match select(&keys, kid) {
            Some(index) => Ok((keys, index)),
            None => Err(LookupError::Unknown),
        }
    }

    /// Starts a refresh on the current tokio runtime, unless one is under way (or there is no
    /// runtime: the set is then fetched when it expires).
    fn refresh_in_background(&self, attempts: u64) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.inner.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::clone(&self.inner);
        runtime.spawn(async move {
            let _ = inner.fetch_once(attempts).await;
            inner.refreshing.store(false, Ordering::Release);
        });
    }
}

impl Inner {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is replaced whole under the lock; a panic elsewhere cannot leave it half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fetches the set unless another fetch was attempted since `seen` attempts (then that one's
    /// outcome is this one's): concurrent callers share one request to the issuer.
    async fn fetch_once(&self, seen: u64) -> Result<(), String> {
        let _fetching = self.fetching.lock().await;
        {
            let state = self.state();
            if state.attempts != seen {
                return match &state.last_error {
                    Some(error) => Err(error.clone()),
                    None => Ok(()),
                };
            }
        }
        let fetched = self.fetch().await;
        #[cfg(feature = "tracing")]
        match &fetched {
            Ok((keys, ttl)) => event!(info, KEYS,
                source = ?self.source,
                keys = keys.len(),
                fresh_for_seconds = ttl.as_secs(),
                "JWK Set fetched"
            ),
            Err(error) => event!(warn, KEYS, source = ?self.source, error = %error, "JWK Set fetch failed"),
        }
        let now = self.clock.now();
        let mut state = self.state();
        // Counted once the outcome is known: a caller that read the count while this fetch was
        // under way waits for it and takes its outcome, instead of fetching again.
        state.attempts += 1;
        state.last_attempt = Some(now);
        match fetched {
            Ok((keys, ttl)) => {
                state.keys = Arc::new(keys);
                state.fresh_until = Some(later(now, ttl));
                state.refresh_at = Some(later(now, ttl - ttl / 5));
                state.last_error = None;
                Ok(())
            }
            Err(error) => {
                state.last_error = Some(error.clone());
                Err(error)
            }
        }
    }

    /// One request for the set: its usable keys, and how long they are fresh.
    async fn fetch(&self) -> Result<(Vec<VerificationKey>, Duration), String> {
        let url = self.jwks_url().await?;
        let response = self.get(&url).await?;
        let ttl = self.ttl(response.headers());
        let body = self.read_body(response, &url).await?;
        let keys = usable_keys(&body, self.options.max_keys).map_err(|error| format!("{url}: {error}"))?;
        Ok((keys, ttl))
    }

    /// The key set URL: known at build, or read once from the discovery document.
    async fn jwks_url(&self) -> Result<Url, String> {
        if let Some(url) = self.url.lock().unwrap_or_else(PoisonError::into_inner).clone() {
            return Ok(url);
        }
        let JwksSource::Discovery(issuer) = &self.source else {
            return Err("no key set URL".to_owned());
        };
        let url = self.discover(issuer).await?;
        *self.url.lock().unwrap_or_else(PoisonError::into_inner) = Some(url.clone());
        Ok(url)
    }

    /// `jwks_uri` from the issuer's OpenID configuration, or its RFC 8414 metadata.
    async fn discover(&self, issuer: &str) -> Result<Url, String> {
        let issuer = issuer.trim_end_matches('/');
        let mut last = String::new();
        for document in ["openid-configuration", "oauth-authorization-server"] {
            let url = web_url(&format!("{issuer}/.well-known/{document}")).map_err(|error| error.to_string())?;
            let response = match self.get(&url).await {
                Ok(response) => response,
                Err(error) => {
                    last = error;
                    continue;
                }
            };
            let body = self.read_body(response, &url).await?;
            #[derive(serde::Deserialize)]
            struct Metadata {
                issuer: String,
                jwks_uri: String,
            }
            let metadata: Metadata =
                serde_json::from_slice(&body).map_err(|error| format!("{url}: not a discovery document: {error}"))?;
            if metadata.issuer.trim_end_matches('/') != issuer {
                return Err(format!("{url} names another issuer, `{}`", metadata.issuer));
            }
            let jwks = web_url(&metadata.jwks_uri).map_err(|error| format!("{url}: {error}"))?;
            if issuer.starts_with("https:") && jwks.scheme() != "https" {
                return Err(format!(
                    "{url}: the key set of an HTTPS issuer must be served over HTTPS"
                ));
            }
            return Ok(jwks);
        }
        Err(last)
    }

    /// `GET url`: a `200`, or an error that names the URL and what went wrong.
    async fn get(&self, url: &Url) -> Result<reqwest::Response, String> {
        let response = self
            .client
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| format!("{url}: {}", describe(error)))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(format!("{url} answered {status}"));
        }
        Ok(response)
    }

    /// The body, refused past `max_body` bytes before it is all read.
    async fn read_body(&self, response: reqwest::Response, url: &Url) -> Result<Vec<u8>, String> {
        read_limited(response, self.options.max_body, url.as_str()).await
    }

    /// How long an answer is fresh: its `max-age` within bounds, `no-store`/`no-cache` as the
    /// lower bound, the default without either.
    fn ttl(&self, headers: &http::HeaderMap) -> Duration {
        let options = &self.options;
        let mut ttl = None;
        for directive in headers
            .get_all(CACHE_CONTROL)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
        {
            let directive = directive.trim();
            if directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("no-cache") {
                ttl = Some(Duration::ZERO);
            } else if let Some((name, value)) = directive.split_once('=')
                && name.trim().eq_ignore_ascii_case("max-age")
                && ttl.is_none()
                && let Ok(seconds) = value.trim().trim_matches('"').parse::<u64>()
            {
                ttl = Some(Duration::from_secs(seconds));
            }
        }
        ttl.unwrap_or(options.default_ttl)
            .clamp(options.min_ttl, options.max_ttl)
    }
}

/// The signing keys of a JWK Set this crate can verify with; others are skipped.
fn usable_keys(body: &[u8], max_keys: usize) -> Result<Vec<VerificationKey>, String> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set = serde_json::from_slice(body).map_err(|error| format!("not a JWK Set: {error}"))?;
    if set.keys.len() > max_keys {
        return Err(format!("{} keys, more than the {max_keys} read", set.keys.len()));
    }
    let total = set.keys.len();
    let keys: Vec<VerificationKey> = set
        .keys
        .into_iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
        .filter_map(|jwk| VerificationKey::from_jwk(&jwk).ok())
        .collect();
    if keys.is_empty() {
        return Err(format!("none of its {total} keys is a usable signing key"));
    }
    Ok(keys)
}

/// How long ago `at` was; zero if the clock went back.
fn since(now: SystemTime, at: SystemTime) -> Duration {
    now.duration_since(at).unwrap_or_default()
}

/// `after` past `at`, or `at` itself where that cannot be told (a clock near the end of time).
fn later(at: SystemTime, after: Duration) -> SystemTime {
    at.checked_add(after).unwrap_or(at)
}
