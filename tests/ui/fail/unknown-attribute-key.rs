use auth_runtime::SessionTypes;

#[derive(SessionTypes)]
#[session(rename = "session")]
enum Session {
    #[session(skip)]
    User { id: String },
}

fn main() {}
