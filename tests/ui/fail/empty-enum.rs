use auth_runtime::SessionTypes;

#[derive(SessionTypes)]
enum Session {}

fn main() {}
