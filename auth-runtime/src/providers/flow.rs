//! One step of a flow as a provider sees it ([`FlowRequest`]): the request's parameters, the
//! flow cookie that ties the steps of one browser together, the store, and the handler's own
//! short-lived flow tokens (magic links).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use http::header::{HeaderValue, ORIGIN, SET_COOKIE};
use http::{HeaderMap, Method, Uri};
use url::Url;

use super::authorization::complete::Start;
use super::authorization::{AUTHORIZATION_PARAMETER, AuthorizationServer};
use super::error::{FlowError, FlowResponse, MAX_BODY, MAX_CLAIMS_LEN};
use super::form_fields::{is_form, take_landing_binding, take_one};
use super::limits::{RateLimits, normalized_identity};
use crate::cookie::CookieOptions;
use crate::landing::nonce::{LANDING_NONCE_PARAMETER, binding_of, is_binding};
use crate::random::{is_id, random_id};
use crate::rate_limit::{Client, RateLimit, count};
use crate::sessions::{IssueError, IssueOptions, IssuedToken, Sessions};
use crate::store::contract::Store;
use crate::token::claims::VerifiedToken;
use crate::token::error::TokenError;

/// What a person typed into a sign-in form or put in the authorize URL (`email=...`): every
/// query and form parameter of the authorize request, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct UserClaims(pub BTreeMap<String, String>);

impl UserClaims {
    /// The claim called `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Whether there are no claims.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The longest a flow token (a magic link) may live, whatever a provider asks for.
pub(crate) const MAX_FLOW_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The `typ` of the handler's own tokens (magic links): never a session's.
pub(crate) const FLOW_TOKEN_TYPE: &str = "auth-flow+jwt";

/// The handler's flow token: the claims, for one provider (its audience).
#[derive(crate::SessionTypes)]
#[session(crate = "crate")]
pub(crate) enum FlowToken {
    Link {
        claims: BTreeMap<String, String>,
        /// The SHA-256 (base64url) of the nonce in the flow cookie of the browser that asked for
        /// the link; `None` on links signed before links were bound to a browser.
        browser: Option<String>,
    },
}

/// One request to a provider step, with what the step may use: its parameters, the flow
/// cookie, the store, and the provider's callback URL.
pub struct FlowRequest {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    params: Vec<(String, String)>,
    mount: Arc<Mount>,
    store: Arc<dyn Store>,
    limits: Arc<RateLimits>,
    /// The client, as the limits are configured to read its address.
    client: Client,
    /// The request's `landing_nonce` (kept out of the parameters and claims), or the mark of a
    /// malformed one, refused by [`check_parameters`](Self::check_parameters) once the request is
    /// known to come from this site.
    landing: Result<Option<String>, ()>,
    /// The request's `authorization` parameter, when the handler is an authorization server
    /// (then kept out of the parameters and claims), or the mark of one given twice.
    authorization: Result<Option<String>, ()>,
}

impl fmt::Debug for FlowRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowRequest")
            .field("method", &self.method)
            // The path only: the query can hold a link's token or an identity provider's code.
            .field("path", &self.uri.path())
            .field("provider", &self.mount.name)
            .finish_non_exhaustive()
    }
}

impl FlowRequest {
    /// The request method (`GET` or `POST`).
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The query parameters, then the form fields of a `POST`.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The one parameter called `name`; `None` if it is missing or given more than once, so a
    /// second `state=` or `code=` can never be the one that counts.
    pub fn param(&self, name: &str) -> Option<&str> {
        let mut values = self.params.iter().filter(|(key, _)| key == name);
        match (values.next(), values.next()) {
            (Some((_, value)), None) => Some(value),
            _ => None,
        }
    }

    /// Refuses a request that gives any parameter more than once
    /// ([`FlowError::DuplicateParameter`], with the name cut to 64 characters).
    pub(crate) fn check_single_values(&self) -> Result<(), FlowError> {
        let mut seen = std::collections::BTreeSet::new();
        for (name, _) in &self.params {
            if !seen.insert(name.as_str()) {
                return Err(FlowError::DuplicateParameter(name.chars().take(64).collect()));
            }
        }
        Ok(())
    }

    /// Every parameter as claims (names given more than once keep their first value; the
    /// authorize step refuses them before a provider sees the request).
    pub fn claims(&self) -> UserClaims {
        let mut claims = BTreeMap::new();
        for (name, value) in &self.params {
            claims.entry(name.clone()).or_insert_with(|| value.clone());
        }
        UserClaims(claims)
    }

    /// [`claims`](Self::claims), refusing a request without any ([`FlowError::NoClaims`]) or with
    /// more than [`MAX_CLAIMS_LEN`] bytes of them ([`FlowError::ClaimsTooLarge`]): they end up in
    /// a link, a store record and an email.
    pub fn required_claims(&self) -> Result<UserClaims, FlowError> {
        let claims = self.claims();
        if claims.is_empty() {
            return Err(FlowError::NoClaims);
        }
        let len: usize = claims.0.iter().map(|(name, value)| name.len() + value.len()).sum();
        if len > MAX_CLAIMS_LEN {
            return Err(FlowError::ClaimsTooLarge);
        }
        Ok(claims)
    }

    /// The provider's name, as mounted.
    pub fn provider(&self) -> &str {
        &self.mount.name
    }

    /// The absolute URL of this provider's callback step, from the configured base URL.
    pub fn callback_url(&self) -> &Url {
        &self.mount.callback
    }

    /// The store the handler was built with.
    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// Refuses a `POST` that a browser sent from another site: a `Sec-Fetch-Site` that is not
    /// `same-origin`, or an `Origin` that is not this service's (the base URL's). Every value of
    /// either header must say so (no browser sends two, and one good value must not hide a bad
    /// one). A request with neither header is not from a browser (every current browser sends
    /// `Origin` on a `POST`) and goes on. Steps that change state on a `POST` (redeeming a link,
    /// submitting a code, asking for one) are then always the person's own doing on this site.
    pub(crate) fn check_same_origin(&self) -> Result<(), FlowError> {
        let ours = self.mount.callback.origin().ascii_serialization();
        let same_site = self
            .headers
            .get_all("sec-fetch-site")
            .iter()
            .all(|site| site.as_bytes() == b"same-origin");
        let same_origin = self
            .headers
            .get_all(ORIGIN)
            .iter()
            .all(|origin| origin.as_bytes() == ours.as_bytes());
        if same_site && same_origin {
            Ok(())
        } else {
            Err(FlowError::CrossSite)
        }
    }

    /// Whether the request carries exactly one `Origin`, and it is `origin`.
    pub(crate) fn is_from_origin(&self, origin: &str) -> bool {
        let mut origins = self.headers.get_all(ORIGIN).iter();
        matches!((origins.next(), origins.next()), (Some(sent), None) if sent.as_bytes() == origin.as_bytes())
    }

    /// The store key of a security record of this provider (`{kind}:{provider}:{id}`, where
    /// `kind` is one of [`SECURITY_KEY_PREFIXES`](crate::store::SECURITY_KEY_PREFIXES)).
    pub(crate) fn security_key(&self, kind: &str, id: &str) -> String {
        format!("{kind}:{}:{id}", self.mount.name)
    }

    /// Counts an authorize request against the per-client and per-identity limits. A client
    /// whose address cannot be told is refused: the per-client limit never lapses silently.
    pub(crate) async fn count_authorize(&self) -> Result<(), FlowError> {
        self.count_client().await?;
        self.count_identity_request().await
    }

    /// Counts a request that sends a message to the identity its parameters name against the
    /// per-identity limit.
    pub(crate) async fn count_identity_request(&self) -> Result<(), FlowError> {
        if let Some(identity) = self.param(&self.limits.identity_claim) {
            let now = self.now()?;
            let identity = normalized_identity(identity);
            self.count(self.limits.requests_per_identity, "authorize-identity", &identity, now)
                .await?;
        }
        Ok(())
    }

    /// Counts a request against the per-client limit only (a password tried, which sends
    /// nothing). A client whose address cannot be told is refused.
    pub(crate) async fn count_client(&self) -> Result<(), FlowError> {
        match &self.client {
            Client::Known(client) => {
                let now = self.now()?;
                self.count(self.limits.requests_per_client, "authorize-client", client, now)
                    .await
            }
            Client::Unlimited => Ok(()),
            Client::Unknown => Err(FlowError::ClientAddressUnknown),
        }
    }

    /// Counts one event of `kind` for `identity` (normalized) against `limit`.
    #[cfg(feature = "password")]
    pub(crate) async fn count_identity(&self, limit: RateLimit, kind: &str, identity: &str) -> Result<(), FlowError> {
        let now = self.now()?;
        self.count(limit, kind, &normalized_identity(identity), now).await
    }

    /// Counts a code submission for the identity in `claims` against the per-identity limit,
    /// across every flow of every provider.
    pub(crate) async fn count_code_try(&self, claims: &UserClaims) -> Result<(), FlowError> {
        match claims.get(&self.limits.identity_claim) {
            Some(identity) => self.count_code_try_of(identity).await,
            None => Ok(()),
        }
    }

    /// Counts a code submission for `identity` against the per-identity limit.
    pub(crate) async fn count_code_try_of(&self, identity: &str) -> Result<(), FlowError> {
        let now = self.now()?;
        let identity = normalized_identity(identity);
        self.count(self.limits.code_tries_per_identity, "code-try", &identity, now)
            .await
    }

    /// One event of `kind` for `subject` against `limit`: [`FlowError::RateLimited`] past it.
    async fn count(&self, limit: RateLimit, kind: &str, subject: &str, now: u64) -> Result<(), FlowError> {
        match count(&*self.store, limit, kind, subject, now).await? {
            Some(retry_after) => Err(FlowError::RateLimited { retry_after }),
            None => Ok(()),
        }
    }

    /// A store key private to this provider: `{provider}:{kind}:{id}`.
    pub fn store_key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.mount.name)
    }

    /// The value of this browser's flow cookie, if it sent exactly one and it looks like an id
    /// this handler hands out (1 to 128 base64url characters): it becomes part of a store key.
    pub fn flow_state(&self) -> Option<String> {
        self.mount
            .flow_cookie
            .find_one(&self.headers, |value| is_id(value, 1..=128))
    }

    /// Sets the flow cookie (`HttpOnly`, scoped to this provider's path) on `response`.
    pub fn set_flow_state(&self, response: &mut FlowResponse, value: &str, ttl: Duration) -> Result<(), FlowError> {
        let header = self
            .mount
            .flow_cookie
            .set_cookie_header(value, Some(ttl.as_secs().max(1)))
            .map_err(IssueError::from)?;
        response
            .headers_mut()
            .append(SET_COOKIE, HeaderValue::from_str(&header).map_err(IssueError::from)?);
        Ok(())
    }

    /// Deletes the flow cookie on `response`.
    pub fn clear_flow_state(&self, response: &mut FlowResponse) {
        if let Ok(header) = HeaderValue::from_str(&self.mount.flow_cookie.clear_cookie_header()) {
            response.headers_mut().append(SET_COOKIE, header);
        }
    }

    /// Seconds since the Unix epoch, by the sessions' clock.
    pub fn now(&self) -> Result<u64, FlowError> {
        Ok(self.mount.tokens.now()?)
    }

    /// Signs a flow token carrying `claims` for this provider (a magic link's), living `ttl`,
    /// bound to the browser whose flow cookie holds `nonce`.
    pub(crate) fn sign_flow_token(
        &self,
        claims: &UserClaims,
        ttl: Duration,
        nonce: &str,
    ) -> Result<IssuedToken, FlowError> {
        let token = FlowToken::Link {
            claims: claims.0.clone(),
            browser: Some(binding_of(nonce)),
        };
        let options = IssueOptions {
            lifetime: Some(ttl),
            ..IssueOptions::default()
        };
        Ok(self.mount.tokens.issue(&token, &options)?)
    }

    /// The clock leeway flow tokens are verified with.
    pub(crate) fn flow_token_leeway(&self) -> Duration {
        self.mount.tokens.leeway()
    }

    /// Verifies a flow token this provider signed.
    pub(crate) fn verify_flow_token(&self, token: &str) -> Result<VerifiedToken<FlowToken>, TokenError> {
        self.mount.tokens.verify(token)
    }

    /// Reads one step's request: the query parameters, then the form fields of a `POST`.
    pub(crate) async fn read(
        mount: &Arc<Mount>,
        store: &Arc<dyn Store>,
        limits: &Arc<RateLimits>,
        request: Request,
    ) -> Result<Self, FlowError> {
        let (parts, body) = request.into_parts();
        let client = limits.client_address.client_of(&parts.headers, &parts.extensions);
        let mut params: Vec<(String, String)> = parts
            .uri
            .query()
            .map(|query| url::form_urlencoded::parse(query.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        if parts.method == Method::POST && is_form(&parts.headers) {
            let body = axum::body::to_bytes(body, MAX_BODY)
                .await
                .map_err(|_| FlowError::Body)?;
            params.extend(url::form_urlencoded::parse(&body).into_owned());
        }
        let landing = take_landing_binding(&mut params);
        // Only an authorization server reads it; elsewhere it stays an ordinary parameter.
        let authorization = if mount.authorization.is_some() {
            take_one(&mut params, AUTHORIZATION_PARAMETER)
        } else {
            Ok(None)
        };
        Ok(FlowRequest {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            params,
            mount: Arc::clone(mount),
            store: Arc::clone(store),
            limits: Arc::clone(limits),
            client,
            landing,
            authorization,
        })
    }

    /// Sets the handler's landing cookie on `response` when this request carried a
    /// `landing_nonce`: the flow's `on_success` will bind its token to it.
    pub(crate) fn remember_landing_binding(&self, response: &mut FlowResponse) -> Result<(), FlowError> {
        let Ok(Some(binding)) = &self.landing else {
            return Ok(());
        };
        let header = self
            .mount
            .landing_cookie
            .set_cookie_header(binding, Some(MAX_FLOW_LIFETIME.as_secs()))
            .map_err(IssueError::from)?;
        response
            .headers_mut()
            .append(SET_COOKIE, HeaderValue::from_str(&header).map_err(IssueError::from)?);
        Ok(())
    }

    /// Refuses a request whose parameters the handler reads itself are malformed (a
    /// `landing_nonce` that is not a SHA-256 in base64url, or one given twice). Checked after the
    /// same-origin check: another site's request is refused as such, whatever it carries.
    pub(crate) fn check_parameters(&self) -> Result<(), FlowError> {
        match self.landing {
            Ok(_) => Ok(()),
            Err(()) => Err(FlowError::InvalidParameter(LANDING_NONCE_PARAMETER)),
        }
    }

    /// What this first step is for, when the handler is an authorization server: the
    /// authorization this browser has in progress (the request carries its id), or a sign-in of
    /// the app's own. An `authorization` parameter given twice, or not this browser's, is refused.
    pub(crate) fn authorization_start(&self) -> Result<Option<(&AuthorizationServer, Start)>, FlowError> {
        let parameter = self
            .authorization
            .as_ref()
            .map_err(|()| FlowError::InvalidParameter(AUTHORIZATION_PARAMETER))?;
        let Some(server) = &self.mount.authorization else {
            return Ok(None);
        };
        Ok(Some((server, server.start_of(parameter.as_deref(), &self.headers)?)))
    }

    /// Ends a successful flow's answer: a code for the client when this browser has an
    /// authorization in progress, `response` as it is otherwise.
    pub(crate) async fn complete_authorization(&self, response: FlowResponse) -> Result<FlowResponse, FlowError> {
        match &self.mount.authorization {
            Some(server) => server.complete(&self.headers, response).await,
            None => Ok(response),
        }
    }

    /// The landing binding this browser's sign-in started with (the handler's landing cookie),
    /// if it sent exactly one well-formed value.
    pub(crate) fn landing_binding(&self) -> Option<String> {
        self.mount.landing_cookie.find_one(&self.headers, is_binding)
    }

    /// Deletes the handler's landing cookie on `response`: the flow it was for has ended.
    pub(crate) fn clear_landing_binding(&self, response: &mut FlowResponse) {
        if let Ok(header) = HeaderValue::from_str(&self.mount.landing_cookie.clear_cookie_header()) {
            response.headers_mut().append(SET_COOKIE, header);
        }
    }
}

/// What the handler knows about one mounted provider.
pub(crate) struct Mount {
    pub(crate) name: String,
    pub(crate) authorize: Url,
    pub(crate) callback: Url,
    pub(crate) flow_cookie: CookieOptions,
    /// The handler's landing cookie: the `landing_nonce` a sign-in started with, scoped to the
    /// handler's prefix (every provider's steps see it).
    pub(crate) landing_cookie: CookieOptions,
    /// Flow tokens bound to this provider: their audience is its callback URL.
    pub(crate) tokens: Sessions<FlowToken>,
    /// The handler's authorization server, when clients are registered.
    pub(crate) authorization: Option<Arc<AuthorizationServer>>,
}

/// A flow's lifetime, between 1 second and [`MAX_FLOW_LIFETIME`].
pub(crate) fn clamp_ttl(ttl: Duration) -> Duration {
    ttl.clamp(Duration::from_secs(1), MAX_FLOW_LIFETIME)
}

/// 32 random bytes, base64url: flow identifiers nobody can guess.
pub(crate) fn flow_id() -> Result<String, FlowError> {
    random_id::<32>().map_err(|error| FlowError::Issue(IssueError::Random(error)))
}
