use auth_runtime::SessionTypes;

#[derive(SessionTypes)]
enum Session {
    #[session(rename = user)]
    User { id: String },
    #[session(rename = 7)]
    Admin { id: String },
}

fn main() {}
