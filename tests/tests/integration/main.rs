//! The integration tests, as one binary: each module is one area (the files that were separate
//! test binaries), sharing `common`'s fixtures. One binary links the dependency graph once
//! instead of once per file.
//!
//! Tests that need a program or data this machine may not have (redis-server, Node.js, Python's
//! `jsonschema`, the Wycheproof vectors beside the checkout) are `#[ignore = "needs ..."]`: a plain
//! `cargo test` lists them as ignored with the reason, and `cargo test -- --include-ignored` (what
//! `.ci/run` runs, after installing them) runs them and fails when the tool is missing.

mod common;

mod authorization;
mod authorization_interop;
mod authz;
mod better_auth;
mod binding;
mod browser;
mod cache;
mod edges;
mod fuzz_corpora;
mod grpc;
mod instances;
mod issuers;
mod jwks;
mod landing;
mod layout;
mod lifetimes;
mod limits;
mod login_csrf;
mod logs;
mod middleware;
mod oidc;
mod opaque_sessions;
mod password_flows;
mod passwords;
mod properties;
mod providers;
mod quickstart;
mod read;
mod redirects;
mod redis_store;
mod refresh;
mod refresh_rotation;
mod schema;
mod secrets;
mod security;
mod services;
mod social;
mod social_oidc;
mod sources;
mod store_contract;
mod token_size;
mod tokens;
mod wire;
mod wycheproof;
