//! The opaque-session example's sessions (`examples/opaque_sessions.rs`).

use auth_runtime::SessionTypes;
use serde::{Deserialize, Serialize};

/// The sessions of this app.
#[derive(SessionTypes, Debug, Clone, PartialEq)]
pub enum AppSession {
    /// A signed-in person.
    User {
        /// Their user id.
        user_id: String,
    },
    /// An administrator.
    Admin(Admin),
}

/// An administrator's session properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Admin {
    /// Their user id.
    pub user_id: String,
}
