// The derive's output must not rely on the prelude: the enum lives in a module without it.
// (The newtype's own serde and schemars derives sit outside: they are not ours to test.)

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Client {
    pub id: String,
}

#[no_implicit_prelude]
mod sessions {
    #[derive(::auth_runtime::SessionTypes)]
    pub enum Session {
        User {
            #[session(rename = "userID")]
            user_id: ::std::string::String,
            roles: ::std::vec::Vec<::std::string::String>,
            nickname: ::std::option::Option<::std::string::String>,
        },
        Api(super::Client),
        Guest,
    }
}

#[test]
fn compiles_and_works() {
    let session = sessions::Session::Guest;
    assert!(session.is_guest());
    assert!(session.as_api().is_none());
    let json = serde_json::to_string(&session).unwrap();
    assert_eq!(json, r#"{"type":"guest","properties":{}}"#);
}
