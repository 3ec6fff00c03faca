//! The traits `#[derive(SessionTypes)]` implements: what the runtime needs to know about a
//! user's session enum, and narrowing it to one variant by type.

use std::any::Any;

use serde::de::DeserializeOwned;
use serde::{Deserializer, Serialize, Serializer};

/// A session enum: a tagged union whose wire form is `{"type": "<tag>", "properties": {...}}`.
///
/// Derive it with `#[derive(SessionTypes)]` rather than implementing it by hand; the derive also
/// writes the matching `Serialize`, `Deserialize`, `JsonSchema` (with the `schema` feature),
/// [`SessionVariant`] and the `is_<variant>()` / `as_<variant>()` accessors.
pub trait SessionTypes: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Every tag this enum accepts, in declaration order.
    const TYPES: &'static [&'static str];

    /// The tag of this value, one of [`TYPES`](Self::TYPES).
    fn session_type(&self) -> &'static str;

    /// Writes this value's `properties` object.
    fn serialize_properties<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;

    /// Reads the `properties` object of a session whose tag is `session_type`.
    ///
    /// An unknown tag is an error that lists [`TYPES`](Self::TYPES).
    fn deserialize_properties<'de, D: Deserializer<'de>>(session_type: &str, deserializer: D)
    -> Result<Self, D::Error>;

    /// The value inside a newtype variant, type-erased, so code that knows the variant's type but
    /// not the enum (an extractor like `Require<ApiClient>`) can narrow to it. `None` for struct
    /// and unit variants.
    fn variant_any(&self) -> Option<&(dyn Any + Send + Sync)> {
        None
    }
}

/// A session enum with a newtype variant holding `T`: lets code ask for "the `T` session" by type.
///
/// Generated for each newtype variant (`Api(ApiClient)` gives `SessionVariant<ApiClient>`); the
/// derive refuses two newtype variants of one type, so the variant a type names is never ambiguous.
pub trait SessionVariant<T>: SessionTypes {
    /// The tag of the variant that holds `T`.
    const TYPE: &'static str;

    /// The `T` inside, if this session is of that variant.
    fn as_variant(&self) -> Option<&T>;

    /// Takes the `T` out, or gives the session back unchanged if it is another variant.
    fn into_variant(self) -> Result<T, Self>
    where
        Self: Sized;

    /// Wraps a `T` in its variant.
    fn from_variant(value: T) -> Self
    where
        Self: Sized;
}
