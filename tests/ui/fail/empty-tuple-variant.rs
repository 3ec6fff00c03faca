use auth_runtime::SessionTypes;

#[derive(SessionTypes)]
enum Session {
    Guest(),
}

fn main() {}
