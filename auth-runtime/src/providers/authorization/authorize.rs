//! `GET {prefix}/authorize`: the client and its redirect URI checked first (an error before that
//! is a page), then the rest of the request (an error after that goes back to the redirect URI),
//! then the request kept and the provider started or the picker shown.

use axum::extract::Request;
use http::header::{HeaderValue, SET_COOKIE};

use super::super::error::{FlowError, FlowResponse};
use super::{
    AUTHORIZATION_LIFETIME, AllowRequest, AuthorizationServer, MAX_STATE_LEN, Pending, PickerPage, REQUEST_PREFIX,
};
use crate::rate_limit::{Client, count};
use crate::redirect::found;
use crate::sessions::IssueError;
use crate::telemetry::event;

/// The provider name `on_error` gets for a refused authorization request.
pub(crate) const AUTHORIZE: &str = "authorize";

/// Why an authorization request cannot go on, once its redirect URI is known good: an RFC 6749
/// section 4.1.2.1 error for the client.
struct Refusal {
    code: &'static str,
    description: &'static str,
}

/// An authorization request's query parameters.
struct Query(Vec<(String, String)>);

impl Query {
    /// The value of `name`: `None` when absent, an error when given more than once.
    fn one(&self, name: &str) -> Result<Option<&str>, FlowError> {
        let mut values = self.0.iter().filter(|(key, _)| key == name);
        match (values.next(), values.next()) {
            (None, _) => Ok(None),
            (Some((_, value)), None) => Ok(Some(value.as_str())),
            (Some(_), Some(_)) => Err(FlowError::DuplicateParameter(name.to_owned())),
        }
    }
}

const fn refusal(code: &'static str, description: &'static str) -> Refusal {
    Refusal { code, description }
}

impl AuthorizationServer {
    /// Serves `GET {prefix}/authorize`.
    pub(crate) async fn authorize(&self, request: Request) -> FlowResponse {
        let (parts, _) = request.into_parts();
        let query = Query(
            parts
                .uri
                .query()
                .map(|query| url::form_urlencoded::parse(query.as_bytes()).into_owned().collect())
                .unwrap_or_default(),
        );
        let one = |name: &str| query.one(name);
        // The client and its redirect URI: until both are known good, errors are pages.
        let checked = (|| {
            let client_id = one("client_id")?.ok_or(FlowError::MissingParameter("client_id"))?;
            let client = self.registry.get(client_id).ok_or(FlowError::UnknownClient)?;
            let redirect_uri = one("redirect_uri")?.ok_or(FlowError::MissingParameter("redirect_uri"))?;
            if !client.accepts_redirect(redirect_uri) {
                return Err(FlowError::RedirectUriMismatch);
            }
            Ok((client, redirect_uri))
        })();
        let (client, redirect_uri) = match checked {
            Ok(checked) => checked,
            Err(error) => return self.refused_page(error),
        };
        // From here on the client hears of errors, with its `state` as it came (when it came once).
        let state = one("state").ok().flatten();
        let send_back = |refused: Refusal| self.error_redirect(redirect_uri, state, refused);
        let provider = match self.check_request(&query) {
            Ok(provider) => provider,
            Err(refused) => return send_back(refused),
        };
        if state.is_some_and(|state| state.len() > MAX_STATE_LEN) {
            return send_back(refusal("invalid_request", "state is longer than 1024 bytes"));
        }
        let Ok(Some(challenge)) = one("code_challenge") else {
            return send_back(refusal(
                "invalid_request",
                "PKCE is required: send code_challenge with S256",
            ));
        };
        let is_s256 = challenge.len() == 43
            && challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !is_s256 {
            return send_back(refusal(
                "invalid_request",
                "code_challenge must be a base64url SHA-256 (43 characters)",
            ));
        }
        if let Some(allow) = &self.allow {
            let asked = AllowRequest {
                client: client.clone(),
                redirect_uri: redirect_uri.to_owned(),
                provider: provider.clone(),
                headers: parts.headers.clone(),
            };
            if !allow(asked).await {
                event!(
                    info,
                    SIGN_IN,
                    client_id = client.id(),
                    "authorization refused by the allow hook"
                );
                return send_back(refusal("unauthorized_client", "this client may not sign in here"));
            }
        }
        match self.count(&parts).await {
            Ok(()) => {}
            Err(FlowError::RateLimited { .. }) => {
                return send_back(refusal(
                    "temporarily_unavailable",
                    "too many sign-in requests; try again later",
                ));
            }
            Err(error) => return self.refused_page(error),
        }
        let pending = Pending {
            client_id: client.id().to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            state: state.map(str::to_owned),
            challenge: challenge.to_owned(),
        };
        match self.start(pending, provider).await {
            Ok(response) => {
                event!(debug, SIGN_IN, client_id = client.id(), "authorization started");
                response
            }
            Err(error) => self.refused_page(error),
        }
    }

    /// The rest of the request, once the redirect URI is known good: the response type, PKCE's
    /// method and the provider. Returns the provider asked for.
    fn check_request(&self, query: &Query) -> Result<Option<String>, Refusal> {
        let one = |name: &str| query.one(name);
        let duplicate = |_| refusal("invalid_request", "a parameter was given more than once");
        match one("response_type").map_err(duplicate)? {
            Some("code") => {}
            None => return Err(refusal("invalid_request", "response_type is required")),
            // OAuth 2.1 has no implicit grant: tokens never travel in a redirect.
            Some(_) => {
                return Err(refusal(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                ));
            }
        }
        match one("code_challenge_method").map_err(duplicate)? {
            Some("S256") => {}
            Some("plain") => {
                return Err(refusal(
                    "invalid_request",
                    "code_challenge_method plain is not accepted; use S256",
                ));
            }
            _ => {
                return Err(refusal(
                    "invalid_request",
                    "PKCE is required: send code_challenge_method=S256",
                ));
            }
        }
        let provider = one("provider").map_err(duplicate)?;
        if let Some(provider) = provider
            && !self.choices.iter().any(|choice| choice.name == provider)
        {
            return Err(refusal("invalid_request", "no such provider"));
        }
        for name in ["code_challenge", "state", "scope", "client_id", "redirect_uri"] {
            one(name).map_err(duplicate)?;
        }
        Ok(provider.map(str::to_owned))
    }

    /// Counts the request against the per-client limit of authorize requests: each one keeps a
    /// record in the store.
    async fn count(&self, parts: &http::request::Parts) -> Result<(), FlowError> {
        let client = self.limits.client_address.client_of(&parts.headers, &parts.extensions);
        let now = self.now()?;
        match client {
            Client::Known(address) => {
                match count(
                    &*self.store,
                    self.limits.requests_per_client,
                    "authorize-client",
                    &address,
                    now,
                )
                .await?
                {
                    Some(retry_after) => Err(FlowError::RateLimited { retry_after }),
                    None => Ok(()),
                }
            }
            Client::Unlimited => Ok(()),
            Client::Unknown => Err(FlowError::ClientAddressUnknown),
        }
    }

    /// Seconds since the Unix epoch, by the clock of the sessions the server issues.
    pub(super) fn now(&self) -> Result<u64, FlowError> {
        Ok(self.refresher.now()?)
    }

    /// Keeps `pending` and answers: the named identity provider's first step, or the picker.
    async fn start(&self, pending: Pending, provider: Option<String>) -> Result<FlowResponse, FlowError> {
        let id = super::random_id()?;
        let record = serde_json::to_vec(&pending).map_err(FlowError::other)?;
        self.store
            .put(&format!("{REQUEST_PREFIX}{id}"), record, AUTHORIZATION_LIFETIME)
            .await?;
        let chosen: Vec<_> = self
            .choices
            .iter()
            .filter(|choice| provider.as_ref().is_none_or(|name| *name == choice.name))
            .cloned()
            .collect();
        let page = PickerPage {
            choices: chosen,
            client_id: pending.client_id,
            authorization: id.clone(),
        };
        let mut response = match page.choices.as_slice() {
            // One identity provider: straight to it, as OpenAuth does.
            [only] if only.field.is_none() => found(&page.link(only), None).map_err(IssueError::from)?,
            _ => (self.picker)(&page),
        };
        let cookie = self
            .cookie
            .set_cookie_header(&id, Some(AUTHORIZATION_LIFETIME.as_secs()))
            .map_err(IssueError::from)?;
        response
            .headers_mut()
            .append(SET_COOKIE, HeaderValue::from_str(&cookie).map_err(IssueError::from)?);
        Ok(response)
    }

    /// The page for an authorization request whose client or redirect URI is not good: never a
    /// redirect, since the redirect URI is not one we can trust.
    fn refused_page(&self, error: FlowError) -> FlowResponse {
        event!(info, SIGN_IN, error = error.kind(), "authorization request refused");
        (self.on_error)(AUTHORIZE, error)
    }

    /// The redirect that tells the client why: `error`, `error_description`, `state` and `iss`.
    fn error_redirect(&self, redirect_uri: &str, state: Option<&str>, refused: Refusal) -> FlowResponse {
        event!(info, SIGN_IN, error = refused.code, "authorization request refused");
        let mut parameters = vec![("error", refused.code), ("error_description", refused.description)];
        if let Some(state) = state {
            parameters.push(("state", state));
        }
        parameters.push(("iss", &self.issuer));
        let location = Self::redirect_with(redirect_uri, &parameters);
        match location.map(|location| found(location.as_str(), None)) {
            Some(Ok(response)) => response,
            _ => self.refused_page(FlowError::RedirectUriMismatch),
        }
    }
}
