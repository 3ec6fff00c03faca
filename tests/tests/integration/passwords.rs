//! Password hashing (`password::Passwords`): OpenAuth's stored hashes, made by the real
//! `@openauthjs/openauth` package (tests/issuers' npm lock file), verify here and move to
//! argon2id; an account that does not exist costs what a wrong password costs.

use auth_runtime::password::{Credential, Passwords, Verification};

use crate::common::backends::{Backend, Engine};

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
    let runtime = crate::common::runtime();
    let passwords = Passwords::new().expect("argon2id");
    let stored = runtime.block_on(passwords.hash(PASSWORD)).expect("hashed");
    let (wrong, unknown, ratio) = crate::common::timing::ratio_of_medians(
        15,
        || {
            let _ = runtime.block_on(passwords.verify("a wrong password entirely", &stored));
        },
        || {
            let _ = runtime.block_on(passwords.verify_unknown("a wrong password entirely"));
        },
    );
    println!("median unknown / median wrong password: {ratio:.2}");
    assert!((0.5..2.0).contains(&ratio), "unknown {unknown:?} vs wrong {wrong:?}");
}

/// The credential store's contract, on two instances of one state: of eight registrations of
/// one address at once, exactly one creates the account, and every instance then reads the
/// winner's; a new hash is seen by both; an unknown address changes nothing; and on the durable
/// stores the accounts survive the instances.
fn password_store_contract(engine: Engine) {
    let backend = Backend::start(engine);
    crate::common::runtime().block_on(async {
        let (first, second) = (backend.password_store().await, backend.password_store().await);
        let email = "ada@example.com";
        let attempts: Vec<_> = (0..8)
            .map(|index| {
                let store = if index % 2 == 0 { first.clone() } else { second.clone() };
                tokio::spawn(async move {
                    let credential = Credential::new(format!("subject-{index}"), format!("hash-{index}"));
                    store
                        .create("ada@example.com", &credential)
                        .await
                        .map(|created| (created, credential))
                })
            })
            .collect();
        let mut winners = Vec::new();
        for attempt in attempts {
            let (created, credential) = attempt.await.expect("task").expect("the store answers");
            if created {
                winners.push(credential);
            }
        }
        assert_eq!(winners.len(), 1, "one registration wins: {winners:?}");
        let winner = winners.pop().expect("a winner");
        assert_eq!(second.find(email).await.expect("read"), Some(winner.clone()));
        assert_eq!(first.find(email).await.expect("read"), Some(winner.clone()));
        assert!(second.set_hash(email, "$argon2id$new").await.expect("written"));
        let updated = first.find(email).await.expect("read").expect("the account");
        assert_eq!(
            (updated.subject.as_str(), updated.hash.as_str()),
            (winner.subject.as_str(), "$argon2id$new")
        );
        assert!(!first.set_hash("nobody@example.com", "x").await.expect("answered"));
        assert_eq!(first.find("nobody@example.com").await.expect("read"), None);
        drop((first, second));
        if backend.durable() {
            let reopened = backend.password_store().await;
            assert_eq!(
                reopened
                    .find(email)
                    .await
                    .expect("read")
                    .map(|credential| credential.hash),
                Some("$argon2id$new".to_owned()),
                "the account survives its store"
            );
        }
    });
}

#[test]
fn the_memory_password_store_keeps_the_contract() {
    password_store_contract(Engine::Memory);
}

#[test]
fn the_sqlite_password_store_keeps_the_contract() {
    password_store_contract(Engine::Sqlite);
}

#[test]
#[ignore = "needs PostgreSQL (apt install postgresql)"]
fn the_postgres_password_store_keeps_the_contract() {
    password_store_contract(Engine::Postgres);
}
