use auth_runtime::SessionTypes;

#[derive(SessionTypes)]
enum Session {
    #[session(rename = "a")]
    #[session(rename = "b")]
    User { id: String },
}

fn main() {}
