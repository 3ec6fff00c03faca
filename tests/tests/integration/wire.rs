//! The derive's wire format, pinned byte for byte, its decode errors, and the generated API.

use crate::common;

use std::collections::BTreeMap;

use auth_runtime::{SessionTypes, SessionVariant};
use common::{ApiClient, AppSession, user};
use serde::{Deserialize, Serialize};

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serializes")
}

fn decode_error<T: for<'de> Deserialize<'de> + std::fmt::Debug>(text: &str) -> String {
    serde_json::from_str::<T>(text)
        .expect_err("must not decode")
        .to_string()
}

#[test]
fn each_variant_kind_is_pinned() {
    assert_eq!(json(&user("123")), r#"{"type":"user","properties":{"userID":"123"}}"#);
    let api = AppSession::Api(ApiClient {
        client_id: "c1".into(),
        scopes: vec!["read".into()],
    });
    assert_eq!(
        json(&api),
        r#"{"type":"api","properties":{"client_id":"c1","scopes":["read"]}}"#
    );
    assert_eq!(json(&AppSession::Guest), r#"{"type":"guest","properties":{}}"#);
    for session in [user("123"), api, AppSession::Guest] {
        let back: AppSession = serde_json::from_str(&json(&session)).expect("round trips");
        assert_eq!(back, session);
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
struct Nested {
    depth: u8,
    children: Vec<Nested>,
}

/// Renaming rules and field types of every serde kind.
#[derive(SessionTypes, Debug, Clone, PartialEq)]
#[session(rename_all = "kebab-case")]
enum Renamed {
    ApiClient {
        client_id: String,
    },
    #[session(rename = "HUMAN", rename_all = "camelCase")]
    PersonWithEmail {
        email_address: String,
        display_name: Option<String>,
        roles: Vec<String>,
        limits: BTreeMap<String, u32>,
        tree: Nested,
        #[session(rename = "r#type")]
        r#type: u64,
    },
    SignedOut,
}

#[test]
fn rename_rules_follow_serde() {
    assert_eq!(Renamed::TYPES, ["api-client", "HUMAN", "signed-out"]);
    assert_eq!(
        json(&Renamed::ApiClient { client_id: "x".into() }),
        r#"{"type":"api-client","properties":{"client_id":"x"}}"#
    );
    let person = Renamed::PersonWithEmail {
        email_address: "a@b.c".into(),
        display_name: None,
        roles: vec!["admin".into()],
        limits: BTreeMap::from([("rpm".to_owned(), 60)]),
        tree: Nested {
            depth: 0,
            children: vec![Nested {
                depth: 1,
                children: vec![],
            }],
        },
        r#type: 9,
    };
    assert_eq!(
        json(&person),
        r#"{"type":"HUMAN","properties":{"emailAddress":"a@b.c","displayName":null,"roles":["admin"],"limits":{"rpm":60},"tree":{"depth":0,"children":[{"depth":1,"children":[]}]},"r#type":9}}"#
    );
    let back: Renamed = serde_json::from_str(&json(&person)).expect("round trips");
    assert_eq!(back, person);
    let without_option = r#"{"type":"HUMAN","properties":{"emailAddress":"e","roles":[],"limits":{},"tree":{"depth":0,"children":[]},"r#type":1}}"#;
    let decoded: Renamed = serde_json::from_str(without_option).expect("a missing Option is None");
    assert!(matches!(decoded, Renamed::PersonWithEmail { display_name: None, .. }));
}

#[test]
fn decoding_accepts_either_key_order_and_ignores_other_keys() {
    let reordered = r#"{"properties":{"userID":"7"},"iss":"x","type":"user","exp":1}"#;
    assert_eq!(
        serde_json::from_str::<AppSession>(reordered).expect("decodes"),
        user("7")
    );
    let extra_property = r#"{"type":"user","properties":{"userID":"7","future":true}}"#;
    assert_eq!(
        serde_json::from_str::<AppSession>(extra_property).expect("decodes"),
        user("7")
    );
    let unit_without_properties = r#"{"type":"guest"}"#;
    assert_eq!(
        serde_json::from_str::<AppSession>(unit_without_properties).expect("decodes"),
        AppSession::Guest
    );
}

#[test]
fn decode_errors_name_what_was_expected() {
    let cases = [
        (
            r#"{"type":"admin","properties":{}}"#,
            "unknown session type `admin`, expected one of `user`, `api`, `guest`",
        ),
        (
            r#"{"type":"user","properties":{}}"#,
            "missing property `userID` of session type `user`",
        ),
        (r#"{"type":"user"}"#, "missing property `userID` of session type `user`"),
        (
            r#"{"type":"user","properties":{"userID":1}}"#,
            "invalid property `userID` of session type `user`: invalid type: integer `1`, expected a string",
        ),
        (
            r#"{"properties":{"userID":1},"type":"user"}"#,
            "invalid property `userID` of session type `user`: invalid type: integer `1`, expected a string",
        ),
        (
            r#"{"type":"user","properties":{"userID":"a","userID":"b"}}"#,
            "duplicate property `userID` in session type `user`",
        ),
        (
            r#"{"type":"user","type":"user","properties":{"userID":"a"}}"#,
            "duplicate field `type`",
        ),
        (
            r#"{"type":"user","properties":{"userID":"a"},"properties":{"userID":"b"}}"#,
            "duplicate field `properties`",
        ),
        (
            r#"{"properties":{"userID":"a"},"properties":{"userID":"b"},"type":"user"}"#,
            "duplicate field `properties`",
        ),
        (r#"{"properties":{}}"#, "missing field `type`"),
        (
            r#"{"type":"api","properties":{"client_id":"x"}}"#,
            "invalid properties of session type `api`: missing field `scopes`",
        ),
        (
            r#"{"type":"guest","properties":null}"#,
            "invalid type: null, expected the properties of session type `guest` (an object)",
        ),
        (
            r#"{"type":7,"properties":{}}"#,
            "invalid type: integer `7`, expected a string",
        ),
        (
            r#"["user"]"#,
            "invalid type: sequence, expected a session object with `type` and `properties`",
        ),
    ];
    for (input, expected) in cases {
        let message = decode_error::<AppSession>(input);
        assert!(
            message.starts_with(expected),
            "{input}\n  got:      {message}\n  expected: {expected}"
        );
        assert_eq!(
            message.matches(" at line ").count(),
            1,
            "one position, not two: {message}"
        );
    }
}

#[test]
fn generated_accessors_narrow_the_session() {
    let api = AppSession::Api(ApiClient {
        client_id: "c".into(),
        scopes: vec![],
    });
    assert!(user("u").is_user());
    assert!(!user("u").is_api());
    assert!(AppSession::Guest.is_guest());
    assert_eq!(api.as_api().map(|client| client.client_id.as_str()), Some("c"));
    assert_eq!(user("u").as_api(), None);
    assert_eq!(user("u").into_api(), Err(user("u")));
    assert_eq!(api.session_type(), "api");
    assert_eq!(<AppSession as SessionVariant<ApiClient>>::TYPE, "api");
    let narrowed: Option<&ApiClient> = SessionVariant::<ApiClient>::as_variant(&api);
    assert!(narrowed.is_some());
    let client = ApiClient {
        client_id: "z".into(),
        scopes: vec![],
    };
    assert_eq!(
        <AppSession as SessionVariant<ApiClient>>::from_variant(client.clone()),
        AppSession::Api(client)
    );
    assert_eq!(AppSession::TYPES, ["user", "api", "guest"]);
}

#[test]
fn json_schema_is_a_tagged_union() {
    let schema = serde_json::to_value(schemars::schema_for!(AppSession)).expect("serializes");
    let branches = schema["oneOf"].as_array().expect("oneOf");
    assert_eq!(branches.len(), 3);
    let tags: Vec<&str> = branches
        .iter()
        .filter_map(|branch| branch["properties"]["type"]["const"].as_str())
        .collect();
    assert_eq!(tags, ["user", "api", "guest"]);
    assert_eq!(branches[0]["description"], "A signed-in person.");
    assert_eq!(
        branches[0]["properties"]["properties"]["required"],
        serde_json::json!(["userID"])
    );
    assert_eq!(
        branches[0]["properties"]["properties"]["properties"]["userID"]["type"],
        "string"
    );
    assert_eq!(branches[1]["properties"]["properties"]["$ref"], "#/$defs/ApiClient");
    assert_eq!(
        schema["$defs"]["ApiClient"]["required"],
        serde_json::json!(["client_id", "scopes"])
    );
    for branch in branches {
        assert_eq!(branch["required"], serde_json::json!(["type", "properties"]));
    }
    let renamed = serde_json::to_value(schemars::schema_for!(Renamed)).expect("serializes");
    let person = &renamed["oneOf"][1]["properties"]["properties"];
    let required: Vec<&str> = person["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        !required.contains(&"displayName"),
        "an Option property is not required: {required:?}"
    );
    assert!(required.contains(&"emailAddress"));
}
