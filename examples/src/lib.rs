//! The examples' library: the session types they run with (so that `cargo xtask schema` exports
//! exactly those: JSON Schema and TypeScript in `schema/`), and, with the default `apps` feature,
//! the example apps themselves, which the example programs serve and the integration tests drive.

pub mod opaque;
#[cfg(feature = "apps")]
pub mod opaque_app;
pub mod quickstart;
#[cfg(feature = "apps")]
pub mod quickstart_app;
