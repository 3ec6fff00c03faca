use auth_runtime::SessionTypes;

#[derive(SessionTypes)]
#[session(rename_all = "shouting", crate = 1)]
enum Session {
    #[session(rename = "x", unknown = "y")]
    User {
        #[session(rename = 2)]
        id: String,
    },
    #[session(rename = "x")]
    Admin,
}

fn main() {}
