//! A deprecated variant warns where the user names it, never inside the generated code: a crate
//! that denies warnings still builds.
#![deny(warnings)]

use auth_runtime::SessionTypes;

#[derive(SessionTypes, Debug, Clone, PartialEq)]
pub enum Session {
    User {
        id: String,
    },
    #[deprecated(note = "use `User`")]
    Legacy {
        id: String,
    },
    #[deprecated(note = "API clients moved elsewhere")]
    Api(Client),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Client {
    pub id: String,
}

#[test]
fn compiles_and_works() {
    let session = Session::User { id: "1".to_owned() };
    assert!(session.is_user());
    let json = serde_json::to_string(&session).unwrap_or_default();
    assert_eq!(json, r#"{"type":"user","properties":{"id":"1"}}"#);
}
