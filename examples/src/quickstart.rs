//! The quickstart's sessions (`examples/quickstart.rs`, `examples/grpc.rs`).

use auth_runtime::SessionTypes;
use serde::{Deserialize, Serialize};

/// The sessions this app knows.
#[derive(SessionTypes, Debug, Clone, PartialEq)]
pub enum AppSession {
    /// A signed-in person.
    User {
        /// Their user id.
        #[session(rename = "userID")]
        user_id: String,
    },
    /// A machine client with scoped access.
    Api(ApiClient),
}

/// The properties of an API client session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApiClient {
    /// The client's id.
    pub client_id: String,
    /// What it may do.
    pub scopes: Vec<String>,
}
