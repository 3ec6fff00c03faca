use auth_runtime::SessionTypes;

#[allow(non_camel_case_types)]
#[derive(SessionTypes)]
enum Session {
    ApiClient,
    #[session(rename = "other")]
    Api_Client,
}

fn main() {}
