use auth_runtime::{SessionTypes, SessionVariant};

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, Debug, Clone, PartialEq)]
pub struct ApiClient {
    pub scopes: Vec<String>,
}

#[derive(SessionTypes, Debug, Clone, PartialEq)]
pub enum Session {
    User {
        #[session(rename = "userID")]
        user_id: String,
        email: Option<String>,
    },
    Api(ApiClient),
    Empty {},
    Guest,
}

#[test]
fn compiles_and_works() {
    let session = Session::Api(ApiClient { scopes: vec![] });
    assert!(session.is_api());
    assert!(session.as_api().is_some());
    assert_eq!(<Session as SessionVariant<ApiClient>>::TYPE, "api");
    assert_eq!(Session::TYPES, ["user", "api", "empty", "guest"]);
    assert_eq!(
        serde_json::to_string(&Session::Empty {}).unwrap(),
        r#"{"type":"empty","properties":{}}"#
    );
}
