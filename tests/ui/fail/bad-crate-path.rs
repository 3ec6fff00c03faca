use auth_runtime::SessionTypes;

#[derive(SessionTypes)]
#[session(crate = "not a path")]
enum Session {
    User { id: String },
}

fn main() {}
