//! CORS for a front end on another origin (tower-http's `CorsLayer`): the public documents
//! (JWKS, metadata) for any origin, the token endpoint for the registered clients' origins only.
//! No credentials either way: the token endpoint needs no cookie.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use super::AuthorizationServer;

/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// The JWKS and the metadata: public, read by anyone.
pub(crate) fn public_documents() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET])
        .max_age(PREFLIGHT_MAX_AGE)
}

/// The token endpoint: a `POST` with a form body, and client credentials in `Authorization`,
/// from an origin of a registered client.
pub(crate) fn token_endpoint(server: Arc<AuthorizationServer>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            server.allows_origin(origin.as_bytes())
        }))
        .allow_methods([Method::POST])
        .allow_headers([CONTENT_TYPE, AUTHORIZATION])
        .max_age(PREFLIGHT_MAX_AGE)
}
