// `#![no_implicit_prelude]` on the whole crate, as the issue asks; newtype variants, whose inner
// type needs schemars' own derive, are covered by `no-implicit-prelude.rs`.
#![no_implicit_prelude]

extern crate auth_runtime;
extern crate serde_json;
extern crate std;

#[derive(auth_runtime::SessionTypes)]
pub enum Session {
    User {
        #[session(rename = "userID")]
        user_id: std::string::String,
        scopes: std::vec::Vec<std::string::String>,
        nickname: std::option::Option<std::string::String>,
    },
    Guest,
}

#[test]
fn compiles_and_works() {
    let json = serde_json::to_string(&Session::Guest);
    std::assert_eq!(
        json.ok().as_deref(),
        std::option::Option::Some(r#"{"type":"guest","properties":{}}"#)
    );
    std::assert!(Session::Guest.is_guest());
}
