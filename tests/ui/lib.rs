//! Compile tests for the derive: every rejected input fails with a spanned message that says the
//! fix (`fail/`, through trybuild), and every accepted shape compiles and works (`tests/`, one
//! crate each, so that a renamed runtime and a crate-wide `no_implicit_prelude` are real).
//!
//! The accepted shapes are plain test crates rather than trybuild `pass` cases: with none of
//! those, trybuild only has to `cargo check` its cases, not build them and their dependencies.
//!
//! After an intentional change to a message, regenerate with
//! `TRYBUILD=overwrite cargo test -p auth-ui-tests` and review the diff.

#[cfg(test)]
mod tests {
    #[test]
    fn ui() {
        let cases = trybuild::TestCases::new();
        cases.compile_fail("fail/*.rs");
    }
}
