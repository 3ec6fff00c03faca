use auth_runtime::{SessionTypes, Sessions, SigningKey};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApiClient { pub client_id: String, pub scopes: Vec<String> }

#[derive(SessionTypes, Debug, Clone, PartialEq)]
pub enum AppSession {
    /// A signed-in person.
    User { #[session(rename = "userID")] user_id: String },
    Api(ApiClient),
    Guest,
}

#[test]
fn smoke() {
    let s = AppSession::User { user_id: "123".into() };
    println!("{}", serde_json::to_string(&s).unwrap());
    println!("{}", serde_json::to_string(&AppSession::Guest).unwrap());
    let back: AppSession = serde_json::from_str(r#"{"properties":{"userID":"1"},"type":"user"}"#).unwrap();
    println!("{back:?}");
    for bad in [r#"{"type":"nope","properties":{}}"#, r#"{"type":"user","properties":{"userID":1}}"#, r#"{"type":"user","properties":{}}"#, r#"{"type":"user","type":"user","properties":{}}"#, r#"{"type":"api","properties":{"client_id":"x"}}"#, r#"{"properties":{"userID":1},"type":"user"}"#] {
        println!("{bad} -> {}", serde_json::from_str::<AppSession>(bad).unwrap_err());
    }
    let sessions = Sessions::<AppSession>::builder().signing_key(SigningKey::generate_ed25519().unwrap()).issuer("iss").audience("aud").build().unwrap();
    let token = sessions.create(&s).unwrap();
    println!("{token}");
    println!("{:?}", sessions.verify(&token).unwrap());
    let r: http::Response<()> = sessions.cookie(&s, "/home?x=1#f").unwrap();
    println!("{r:?}");
    let r: http::Response<()> = sessions.parameter(&s, "/home?x=1#f").unwrap();
    println!("{r:?}");
    println!("{}", serde_json::to_string_pretty(&schemars::schema_for!(AppSession)).unwrap());
    println!("{}", serde_json::to_string(&sessions.jwks()).unwrap());
}
