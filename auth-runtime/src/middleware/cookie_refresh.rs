//! The session layer's transparent refresh: a browser whose access token has expired (or whose
//! session cookie is gone) but whose refresh cookie is there gets a new pair on that response,
//! and the request goes on with the new session. Concurrent requests carrying one refresh token
//! wait for one refresh and share its pair, the way the cache coalesces verifications.

use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderValue;
use http::{Extensions, HeaderMap};

use crate::refresh::{Presenter, RefreshCookie, RefreshError, Refresher, TokenPair, refresh_cookie, token_hash};

/// How long a refresh's pair answers requests that carried the same refresh token (the requests
/// a browser sent before it had the new cookies): this, or the reuse grace window if shorter, in
/// which the store would answer them with the same successor anyway.
const SHARED_FOR: Duration = Duration::from_secs(30);
/// At most this many refreshes are remembered for [`SHARED_FOR`].
const SHARED_CAPACITY: u64 = 10_000;

/// A layer's refresher, its coalescing, and the `Set-Cookie` that deletes the refresh cookie.
pub(crate) struct LayerRefresh {
    refresher: Arc<dyn Refresher>,
    shared: moka::future::Cache<String, TokenPair>,
    pub(super) clear_cookie: Option<HeaderValue>,
}

impl LayerRefresh {
    pub(super) fn new(refresher: Arc<dyn Refresher>) -> Self {
        let clear_cookie = HeaderValue::from_str(&refresher.cookie().clear_cookie_header()).ok();
        LayerRefresh {
            shared: moka::future::Cache::builder()
                .max_capacity(SHARED_CAPACITY)
                .time_to_live(SHARED_FOR.min(refresher.reuse_grace()).max(Duration::from_millis(1)))
                .build(),
            refresher,
            clear_cookie,
        }
    }

    /// What the request carries in the refresh cookie (several of one name count as none).
    pub(super) fn token(&self, headers: &HeaderMap) -> RefreshCookie {
        refresh_cookie(self.refresher.cookie(), headers)
    }

    /// The pair for `token`: one refresh however many requests ask at once (counted for the
    /// first request's client); a failure is never shared (the next request tries again).
    pub(super) async fn refresh(
        &self,
        token: &str,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Result<(TokenPair, [HeaderValue; 2]), Arc<RefreshError>> {
        let key = token_hash(token);
        let pair = self
            .shared
            .try_get_with(key, async {
                let client = self.refresher.client_of(headers, extensions);
                self.refresher.refresh(token, &client, Presenter::App).await
            })
            .await?;
        let cookies = self.refresher.set_cookies(&pair).map_err(Arc::new)?;
        Ok((pair, cookies))
    }
}
