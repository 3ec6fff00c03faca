//! Compile tests for the derive: every rejected input fails with a spanned message that says the
//! fix, and every accepted shape compiles (including a renamed runtime and `no_implicit_prelude`).
//!
//! After an intentional change to a message, regenerate with
//! `TRYBUILD=overwrite cargo test -p auth-ui-tests` and review the diff.

#[cfg(test)]
mod tests {
    #[test]
    fn ui() {
        let cases = trybuild::TestCases::new();
        cases.compile_fail("fail/*.rs");
        cases.pass("pass/*.rs");
    }
}
