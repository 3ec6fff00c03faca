//! The session's wire codec: `{"type": "<tag>", "properties": {...}}`, shared by the token
//! payload and the `Serialize`/`Deserialize` impls `#[derive(SessionTypes)]` writes.
//!
//! The derive emits only what differs per enum; the walking of maps, the duplicate-key checks and
//! the wording of every decode error live here, once. Generated code reaches the public items
//! through `__private`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self as serde_de, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::session_types::SessionTypes;

/// Writes `{"type": ..., "properties": ...}`.
pub fn serialize_session<T: SessionTypes, S: Serializer>(session: &T, serializer: S) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(2))?;
    map.serialize_entry("type", session.session_type())?;
    map.serialize_entry("properties", &Properties(session))?;
    map.end()
}

/// Serializes a session's `properties` object on its own.
pub(crate) struct Properties<'a, T>(pub(crate) &'a T);

impl<T: SessionTypes> Serialize for Properties<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_properties(serializer)
    }
}

/// Reads `{"type": ..., "properties": ...}`, ignoring other keys (a token's claims sit beside them).
///
/// `type` and `properties` may come in either order; when `properties` comes first it is buffered
/// as JSON until the tag is known. A repeated `type` or `properties` key is an error.
pub fn deserialize_session<'de, T: SessionTypes, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
    deserializer.deserialize_map(SessionVisitor(PhantomData))
}

struct SessionVisitor<T>(PhantomData<T>);

impl<'de, T: SessionTypes> Visitor<'de> for SessionVisitor<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a session object with `type` and `properties`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut session_type: Option<String> = None;
        let mut decoded: Option<T> = None;
        let mut buffered: Option<serde_json::Value> = None;
        while let Some(key) = map.next_key::<de::Key<'de>>()? {
            match key.as_str() {
                "type" => {
                    if session_type.is_some() {
                        return Err(serde_de::Error::duplicate_field("type"));
                    }
                    let tag: String = map.next_value()?;
                    if !T::TYPES.contains(&tag.as_str()) {
                        return Err(unknown_type(&tag, T::TYPES));
                    }
                    session_type = Some(tag);
                }
                "properties" => {
                    if decoded.is_some() || buffered.is_some() {
                        return Err(serde_de::Error::duplicate_field("properties"));
                    }
                    match &session_type {
                        Some(tag) => decoded = Some(map.next_value_seed(PropertiesSeed::<T>::new(tag))?),
                        None => buffered = Some(map.next_value()?),
                    }
                }
                _ => de::skip_property(&mut map)?,
            }
        }
        let session_type = session_type.ok_or_else(|| serde_de::Error::missing_field("type"))?;
        if let Some(session) = decoded {
            return Ok(session);
        }
        match buffered {
            Some(properties) => T::deserialize_properties(&session_type, properties).map_err(serde_de::Error::custom),
            // A missing `properties` reads as `{}`: fine for a unit variant, and for any other the
            // error names the first missing property.
            None => T::deserialize_properties(&session_type, EmptyMap::<A::Error>::default()),
        }
    }
}

/// Decodes a `properties` value for a known tag, straight from the input without buffering.
pub(crate) struct PropertiesSeed<'t, T> {
    session_type: &'t str,
    marker: PhantomData<T>,
}

impl<'t, T> PropertiesSeed<'t, T> {
    pub(crate) fn new(session_type: &'t str) -> Self {
        PropertiesSeed {
            session_type,
            marker: PhantomData,
        }
    }
}

impl<'de, T: SessionTypes> DeserializeSeed<'de> for PropertiesSeed<'_, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::deserialize_properties(self.session_type, deserializer)
    }
}

/// The `{}` a missing `properties` key stands for.
struct EmptyMap<E>(PhantomData<E>);

impl<E> Default for EmptyMap<E> {
    fn default() -> Self {
        EmptyMap(PhantomData)
    }
}

impl<'de, E: serde_de::Error> Deserializer<'de> for EmptyMap<E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_map(serde_de::value::MapDeserializer::new(std::iter::empty::<((), ())>()))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// Field-level decoding helpers.
pub mod de {
    use super::*;

    pub use super::unknown_type;

    /// A map key, borrowed from the input when the format allows.
    pub enum Key<'de> {
        /// Borrowed from the input.
        Borrowed(&'de str),
        /// Copied, when the input had to be unescaped.
        Owned(String),
    }

    impl Key<'_> {
        /// The key's text.
        pub fn as_str(&self) -> &str {
            match self {
                Key::Borrowed(key) => key,
                Key::Owned(key) => key,
            }
        }
    }

    impl<'de> Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct KeyVisitor;

            impl<'de> Visitor<'de> for KeyVisitor {
                type Value = Key<'de>;

                fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                    formatter.write_str("a string key")
                }

                fn visit_borrowed_str<E: serde_de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key::Borrowed(key))
                }

                fn visit_str<E: serde_de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                    Ok(Key::Owned(key.to_owned()))
                }

                fn visit_string<E: serde_de::Error>(self, key: String) -> Result<Key<'de>, E> {
                    Ok(Key::Owned(key))
                }
            }

            deserializer.deserialize_str(KeyVisitor)
        }
    }

    /// Reads the value of property `name` into `slot`, refusing a second occurrence.
    pub fn property<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
        map: &mut A,
        slot: &mut Option<T>,
        session_type: &str,
        name: &str,
    ) -> Result<(), A::Error> {
        if slot.is_some() {
            return Err(serde_de::Error::custom(format_args!(
                "duplicate property `{name}` in session type `{session_type}`"
            )));
        }
        let value = map.next_value::<T>().map_err(|error| {
            serde_de::Error::custom(format_args!(
                "invalid property `{name}` of session type `{session_type}`: {}",
                without_position(&error)
            ))
        })?;
        *slot = Some(value);
        Ok(())
    }

    /// Skips the value of a key that is not a property of this variant.
    pub fn skip_property<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
        map.next_value::<IgnoredAny>().map(|_| ())
    }

    /// The value read for property `name`, or, if it never came, what its type makes of absence:
    /// `None` for an `Option`, an error naming the property for anything else.
    pub fn take_property<'de, T: Deserialize<'de>, E: serde_de::Error>(
        slot: Option<T>,
        session_type: &str,
        name: &str,
    ) -> Result<T, E> {
        match slot {
            Some(value) => Ok(value),
            None => T::deserialize(MissingProperty {
                session_type,
                name,
                marker: PhantomData,
            }),
        }
    }

    /// Decodes a newtype variant's properties as its inner type, naming the session type in errors.
    pub fn newtype<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        session_type: &str,
        deserializer: D,
    ) -> Result<T, D::Error> {
        T::deserialize(deserializer).map_err(|error| {
            serde_de::Error::custom(format_args!(
                "invalid properties of session type `{session_type}`: {}",
                without_position(&error)
            ))
        })
    }

    /// Decodes a unit variant's properties: any object, whose keys are ignored.
    pub fn unit<'de, D: Deserializer<'de>>(session_type: &str, deserializer: D) -> Result<(), D::Error> {
        struct UnitVisitor<'t>(&'t str);

        impl<'de> Visitor<'de> for UnitVisitor<'_> {
            type Value = ();

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, "the properties of session type `{}` (an object)", self.0)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                while map.next_key::<IgnoredAny>()?.is_some() {
                    skip_property(&mut map)?;
                }
                Ok(())
            }
        }

        deserializer.deserialize_map(UnitVisitor(session_type))
    }

    /// Stands in for a property that is absent: an `Option` reads it as `None`, anything else
    /// reports the property as missing. (serde's own derive uses the same trick.)
    struct MissingProperty<'a, E> {
        session_type: &'a str,
        name: &'a str,
        marker: PhantomData<E>,
    }

    impl<'de, E: serde_de::Error> Deserializer<'de> for MissingProperty<'_, E> {
        type Error = E;

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, E> {
            Err(serde_de::Error::custom(format_args!(
                "missing property `{}` of session type `{}`",
                self.name, self.session_type
            )))
        }

        fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
            visitor.visit_none()
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
            unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
        }
    }

    /// An error's message without serde_json's trailing " at line L column C": the outer error
    /// gets the position again when it leaves the JSON deserializer, and once is enough.
    fn without_position(error: &impl fmt::Display) -> String {
        let message = error.to_string();
        if let Some(index) = message.rfind(" at line ") {
            let tail = &message[index + " at line ".len()..];
            let mut parts = tail.splitn(3, ' ');
            let line = parts.next().unwrap_or_default();
            let word = parts.next().unwrap_or_default();
            let column = parts.next().unwrap_or_default();
            let is_number = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
            if is_number(line) && word == "column" && is_number(column) {
                return message[..index].to_owned();
            }
        }
        message
    }
}

/// The error for a tag the enum does not have, listing the ones it does.
pub fn unknown_type<E: serde_de::Error>(found: &str, expected: &[&str]) -> E {
    E::custom(format_args!(
        "unknown session type `{found}`, expected one of {}",
        quoted_list(expected)
    ))
}

/// `` `a`, `b` `` for error messages.
pub(crate) fn quoted_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
    quoted.join(", ")
}
