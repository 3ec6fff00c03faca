//! A provider's flow for an authorization in progress: which flows are for it (the first step
//! carries the id this browser's cookie holds), and the code that ends it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use http::header::{HeaderValue, SET_COOKIE};
use sha2::{Digest, Sha256};

use super::super::error::{FlowError, FlowResponse};
use super::{AuthorizationServer, CODE_LIFETIME, CODE_PREFIX, IssuedCode, Pending, REQUEST_PREFIX};
use crate::random::is_id;
use crate::redirect::found;
use crate::sessions::{IssueError, SignedIn};
use crate::telemetry::event;

/// What a provider's first step is for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// The authorization this browser has in progress: the flow ends in a code for its client.
    Authorization,
    /// A sign-in of the app's own; an authorization this browser had in progress is abandoned
    /// (`clear`: its cookie is deleted), so it can never capture this sign-in.
    Own { clear: bool },
}

impl AuthorizationServer {
    /// The authorization id this browser's cookie holds, if it sent exactly one well-formed one.
    pub(crate) fn cookie_value(&self, headers: &HeaderMap) -> Option<String> {
        self.cookie.find_one(headers, |value| is_id(value, 43..=43))
    }

    /// What a provider's first step that carried `parameter` (its `authorization`, if any) is for.
    /// A parameter that is not this browser's authorization in progress is refused
    /// ([`FlowError::AuthorizationExpired`]): it expired, ended, or is another browser's.
    pub(crate) fn start_of(&self, parameter: Option<&str>, headers: &HeaderMap) -> Result<Start, FlowError> {
        match (parameter, self.cookie_value(headers)) {
            (Some(parameter), Some(cookie)) if parameter == cookie => Ok(Start::Authorization),
            (Some(_), _) => Err(FlowError::AuthorizationExpired),
            // Any authorization cookie goes, well-formed or not.
            (None, _) => Ok(Start::Own {
                clear: !self.cookie.find(headers).is_empty(),
            }),
        }
    }

    /// Deletes the authorization cookie on `response`.
    pub(crate) fn clear_cookie(&self, response: &mut FlowResponse) {
        if let Ok(header) = HeaderValue::from_str(&self.cookie.clear_cookie_header()) {
            response.headers_mut().append(SET_COOKIE, header);
        }
    }

    /// Ends a successful flow: when this browser has an authorization in progress, the session
    /// `on_success` signed in with (`response`) becomes a code, and the browser goes back to the
    /// client's redirect URI with it. Otherwise `response` is the answer, as it is.
    pub(crate) async fn complete(
        &self,
        headers: &HeaderMap,
        response: FlowResponse,
    ) -> Result<FlowResponse, FlowError> {
        let Some(id) = self.cookie_value(headers) else {
            return Ok(response);
        };
        let signed_in = response
            .extensions()
            .get::<SignedIn>()
            .cloned()
            .filter(|signed_in| self.refresher.accepts(&signed_in.value))
            .ok_or(FlowError::NoSessionForClient)?;
        // Single use: of two callbacks racing for one authorization, one gets it.
        let record = self
            .store
            .take(&format!("{REQUEST_PREFIX}{id}"))
            .await?
            .ok_or(FlowError::AuthorizationExpired)?;
        let pending: Pending = serde_json::from_slice(&record).map_err(|_| FlowError::AuthorizationExpired)?;
        let code = super::random_id()?;
        let issued = IssuedCode {
            expires_at: self.now()?.saturating_add(CODE_LIFETIME.as_secs()),
            client_id: pending.client_id,
            redirect_uri: pending.redirect_uri,
            challenge: pending.challenge,
            session: signed_in.value,
        };
        let record = serde_json::to_vec(&issued).map_err(FlowError::other)?;
        self.store.put(&code_key(&code), record, CODE_LIFETIME).await?;
        let mut parameters = vec![("code", code.as_str())];
        if let Some(state) = &pending.state {
            parameters.push(("state", state));
        }
        parameters.push(("iss", &self.issuer));
        let location = Self::redirect_with(&issued.redirect_uri, &parameters).ok_or(FlowError::AuthorizationExpired)?;
        let mut answer = found(location.as_str(), None).map_err(IssueError::from)?;
        self.clear_cookie(&mut answer);
        event!(
            info,
            SIGN_IN,
            client_id = issued.client_id.as_str(),
            "authorization code issued"
        );
        Ok(answer)
    }
}

/// The store key of a code: its SHA-256, so the store never holds a working code.
pub(super) fn code_key(code: &str) -> String {
    format!(
        "{CODE_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(Sha256::digest(code.as_bytes()))
    )
}
