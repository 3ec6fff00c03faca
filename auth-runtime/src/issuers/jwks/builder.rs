//! Configuring a [`RemoteJwks`]: where the key set is (an issuer, a URL, discovery), and the
//! bounds on its freshness, size and fetches.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

use url::Url;

use super::{Inner, RemoteJwks, State};
use crate::clock::Clock;
use crate::http_client::{client, without_credentials};

/// Where the key set is, as given to [`RemoteJwks::builder`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksSource {
    /// `<issuer>/.well-known/jwks.json` (OpenAuth publishes its keys there).
    Issuer(String),
    /// This URL.
    Url(String),
    /// The `jwks_uri` of `<issuer>/.well-known/openid-configuration`, or of
    /// `<issuer>/.well-known/oauth-authorization-server` when there is none.
    Discovery(String),
}

/// Why a [`RemoteJwks`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksConfigError {
    /// The issuer or key set URL is not an absolute `http(s)` URL without query, fragment or
    /// credentials (a `user:password@` would be sent to the issuer and end up in error messages
    /// and logs).
    #[error("`{0}` must be an absolute http(s) URL without query, fragment or user:password")]
    Url(String),
    /// The HTTP client could not be built (its TLS setup failed).
    #[error("the HTTP client could not be built: {0}")]
    Client(#[source] reqwest::Error),
}

/// The old name of [`JwksConfigError`], a build error named like the other `*ConfigError`s now.
#[deprecated(since = "0.3.0", note = "renamed `JwksConfigError`")]
pub type JwksError = JwksConfigError;

/// Configures a [`RemoteJwks`].
#[derive(Debug)]
pub struct RemoteJwksBuilder {
    source: JwksSource,
    options: Options,
    clock: Clock,
}

#[derive(Debug, Clone)]
pub(super) struct Options {
    pub(super) default_ttl: Duration,
    pub(super) min_ttl: Duration,
    pub(super) max_ttl: Duration,
    pub(super) refetch_interval: Duration,
    pub(super) max_stale: Duration,
    pub(super) timeout: Duration,
    pub(super) max_body: usize,
    pub(super) max_keys: usize,
}

impl RemoteJwks {
    /// The keys at `<issuer>/.well-known/jwks.json`, with the default bounds.
    pub fn issuer(issuer: &str) -> Result<RemoteJwks, JwksConfigError> {
        RemoteJwks::builder(JwksSource::Issuer(issuer.to_owned())).build()
    }

    /// The keys at `url`, with the default bounds.
    pub fn url(url: &str) -> Result<RemoteJwks, JwksConfigError> {
        RemoteJwks::builder(JwksSource::Url(url.to_owned())).build()
    }

    /// The keys the issuer's discovery document points to, with the default bounds.
    pub fn discover(issuer: &str) -> Result<RemoteJwks, JwksConfigError> {
        RemoteJwks::builder(JwksSource::Discovery(issuer.to_owned())).build()
    }

    /// Starts a key set at `source`, to set bounds other than the defaults.
    pub fn builder(source: JwksSource) -> RemoteJwksBuilder {
        RemoteJwksBuilder {
            source,
            options: Options {
                default_ttl: Duration::from_secs(5 * 60),
                min_ttl: Duration::from_secs(30),
                max_ttl: Duration::from_secs(24 * 60 * 60),
                refetch_interval: Duration::from_secs(30),
                max_stale: Duration::from_secs(60 * 60),
                timeout: Duration::from_secs(5),
                max_body: 256 * 1024,
                max_keys: 64,
            },
            clock: Clock::system(),
        }
    }
}

impl RemoteJwksBuilder {
    /// How long a set without `Cache-Control: max-age` is fresh; 5 minutes by default.
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.options.default_ttl = ttl;
        self
    }

    /// The bounds a `max-age` is kept within; 30 s and 1 day by default.
    pub fn ttl_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.options.min_ttl = min;
        self.options.max_ttl = max.max(min);
        self
    }

    /// The least time between two fetches caused by unknown `kid`s; 30 s by default.
    pub fn refetch_interval(mut self, interval: Duration) -> Self {
        self.options.refetch_interval = interval;
        self
    }

    /// How long past its expiry the last good set keeps serving while the issuer cannot be
    /// reached; 1 hour by default. After that, lookups fail closed.
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.options.max_stale = max_stale;
        self
    }

    /// The time one fetch may take, connection included; 5 s by default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// Replaces the system clock that freshness, staleness and the refetch interval are measured
    /// on (for tests: a clock they move instead of sleeping).
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Clock::custom(clock);
        self
    }

    /// The largest answer read; 256 KiB by default.
    pub fn max_body(mut self, max_body: usize) -> Self {
        self.options.max_body = max_body;
        self
    }

    /// Builds the key set; nothing is fetched until a token needs a key. Durations over a year
    /// count as a year.
    pub fn build(mut self) -> Result<RemoteJwks, JwksConfigError> {
        // Bounded so that no time arithmetic on them can overflow.
        const YEAR: Duration = Duration::from_secs(365 * 24 * 60 * 60);
        let options = &mut self.options;
        for duration in [
            &mut options.default_ttl,
            &mut options.min_ttl,
            &mut options.max_ttl,
            &mut options.refetch_interval,
            &mut options.max_stale,
            &mut options.timeout,
        ] {
            *duration = (*duration).min(YEAR);
        }
        let url = match &self.source {
            JwksSource::Issuer(issuer) => {
                let issuer = web_url(issuer)?;
                let jwks = format!("{}/.well-known/jwks.json", issuer.as_str().trim_end_matches('/'));
                Some(web_url(&jwks)?)
            }
            JwksSource::Url(url) => Some(web_url(url)?),
            JwksSource::Discovery(issuer) => {
                web_url(issuer)?;
                None
            }
        };
        let client = client(self.options.timeout).map_err(JwksConfigError::Client)?;
        Ok(RemoteJwks {
            inner: Arc::new(Inner {
                source: self.source,
                options: self.options,
                client,
                url: Mutex::new(url),
                state: Mutex::new(State::default()),
                fetching: tokio::sync::Mutex::new(()),
                refreshing: AtomicBool::new(false),
                clock: self.clock,
            }),
        })
    }
}

/// `text` as an absolute `http(s)` URL without query, fragment or credentials. The error does
/// not repeat a URL that carries credentials.
pub(super) fn web_url(text: &str) -> Result<Url, JwksConfigError> {
    let url = Url::parse(text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .ok_or_else(|| JwksConfigError::Url(text.to_owned()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(JwksConfigError::Url(without_credentials(&url)));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(JwksConfigError::Url(text.to_owned()));
    }
    Ok(url)
}
