//! Every way a sign-in flow can stop ([`FlowError`]), the limits its messages name, and the
//! response type of every step.

use std::error::Error as StdError;

use http::StatusCode;

use crate::sessions::IssueError;
use crate::store::contract::StoreError;
use crate::token::error::TokenError;

/// The response type of every step and of `on_success`: axum's. Named apart from
/// `http::Response`, which it would otherwise shadow where both are in scope.
pub type FlowResponse = axum_core::response::Response;

/// The old name of [`FlowResponse`], which shadowed `http::Response` where both were imported.
#[deprecated(since = "0.3.0", note = "renamed `FlowResponse`")]
pub type Response = FlowResponse;

/// The most bytes of claims (names and values) an authorize request may carry.
pub const MAX_CLAIMS_LEN: usize = 2048;

/// The largest request body a step reads (a form with a code or an email is a few hundred bytes).
pub(crate) const MAX_BODY: usize = 16 * 1024;

/// Why a sign-in flow stopped. `on_error` receives it with the provider's name; every variant is
/// one reason a caller can match on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// The sign-in link's time ran out.
    #[error("the sign-in link has expired; ask for a new one")]
    LinkExpired,
    /// The sign-in link is not one this server signed for this provider.
    #[error("the sign-in link is not valid: {0}")]
    LinkInvalid(#[source] TokenError),
    /// The sign-in link was followed before: links work once.
    #[error("the sign-in link was already used; ask for a new one")]
    LinkUsed,
    /// The one-time code's time ran out, or it was already used.
    #[error("the code has expired or was already used; ask for a new one")]
    CodeExpired,
    /// Too many wrong codes: the code is void.
    #[error("too many wrong codes; ask for a new one")]
    TooManyAttempts,
    /// The callback came without this browser's flow cookie (another browser, or cookies off).
    #[error("no sign-in is in progress in this browser; start again")]
    MissingState,
    /// The callback's `state` is not the one this browser's flow started with.
    #[error("the sign-in response does not belong to this browser's sign-in (state mismatch)")]
    StateMismatch,
    /// The flow's remembered state is gone: it expired or was already completed.
    #[error("the sign-in has expired or was already completed; start again")]
    StateExpired,
    /// A required parameter is missing, or was given more than once.
    #[error("the request needs exactly one `{0}` parameter")]
    MissingParameter(&'static str),
    /// A parameter was given more than once (in the query and the form, say) where each must be
    /// given once: an authorize request's claims. Refused before anything is counted, so a second
    /// `email` can neither hide the identity from its rate limit nor choose what is signed in.
    #[error("the `{0}` parameter was given more than once")]
    DuplicateParameter(String),
    /// A parameter is malformed (a `landing_nonce` that is not 43 base64url characters, or given
    /// twice).
    #[error("the `{0}` parameter is not valid")]
    InvalidParameter(&'static str),
    /// The authorize step got no claims to sign in with (no `email=`, for example).
    #[error("the sign-in request carries no claims (for example `email`)")]
    NoClaims,
    /// The authorize step got more than [`MAX_CLAIMS_LEN`] bytes of claims.
    #[error("the sign-in request's parameters are too long (limit {MAX_CLAIMS_LEN} bytes)")]
    ClaimsTooLarge,
    /// The identity provider answered the callback with an OAuth error (`access_denied`, ...).
    #[error("the identity provider refused the sign-in: {error}")]
    Denied {
        /// The OAuth `error` code.
        error: String,
        /// The provider's `error_description`, if any.
        description: Option<String>,
    },
    /// The identity provider could not be reached, or its answer (token response, ID token)
    /// failed validation.
    #[error("the identity provider's answer was not accepted: {0}")]
    Upstream(#[source] Box<dyn StdError + Send + Sync>),
    /// Too many sign-in requests or code submissions for this identity or client; try again in
    /// `retry_after` seconds (sent as `Retry-After`).
    #[error("too many sign-in attempts; try again in {retry_after} seconds")]
    RateLimited {
        /// Seconds until the limit's window ends.
        retry_after: u64,
    },
    /// The client's address cannot be told (the app is not served with axum's `ConnectInfo`,
    /// or the trusted proxy header is missing), so the per-client limit cannot count the
    /// request: it is refused rather than let through uncounted. A configuration error, logged
    /// at ERROR; see [`ClientAddress`](crate::ClientAddress).
    #[error("the client's address is unknown, so the sign-in cannot be rate limited")]
    ClientAddressUnknown,
    /// The identity provider does not say it verified the email address, and the provider was
    /// built to require that.
    #[error("the identity provider has not verified this email address")]
    EmailNotVerified,
    /// A browser sent this step's `POST` from another site: refused, so no other site can sign
    /// someone in, spend their link or ask for codes in their name.
    #[error("the sign-in request came from another site")]
    CrossSite,
    /// This step takes a `POST`: a code, a link's confirmation, or the start of a flow whose
    /// account the requester names ([`IdentitySource::Requester`]). A `GET` never spends
    /// anything, and never starts such a flow (answered `405` with `Allow: POST`).
    ///
    /// [`IdentitySource::Requester`]: super::IdentitySource::Requester
    #[error("this step takes a form submission (POST)")]
    UsePost,
    /// An authorization request names no registered client.
    #[error("the app that sent you here is not registered with this sign-in server")]
    UnknownClient,
    /// An authorization request's `redirect_uri` is not one of its client's.
    #[error("the app that sent you here asked to return to an address it has not registered")]
    RedirectUriMismatch,
    /// A flow started for an authorization request that this browser no longer has in progress
    /// (it expired, ended, or was started in another browser).
    #[error("this sign-in request has expired or was started elsewhere; go back to the app and start again")]
    AuthorizationExpired,
    /// A flow for an authorization request succeeded, but `on_success` answered without a
    /// session of the handler's `RefreshTokens` (it must answer with `Sessions::cookie` or
    /// `Sessions::parameter` for the same session type).
    #[error("the sign-in succeeded but issued no session for the app that asked")]
    NoSessionForClient,
    /// The server is checking as many passwords as it allows at once: try again in
    /// `retry_after` seconds (answered `503` with `Retry-After`). A flood of sign-ins is refused
    /// here instead of taking the service's CPU and memory.
    #[error("too many sign-ins at once; try again in {retry_after} seconds")]
    Busy {
        /// Seconds to wait before trying again.
        retry_after: u64,
    },
    /// The request body could not be read or was too large.
    #[error("the request body could not be read (limit {MAX_BODY} bytes)")]
    Body,
    /// The store did not answer; the flow fails closed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The flow token or the session could not be issued.
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// An error from a callback or a provider of your own.
    #[error("{0}")]
    Other(#[source] Box<dyn StdError + Send + Sync>),
}

impl FlowError {
    /// The kind of failure, as events and logs name it (`link_expired`, `code_expired`,
    /// `rate_limited`, `cross_site`, ...): never the code, the link or the flow's state.
    pub fn kind(&self) -> &'static str {
        match self {
            FlowError::LinkExpired => "link_expired",
            FlowError::LinkInvalid(_) => "link_invalid",
            FlowError::LinkUsed => "link_used",
            FlowError::CodeExpired => "code_expired",
            FlowError::TooManyAttempts => "too_many_attempts",
            FlowError::MissingState => "missing_state",
            FlowError::StateMismatch => "state_mismatch",
            FlowError::StateExpired => "state_expired",
            FlowError::MissingParameter(_) => "missing_parameter",
            FlowError::DuplicateParameter(_) => "duplicate_parameter",
            FlowError::InvalidParameter(_) => "invalid_parameter",
            FlowError::NoClaims => "no_claims",
            FlowError::ClaimsTooLarge => "claims_too_large",
            FlowError::Denied { .. } => "denied",
            FlowError::Upstream(_) => "upstream",
            FlowError::RateLimited { .. } => "rate_limited",
            FlowError::ClientAddressUnknown => "client_address_unknown",
            FlowError::EmailNotVerified => "email_not_verified",
            FlowError::CrossSite => "cross_site",
            FlowError::UsePost => "use_post",
            FlowError::UnknownClient => "unknown_client",
            FlowError::RedirectUriMismatch => "redirect_uri_mismatch",
            FlowError::AuthorizationExpired => "authorization_expired",
            FlowError::NoSessionForClient => "no_session_for_client",
            FlowError::Busy { .. } => "busy",
            FlowError::Body => "body",
            FlowError::Store(_) => "store",
            FlowError::Issue(_) => "issue",
            FlowError::Other(_) => "other",
        }
    }

    /// Wraps an error from a callback or a provider of your own.
    pub fn other(error: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        FlowError::Other(error.into())
    }

    /// The HTTP status the default error page answers with: 400 for what the person can fix by
    /// starting again, 502 for the identity provider, 503 for the store, 500 otherwise.
    pub fn status(&self) -> StatusCode {
        match self {
            FlowError::Upstream(_) => StatusCode::BAD_GATEWAY,
            FlowError::Store(_) | FlowError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            FlowError::Issue(_)
            | FlowError::Other(_)
            | FlowError::ClientAddressUnknown
            | FlowError::NoSessionForClient => StatusCode::INTERNAL_SERVER_ERROR,
            FlowError::Body => StatusCode::PAYLOAD_TOO_LARGE,
            FlowError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            FlowError::CrossSite => StatusCode::FORBIDDEN,
            FlowError::UsePost => StatusCode::METHOD_NOT_ALLOWED,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}
