// The runtime reached under another name, as with `my_auth = { package = "auth-runtime" }` in
// Cargo.toml; the generated code must use only the path `crate = "..."` gives.
extern crate auth_runtime as my_auth;

use my_auth::SessionTypes;

#[derive(SessionTypes, Debug, PartialEq)]
#[session(crate = "my_auth")]
pub enum Session {
    User { id: String },
}

#[derive(SessionTypes, Debug, PartialEq)]
#[session(crate = "::my_auth")]
pub enum Absolute {
    Guest,
}

#[test]
fn compiles_and_works() {
    let json = serde_json::to_string(&Session::User { id: "1".into() }).unwrap();
    assert_eq!(json, r#"{"type":"user","properties":{"id":"1"}}"#);
    assert_eq!(
        serde_json::from_str::<Absolute>(r#"{"type":"guest","properties":{}}"#).unwrap(),
        Absolute::Guest
    );
}
