//! Passwords done the way NIST SP 800-63B rev. 4 and OWASP ask: hashed with argon2id
//! ([`Passwords`]), held to a [`PasswordPolicy`] (a minimum length, no composition rules, a
//! blocklist of common passwords), and OpenAuth's stored hashes read so its users move over
//! without a reset.
//!
//! - **Hashing** is argon2id with OWASP's minimum by default (19 MiB of memory, 2 passes, 1
//!   lane: [`DEFAULT_MEMORY_KIB`], [`DEFAULT_ITERATIONS`], [`DEFAULT_PARALLELISM`]), a fresh
//!   16-byte salt each time, of the password's Unicode NFKC form (the same password typed with a
//!   composed or decomposed accent is one password), kept as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) so the
//!   parameters travel with the hash: raise them, and [`Verification::Valid`] says
//!   `needs_rehash` at each person's next sign-in.
//! - **Off the async workers, and bounded.** Each hash runs on tokio's blocking pool, at most
//!   [`Passwords::max_concurrent`] at once (the machine's cores by default: the memory in use is
//!   at most that many times the memory cost), with at most [`Passwords::max_waiting`] more
//!   waiting; past that a request is refused at once with [`PasswordError::Busy`] (answer 503
//!   with `Retry-After`) instead of queueing without end. A flood of sign-ins therefore costs the
//!   service a fixed share of its CPU and memory, never all of it.
//! - **No enumeration by timing.** [`Passwords::verify_unknown`] spends the same work on a
//!   password for an account that does not exist (a dummy hash made at start), so "no such
//!   account" takes as long as "wrong password".
//! - **Coming from OpenAuth.** [`Passwords::verify`] also reads what OpenAuth's
//!   `PasswordProvider` stores: its default scrypt hasher (`{"hash", "salt", "N", "r", "p"}`,
//!   base64) and its PBKDF2 hasher (`{"hash", "salt", "iterations"}`, base64url, SHA-256); both
//!   answer `needs_rehash`, so they become argon2id at the next sign-in.
//! - **Credentials** live in a [`PasswordStore`]: [`MemoryPasswordStore`], the SQL stores (a
//!   `<prefix>credentials` table beside their records), or your own users table.

mod hashing;
mod openauth;
mod policy;
mod store;

pub use self::hashing::{
    DEFAULT_ITERATIONS, DEFAULT_MAX_WAITING, DEFAULT_MEMORY_KIB, DEFAULT_PARALLELISM, PasswordError, Passwords,
    Verification,
};
pub use self::policy::{
    DEFAULT_MAX_CHARS, DEFAULT_MIN_CHARS, MIN_MIN_CHARS, PasswordCheck, PasswordPolicy, PasswordRejected,
    is_common_password,
};
pub use self::store::{Credential, DEFAULT_MEMORY_ACCOUNTS, MemoryPasswordStore, PasswordStore, normalized_email};
