use auth_runtime::SessionTypes;

#[derive(SessionTypes)]
#[session]
enum Session {
    User { id: String },
}

fn main() {}
