//! [`AuthHandler`]: SST's `AuthHandler({ providers })` as an axum router, and the [`Provider`]
//! trait its sign-in flows implement.
//!
//! The router answers:
//!
//! | route | what it does |
//! |---|---|
//! | `GET {prefix}` | lists the providers and their authorize URLs (JSON) |
//! | `POST {prefix}/{provider}/authorize` | the provider's first step: a page or a redirect (`GET` too for a provider whose identity comes from an identity provider, see [`IdentitySource`]) |
//! | `GET`/`POST {prefix}/{provider}/callback` | the provider's return step: success or an error |
//! | `GET /.well-known/jwks.json` | the public verification keys of the sessions |
//! | `POST {prefix}/token` | with [`refresh_tokens`](AuthHandlerBuilder::refresh_tokens): the refresh token grant |
//! | `GET {prefix}/authorize` | with [`clients`](AuthHandlerBuilder::clients): the authorization server (see [`authorization`]) |
//!
//! A flow that succeeds hands its claims to the `on_success` callback given with the provider,
//! which answers with [`Sessions::cookie`] or [`Sessions::parameter`]. A flow that fails hands a
//! [`FlowError`] to the handler's `on_error`. What a flow must remember between its steps lives in
//! the [`Store`] (single use, attempt counts, PKCE verifiers) and in a short-lived `HttpOnly`
//! flow cookie scoped to `{prefix}/{provider}` that holds only a random identifier.
//!
//! One file per part: `error.rs` (why a flow stops), `error_page.rs` (what a failed step shows),
//! `flow.rs` (one step's request, the flow cookie and flow tokens), `form_fields.rs` (the
//! form fields a step reads first), `contract.rs` (the
//! [`Provider`] trait), `mounted.rs` (a provider with its `on_success`, type-erased),
//! `limits.rs` (the rate limits), `builder.rs` (the handler's builder), `handler.rs` (the router
//! and step dispatch), `token_endpoint.rs` (`POST <prefix>/token`) and `token_answer.rs` (its
//! RFC 6749 answers), `authorization/` (the authorization server for registered clients), and
//! one file per provider.
//!
//! Links and redirect URIs are built from the configured base URL, never from the request's
//! `Host` header: a forged `Host` must not put an attacker's origin into a sign-in email.
//!
//! [`Sessions::cookie`]: crate::Sessions::cookie
//! [`Sessions::parameter`]: crate::Sessions::parameter
//! [`Store`]: crate::store::Store

pub mod authorization;
mod builder;
pub mod code;
pub(crate) mod contract;
pub(crate) mod error;
mod error_page;
pub(crate) mod flow;
mod form_fields;
mod form_post;
pub(crate) mod handler;
pub(crate) mod limits;
pub mod link;
mod mounted;
#[cfg(feature = "oidc")]
pub mod oauth2;
#[cfg(feature = "oidc")]
pub mod oidc;
#[cfg(feature = "password")]
pub mod password;
#[cfg(feature = "oidc")]
mod redirect_flow;
mod token_answer;
mod token_endpoint;

pub use self::builder::{AuthHandlerBuilder, HandlerConfigError};
pub use self::code::{CodeInvalid, CodeProvider, CodeRequest};
pub use self::contract::{IdentitySource, Provider, Step};
#[allow(deprecated, reason = "the old name stays importable for one release")]
pub use self::error::Response;
pub use self::error::{FlowError, FlowResponse, MAX_CLAIMS_LEN};
pub use self::error_page::default_error_page;
pub use self::flow::{FlowRequest, UserClaims};
pub use self::handler::{AuthHandler, DEFAULT_PREFIX};
pub use self::limits::{DEFAULT_CODE_TRIES_PER_IDENTITY, DEFAULT_REQUESTS_PER_CLIENT, DEFAULT_REQUESTS_PER_IDENTITY};
pub use self::link::{Link, LinkConfirmation, LinkProvider};
pub use crate::rate_limit::{ClientAddress, RateLimit};
