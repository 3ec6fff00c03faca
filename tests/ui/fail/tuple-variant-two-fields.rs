use auth_runtime::SessionTypes;

#[derive(SessionTypes)]
enum Session {
    User(String, u64),
}

fn main() {}
