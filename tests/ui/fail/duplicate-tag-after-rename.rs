use auth_runtime::SessionTypes;

#[derive(SessionTypes)]
enum Session {
    User { id: String },
    #[session(rename = "user")]
    Admin { id: String },
}

fn main() {}
