//! One tower [`Layer`] for axum and tonic: reads the token, verifies it through the cache, and
//! hands the typed session to the handler, in the request extensions and through
//! [`use_session`] (SST's hook style, a task-local set around the inner service).
//!
//! Per request, in order:
//! 1. A path matching a skip pattern passes through untouched (no session is read).
//! 2. On the landing route, a `GET` with `?token=` has the token verified, moved into the session
//!    cookie, and the browser redirected to the same URL without it, when the token is bound to
//!    this browser (its `nonce` matches the landing cookie); otherwise a page asks first, and its
//!    same-origin `POST` does it. `?token=` is read nowhere else.
//! 3. The token is read: `Authorization: Bearer`, then the session cookie (configurable with
//!    `token_sources`). None: a public request.
//! 4. A cookie-authenticated request with an unsafe method (POST, PUT, PATCH, DELETE) must be
//!    same-origin (`Sec-Fetch-Site: same-origin`, or an `Origin` that is allowed or matches
//!    `Host`), else 403. Bearer requests are exempt: browsers never attach them on their own.
//! 5. The token is verified; a failure is 401 with a short JSON reason, or, under the lenient
//!    policy, a public request. A verifier whose backend could not answer
//!    ([`BackendUnavailable`](crate::VerifierError::BackendUnavailable): a store that is down)
//!    gets 503 with `Retry-After` instead, so the client keeps its token and tries again; no
//!    session is ever granted without the backend's answer.
//! 6. With [`authorize`](SessionLayerBuilder::authorize), the [`Rules`] decide on the path and
//!    the session: 401 without a session, 403 with one, 400 for a path not in canonical form.
//!
//! gRPC requests (`content-type: application/grpc...`) get `grpc-status` 16 (Unauthenticated),
//! 7 (PermissionDenied) and 14 (Unavailable) instead of 401, 403 and 503.
//!
//! Every refusal has one JSON shape and one set of names, shared with the axum extractors (see
//! the table in `refusal.rs`, and README's middleware section).
//!
//! One file per part: `layer.rs` (the Layer and Service, and the state every clone shares),
//! `builder.rs`, `pipeline.rs` (the steps above, refresh on request, and what a refusal answers),
//! `cookie_refresh.rs` (refreshes shared by the requests that carry one refresh token),
//! `invalid_token.rs` (the policy and the refusal event), `refusal.rs` (the refusal responses),
//! `csrf.rs`, `canonical.rs` (the path form), `skip.rs` (patterns), `authz/` (the rules),
//! `current.rs` (the session of the request being served), `future.rs` (the response future),
//! `body.rs`. The landing route and its
//! page are in the crate's `landing` module.
//!
//! [`Layer`]: tower_layer::Layer

pub(crate) mod authz;
pub(crate) mod body;
pub(crate) mod builder;
pub(crate) mod canonical;
pub(crate) mod cookie_refresh;
pub(crate) mod csrf;
pub(crate) mod current;
pub(crate) mod future;
pub(crate) mod invalid_token;
pub(crate) mod layer;
pub(crate) mod pipeline;
pub(crate) mod refusal;
pub(crate) mod skip;

pub use self::authz::{Condition, Decision, DecisionRecord, Effect, Grants, Rules, RulesError};
#[allow(deprecated, reason = "the old names stay importable for one release")]
pub use self::authz::{Decided, Verdict};
pub use self::body::SessionBody;
pub use self::builder::{LayerConfigError, SessionLayerBuilder};
pub use self::current::{
    NoSession, require_session, session_from_extensions, use_authenticated, use_credential, use_session,
};
pub use self::future::ResponseFuture;
pub use self::invalid_token::InvalidTokenPolicy;
pub use self::layer::{SessionLayer, SessionService};
pub use crate::landing::confirm::{LANDING_NONCE_LIFETIME, LandingBinding, LandingConfirmation, default_landing_page};
pub use crate::landing::route::{LandingError, LandingNonce};
