use auth_runtime::SessionTypes;

#[derive(SessionTypes)]
struct Session {
    user_id: String,
}

fn main() {}
