use auth_runtime::SessionTypes;

#[derive(SessionTypes)]
enum Session {
    #[session(rename = "")]
    User { id: String },
}

fn main() {}
