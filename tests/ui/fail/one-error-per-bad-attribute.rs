//! One bad attribute is one error: the fallback impl keeps every use of the enum as a session
//! (here, `Sessions::builder`, which needs `SessionTypes`, and serde) from adding errors of its own.
use auth_runtime::{SessionTypes, Sessions};

#[derive(SessionTypes, Debug)]
enum Session {
    #[session(rename = 7)]
    User { id: String },
}

fn main() {
    let _builder = Sessions::<Session>::builder();
    let _json = serde_json::to_string(&Session::User { id: String::new() });
}
