use auth_runtime::SessionTypes;

#[derive(SessionTypes)]
#[session(rename_all = "camel")]
enum Session {
    User { id: String },
}

fn main() {}
