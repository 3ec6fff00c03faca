use auth_runtime::SessionTypes;

#[derive(SessionTypes)]
enum Session {
    User {
        #[session(rename = "id")]
        user_id: String,
        id: String,
    },
}

fn main() {}
