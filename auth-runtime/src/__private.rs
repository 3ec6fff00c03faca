//! Support for the code `#[derive(SessionTypes)]` generates, and nothing else. Not a public API:
//! names and signatures change without notice. The runtime's own modules never import from here.

pub use serde;
pub use std::borrow::Cow;

#[cfg(feature = "schema")]
pub use schemars;

pub use crate::token::wire::{de, deserialize_session, serialize_session, unknown_type};

/// Building blocks for the generated `JsonSchema` impl.
#[cfg(feature = "schema")]
pub mod schema {
    use schemars::{Schema, json_schema};
    use serde_json::{Map, Value};

    /// One variant of the union.
    pub struct Branch {
        /// The variant's tag.
        pub session_type: &'static str,
        /// The variant's doc comment.
        pub description: Option<&'static str>,
        /// The schema of its `properties` object.
        pub properties: Schema,
    }

    /// `{"oneOf": [...]}` with one closed branch per variant, discriminated by a `const` type.
    pub fn tagged_union<const N: usize>(branches: [Branch; N]) -> Schema {
        let one_of: Vec<Value> = branches
            .into_iter()
            .map(|branch| {
                let mut schema = json_schema!({
                    "type": "object",
                    "properties": {
                        "type": { "type": "string", "const": branch.session_type },
                        "properties": branch.properties,
                    },
                    "required": ["type", "properties"],
                });
                if let Some(description) = branch.description {
                    schema.insert("description".to_owned(), Value::from(description));
                }
                schema.to_value()
            })
            .collect();
        json_schema!({ "oneOf": one_of })
    }

    /// The object schema of a struct variant's properties: `(name, schema, required)` per field.
    pub fn struct_properties<const N: usize>(fields: [(&'static str, Schema, bool); N]) -> Schema {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for (name, schema, is_required) in fields {
            properties.insert(name.to_owned(), schema.to_value());
            if is_required {
                required.push(Value::from(name));
            }
        }
        json_schema!({
            "type": "object",
            "properties": properties,
            "required": required,
        })
    }

    /// The properties of a variant that has none: `{}`.
    pub fn empty_properties() -> Schema {
        json_schema!({ "type": "object" })
    }
}
