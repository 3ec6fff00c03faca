//! What the providers that send the person to an identity provider (OpenID Connect, plain
//! OAuth 2.0) do around it, written once: the authorization request's extra parameters, keeping
//! the flow's secrets under a random id only this browser's flow cookie holds, and taking them
//! back on the callback only when its `state` is this flow's.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::error::{FlowError, FlowResponse};
use super::flow::{FlowRequest, flow_id};
use crate::redirect::found;
use crate::sessions::IssueError;

/// The parameters an authorization request sets itself: a configured extra parameter by one of
/// these names is dropped, never sent in their place.
const RESERVED: [&str; 8] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
];

/// The configured extra parameters (`prompt`, `login_hint`, ...) that may be sent.
pub(crate) fn extra_params(params: &[(String, String)]) -> impl Iterator<Item = &(String, String)> {
    params.iter().filter(|(name, _)| !RESERVED.contains(&name.as_str()))
}

/// What a flow remembers between its steps: at least the `state` it sent.
pub(crate) trait Pending: Serialize + DeserializeOwned {
    /// The `state` the authorization request carried.
    fn state(&self) -> &str;
}

/// Keeps `pending` for `ttl` under a new flow id (store key `<provider>:<kind>:<id>`) and
/// answers the redirect to `url`, setting the flow cookie to the id.
pub(crate) async fn begin(
    request: &FlowRequest,
    kind: &str,
    pending: &impl Pending,
    url: &str,
    ttl: Duration,
) -> Result<FlowResponse, FlowError> {
    let flow = flow_id()?;
    let record = serde_json::to_vec(pending).map_err(FlowError::other)?;
    request
        .store()
        .put(&request.store_key(kind, &flow), record, ttl)
        .await?;
    let mut response: FlowResponse = found(url, None).map_err(IssueError::from)?;
    request.set_flow_state(&mut response, &flow, ttl)?;
    Ok(response)
}

/// The callback's first half: what this browser's flow remembered, when the answer's `state` is
/// the one it sent (compared in constant time). Then the record is taken, so the answer
/// completes once; an `error` answer (`access_denied`) is [`FlowError::Denied`]. A `state` that
/// does not match leaves the flow in progress alone (a forged or cross-site callback).
pub(crate) async fn resume<P: Pending>(request: &FlowRequest, kind: &str) -> Result<P, FlowError> {
    let flow = request.flow_state().ok_or(FlowError::MissingState)?;
    let key = request.store_key(kind, &flow);
    let record = request.store().get(&key).await?.ok_or(FlowError::StateExpired)?;
    let pending: P = serde_json::from_slice(&record).map_err(|_| FlowError::StateExpired)?;
    let state = request.param("state").ok_or(FlowError::MissingParameter("state"))?;
    if !bool::from(state.as_bytes().ct_eq(pending.state().as_bytes())) {
        return Err(FlowError::StateMismatch);
    }
    if request.store().take(&key).await?.is_none() {
        return Err(FlowError::StateExpired);
    }
    if let Some(error) = request.param("error") {
        return Err(FlowError::Denied {
            error: error.to_owned(),
            description: request.param("error_description").map(str::to_owned),
        });
    }
    Ok(pending)
}
