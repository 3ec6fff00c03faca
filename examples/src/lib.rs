//! The session types the examples run with, in a library so that `cargo xtask schema` exports
//! exactly those: JSON Schema and TypeScript in `schema/`.

pub mod opaque;
pub mod quickstart;
