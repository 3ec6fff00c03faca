use auth_runtime::SessionTypes;

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Only {
    pub id: u64,
}

#[derive(SessionTypes)]
pub enum Session {
    Only(Only),
}

#[test]
fn compiles_and_works() {
    let session = Session::Only(Only { id: 1 });
    assert!(session.is_only());
    assert!(session.into_only().is_ok());
}
