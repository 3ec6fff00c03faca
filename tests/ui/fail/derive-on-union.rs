use auth_runtime::SessionTypes;

#[derive(SessionTypes)]
union Session {
    id: u64,
}

fn main() {}
