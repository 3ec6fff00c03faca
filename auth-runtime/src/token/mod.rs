//! The token format, from the bottom of the crate: keys and the crypto backend, the
//! `{type, properties}` wire codec, claims, signing and strict verification.
//!
//! Nothing here knows about HTTP, caches or the facade; everything above builds on it.

pub(crate) mod algorithm;
pub(crate) mod claims;
pub(crate) mod compact;
pub(crate) mod crypto;
pub(crate) mod defaults;
pub(crate) mod error;
pub(crate) mod keys;
pub(crate) mod reading;
pub(crate) mod sign;
pub(crate) mod verify;
pub(crate) mod wire;
