//! The session layer's transparent refresh: a browser whose access token has expired (or whose
//! session cookie is gone) but whose refresh cookie is there gets a new pair on that response,
//! and the request goes on with the new session. Concurrent requests carrying one refresh token
//! wait for one refresh and share its pair, the way the cache coalesces verifications.

use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderValue;
use http::{Extensions, HeaderMap};

use http::header::RETRY_AFTER;
use http::{Method, Uri};

use super::invalid_token::refusal_event;
use super::layer::{ClearCookie, Decision, Shared};
use super::refusal::{Format, Refusal};
use crate::refresh::{RefreshCookie, RefreshError, Refresher, TokenPair, refresh_cookie, token_hash};
use crate::telemetry::event;
use crate::verifier::SessionVerifier;

/// How long a refresh's pair answers requests that carried the same refresh token (the requests
/// a browser sent before it had the new cookies): this, or the reuse grace window if shorter, in
/// which the store would answer them with the same successor anyway.
const SHARED_FOR: Duration = Duration::from_secs(30);
/// At most this many refreshes are remembered for [`SHARED_FOR`].
const SHARED_CAPACITY: u64 = 10_000;

/// A layer's refresher, its coalescing, and the `Set-Cookie` that deletes the refresh cookie.
pub(super) struct LayerRefresh {
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
                self.refresher.refresh(token, &client).await
            })
            .await?;
        let cookies = self.refresher.set_cookies(&pair).map_err(Arc::new)?;
        Ok((pair, cookies))
    }
}

impl<V: SessionVerifier> Shared<V> {
    /// The request's session from its refresh cookie, when the layer refreshes and the request
    /// carries one: `None` without it. A request that carries the cookie more than once (a
    /// sibling host can set one of the same name) is treated as carrying none of them: it goes
    /// on signed out and the cookies are cleared, never guessed between.
    pub(super) async fn refresh_from_cookie(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Option<Decision> {
        let refresh = self.refresh.as_ref()?;
        match refresh.token(headers) {
            RefreshCookie::Absent => None,
            RefreshCookie::Several => {
                event!(
                    info,
                    SESSION,
                    path = uri.path(),
                    "the refresh cookie was sent more than once; none is used, and they are cleared"
                );
                Some(Decision::Continue(None, ClearCookie::Yes))
            }
            RefreshCookie::One(token) => Some(self.refreshed(refresh, &token, method, uri, headers, extensions).await),
        }
    }

    /// The request's session from its refresh cookie: a new pair (shared with the requests that
    /// carry the same refresh token), verified like any token.
    async fn refreshed(
        &self,
        refresh: &LayerRefresh,
        refresh_token: &str,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Decision {
        let format = Format::of(headers);
        // The refresh cookie is a session cookie too: the same CSRF rule before it is used.
        if let Some(refused) = self.cross_site(method, uri, headers, format) {
            return refused;
        }
        let (pair, cookies) = match refresh.refresh(refresh_token, headers, extensions).await {
            Ok(refreshed) => refreshed,
            Err(error) => return self.refresh_refused(&error, uri, format),
        };
        let cookies = ClearCookie::Refreshed(Arc::new(cookies));
        let (verified, _outcome) = self.cache.verify_observed(&pair.access_token, headers).await;
        match verified {
            Ok(authenticated) => {
                event!(
                    debug,
                    SESSION,
                    subject = authenticated.subject.as_deref(),
                    "session refreshed"
                );
                Decision::Continue(Some(authenticated), cookies)
            }
            Err(error) => {
                refusal_event(&error, "refresh", &pair.access_token);
                match self.refused(&error, format) {
                    Decision::Respond(mut response) => {
                        self.set_cookies(response.headers_mut(), &cookies);
                        Decision::Respond(response)
                    }
                    Decision::Continue(session, _) => Decision::Continue(session, cookies),
                }
            }
        }
    }

    /// What a refresh that did not happen answers: a refresh token that is no longer good signs
    /// the request out and clears the cookies; a limit is `429` with `Retry-After`, and a store
    /// that could not answer `503`, both keeping the cookies; a client address that cannot be
    /// told (a configuration error, logged at ERROR where it is read) is `500`.
    fn refresh_refused(&self, error: &RefreshError, uri: &Uri, format: Format) -> Decision {
        let _ = uri;
        match error {
            RefreshError::RateLimited { retry_after } => {
                event!(
                    info,
                    SESSION,
                    path = uri.path(),
                    retry_after,
                    "refresh rate limited; cookies kept"
                );
                let mut response = Refusal::TooManyRequests.response("too many refreshes; try again later", format);
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(*retry_after));
                Decision::Respond(response)
            }
            RefreshError::ClientAddressUnknown => {
                Decision::Respond(Refusal::Misconfigured.response("the session could not be refreshed", format))
            }
            error if error.is_invalid_grant() => {
                event!(
                    debug,
                    SESSION,
                    reason = error.kind(),
                    path = uri.path(),
                    "refresh cookie refused"
                );
                Decision::Continue(None, ClearCookie::Yes)
            }
            _error => {
                event!(
                    warn,
                    SESSION,
                    reason = _error.kind(),
                    "session refresh failed; cookies kept"
                );
                Decision::Respond(
                    Refusal::Unavailable.response("the session could not be refreshed; try again", format),
                )
            }
        }
    }
}
