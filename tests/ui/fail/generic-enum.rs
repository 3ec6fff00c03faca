use auth_runtime::SessionTypes;

#[derive(SessionTypes)]
enum Session<T> {
    User { id: T },
}

fn main() {}
