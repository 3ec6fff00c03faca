use auth_runtime::SessionTypes;

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
struct Client {
    id: String,
}

#[derive(SessionTypes)]
enum Session {
    Api(Client),
    Service(Client),
}

fn main() {}
