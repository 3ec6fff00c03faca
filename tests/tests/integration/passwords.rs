//! Password hashing (`password::Passwords`): OpenAuth's stored hashes, made by the real
//! `@openauthjs/openauth` package (tests/issuers' npm lock file), verify here and move to
//! argon2id; an account that does not exist costs what a wrong password costs.

use std::time::Instant;

use auth_runtime::password::{Passwords, Verification};

/// A password with a character outside ASCII, as people type them.
const PASSWORD: &str = "correct horse battery staple é";

#[test]
#[ignore = "needs Node.js (OpenAuth's password hashers, from tests/issuers' npm lock file)"]
fn openauths_stored_hashes_verify_and_move_to_argon2id() {
    crate::common::tools::require("Node.js", "node", &["--version"]);
    let dir = crate::common::tools::dir("issuers");
    crate::common::tools::npm_install(&dir, "@openauthjs/openauth");
    let output = std::process::Command::new("node")
        .args(["openauth-hashes.mjs", PASSWORD])
        .current_dir(&dir)
        .output()
        .expect("node runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let records: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the script's JSON");
    crate::common::runtime().block_on(async {
        let passwords = Passwords::new().expect("argon2id");
        for format in ["scrypt", "pbkdf2"] {
            let stored = records[format].as_str().expect("a stored record");
            assert_eq!(
                passwords.verify(PASSWORD, stored).await.expect("checked"),
                Verification::Valid { needs_rehash: true },
                "OpenAuth's {format} record: {stored}"
            );
            assert_eq!(
                passwords
                    .verify("correct horse battery staple e", stored)
                    .await
                    .expect("checked"),
                Verification::Invalid,
                "a wrong password against OpenAuth's {format} record"
            );
        }
        // At the next sign-in the hash becomes argon2id, which needs nothing more.
        let rehashed = passwords.hash(PASSWORD).await.expect("hashed");
        assert!(rehashed.starts_with("$argon2id$"));
        assert_eq!(
            passwords.verify(PASSWORD, &rehashed).await.expect("checked"),
            Verification::Valid { needs_rehash: false }
        );
    });
}

/// No enumeration by timing: checking a password for an account that does not exist takes
/// about as long as a wrong password for one that does. Measured as the ratio of the medians of
/// interleaved samples in one run (never a wall-clock threshold).
#[test]
fn an_unknown_account_takes_as_long_as_a_wrong_password() {
    crate::common::runtime().block_on(async {
        let passwords = Passwords::new().expect("argon2id");
        let stored = passwords.hash(PASSWORD).await.expect("hashed");
        let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
        for _ in 0..9 {
            let started = Instant::now();
            let _ = passwords.verify("a wrong password entirely", &stored).await;
            wrong.push(started.elapsed());
            let started = Instant::now();
            let _ = passwords.verify_unknown("a wrong password entirely").await;
            unknown.push(started.elapsed());
        }
        wrong.sort();
        unknown.sort();
        let ratio = unknown[4].as_secs_f64() / wrong[4].as_secs_f64();
        println!("median unknown / median wrong password: {ratio:.2}");
        assert!(
            (0.5..2.0).contains(&ratio),
            "unknown {:?} vs wrong {:?}",
            unknown[4],
            wrong[4]
        );
    });
}
