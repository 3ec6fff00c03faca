//! Hashing and verifying, argon2id on tokio's blocking pool with a bound on concurrent work.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;
use unicode_normalization::UnicodeNormalization;

use super::openauth;

/// OWASP's minimum memory cost for argon2id: 19 MiB.
pub const DEFAULT_MEMORY_KIB: u32 = 19 * 1024;
/// OWASP's minimum passes for argon2id at that memory: 2.
pub const DEFAULT_ITERATIONS: u32 = 2;
/// Lanes: 1 (the work is spread across requests, not within one).
pub const DEFAULT_PARALLELISM: u32 = 1;
/// How many hashes may wait for a turn beyond those running, by default.
pub const DEFAULT_MAX_WAITING: usize = 64;

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// As many hashes are running and waiting as the bounds allow: try again shortly (503 with
    /// `Retry-After`). A flood of sign-ins is refused here instead of taking the service's CPU.
    #[error("too many password checks at once; try again shortly")]
    Busy,
    /// The argon2 parameters are not valid.
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    /// The operating system's random number generator failed (for a salt).
    #[error("could not draw random bytes for a salt: {0}")]
    Random(getrandom::Error),
    /// The hashing task failed to run.
    #[error("the password hashing task failed: {0}")]
    Task(String),
    /// Hashing failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// What checking a password against a stored hash found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verification {
    /// The password is right. `needs_rehash`: the stored hash is not argon2id with the current
    /// parameters (weaker ones, or OpenAuth's scrypt or PBKDF2): store a new [`Passwords::hash`].
    Valid {
        /// Whether to store a fresh hash now.
        needs_rehash: bool,
    },
    /// The password is wrong, or the stored value is not a hash this crate reads.
    Invalid,
}

/// Hashes and checks passwords; see the [module docs](super). Cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    running: Semaphore,
    max_concurrent: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// A hash of a random password, checked for accounts that do not exist.
    dummy: String,
}

impl fmt::Debug for Passwords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Passwords")
            .field("memory_kib", &self.inner.params.m_cost())
            .field("iterations", &self.inner.params.t_cost())
            .field("parallelism", &self.inner.params.p_cost())
            .field("max_concurrent", &self.inner.max_concurrent)
            .field("max_waiting", &self.inner.max_waiting)
            .finish()
    }
}

/// The machine's cores, as the default number of hashes at once.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

/// `password` in Unicode NFKC: what is hashed, so a password typed with a composed or a
/// decomposed accent, or a ligature, is the same password (NIST SP 800-63B, section 3.1.1.2).
pub(super) fn normalized(password: &str) -> String {
    password.nfkc().collect()
}

/// A fresh PHC string for `password` with `params`.
fn hash_now(params: &Params, password: &[u8]) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(PasswordError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|error| PasswordError::Hash(error.to_string()))?;
    argon2(params)
        .hash_password(password, &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| PasswordError::Hash(error.to_string()))
}

/// Checks `password` against `stored`, in whichever format it is: argon2id hashes were made of
/// the NFKC form, OpenAuth's records of the password as typed.
fn verify_now(params: &Params, password: &str, stored: &str) -> Verification {
    if let Ok(parsed) = PasswordHash::new(stored)
        && parsed.algorithm.as_str() == "argon2id"
    {
        let matches = argon2(params)
            .verify_password(normalized(password).as_bytes(), &parsed)
            .is_ok();
        if !matches {
            return Verification::Invalid;
        }
        let current = Params::try_from(&parsed).is_ok_and(|used| {
            used.m_cost() >= params.m_cost() && used.t_cost() >= params.t_cost() && used.p_cost() >= params.p_cost()
        });
        return Verification::Valid { needs_rehash: !current };
    }
    if openauth::verify(password.as_bytes(), stored) {
        Verification::Valid { needs_rehash: true }
    } else {
        Verification::Invalid
    }
}

impl Passwords {
    /// argon2id with OWASP's minimum parameters; as many hashes at once as the machine has cores,
    /// [`DEFAULT_MAX_WAITING`] more waiting.
    pub fn new() -> Result<Self, PasswordError> {
        Self::with_params(DEFAULT_MEMORY_KIB, DEFAULT_ITERATIONS, DEFAULT_PARALLELISM)
    }

    /// argon2id with `memory_kib` KiB of memory, `iterations` passes and `parallelism` lanes
    /// (refused below OWASP's minimum: 19 MiB and 2 passes, or 46 MiB and 1 pass).
    pub fn with_params(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, PasswordError> {
        let owasp =
            (memory_kib >= DEFAULT_MEMORY_KIB && iterations >= 2) || (memory_kib >= 46 * 1024 && iterations >= 1);
        if !owasp {
            return Err(PasswordError::Params(format!(
                "{memory_kib} KiB and {iterations} passes are below OWASP's minimum (19 MiB and 2, or 46 MiB and 1)"
            )));
        }
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|error| PasswordError::Params(error.to_string()))?;
        let mut dummy_password = [0u8; 32];
        getrandom::getrandom(&mut dummy_password).map_err(PasswordError::Random)?;
        let dummy = hash_now(&params, &dummy_password)?;
        let max_concurrent = cores();
        Ok(Passwords {
            inner: Arc::new(Inner {
                params,
                running: Semaphore::new(max_concurrent),
                max_concurrent,
                waiting: AtomicUsize::new(0),
                max_waiting: DEFAULT_MAX_WAITING,
                dummy,
            }),
        })
    }

    /// At most `n` hashes at once (at least 1; the machine's cores by default). Each takes the
    /// memory cost for as long as it runs.
    pub fn max_concurrent(self, n: usize) -> Self {
        let max_waiting = self.inner.max_waiting;
        self.rebuilt(n.max(1), max_waiting)
    }

    /// At most `n` hashes waiting for a turn ([`DEFAULT_MAX_WAITING`] by default); past that,
    /// [`PasswordError::Busy`] at once.
    pub fn max_waiting(self, n: usize) -> Self {
        let max_concurrent = self.inner.max_concurrent;
        self.rebuilt(max_concurrent, n)
    }

    fn rebuilt(self, max_concurrent: usize, max_waiting: usize) -> Self {
        Passwords {
            inner: Arc::new(Inner {
                params: self.inner.params.clone(),
                running: Semaphore::new(max_concurrent),
                max_concurrent,
                waiting: AtomicUsize::new(0),
                max_waiting,
                dummy: self.inner.dummy.clone(),
            }),
        }
    }

    /// A new argon2id hash of `password`, as a PHC string to store.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let params = self.inner.params.clone();
        let password = normalized(password);
        self.run(move || hash_now(&params, password.as_bytes())).await?
    }

    /// Checks `password` against a stored hash: an argon2id PHC string, or OpenAuth's scrypt or
    /// PBKDF2 record.
    pub async fn verify(&self, password: &str, stored: &str) -> Result<Verification, PasswordError> {
        let params = self.inner.params.clone();
        let password = password.to_owned();
        let stored = stored.to_owned();
        self.run(move || verify_now(&params, &password, &stored)).await
    }

    /// The same work as [`verify`](Self::verify), for an account that does not exist: always
    /// [`Verification::Invalid`], in about the time a wrong password takes.
    pub async fn verify_unknown(&self, password: &str) -> Result<Verification, PasswordError> {
        let dummy = self.inner.dummy.clone();
        self.verify(password, &dummy).await.map(|_| Verification::Invalid)
    }

    /// Runs `work` on the blocking pool once a turn is free; refuses at once when too many wait.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, PasswordError> {
        let inner = &self.inner;
        if inner.waiting.fetch_add(1, Ordering::AcqRel) >= inner.max_waiting + inner.max_concurrent {
            inner.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(PasswordError::Busy);
        }
        let permit = inner.running.acquire().await;
        let result = match permit {
            Ok(_permit) => tokio::task::spawn_blocking(work)
                .await
                .map_err(|error| PasswordError::Task(error.to_string())),
            Err(error) => Err(PasswordError::Task(error.to_string())),
        };
        inner.waiting.fetch_sub(1, Ordering::AcqRel);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|error| panic!("runtime: {error}"))
    }

    #[test]
    fn a_hash_is_argon2id_with_its_parameters_and_verifies() -> Result<(), PasswordError> {
        runtime().block_on(async {
            let passwords = Passwords::new()?;
            let hash = passwords.hash("correct horse battery staple").await?;
            assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
            assert_eq!(
                passwords.verify("correct horse battery staple", &hash).await?,
                Verification::Valid { needs_rehash: false }
            );
            assert_eq!(
                passwords.verify("correct horse battery stapl", &hash).await?,
                Verification::Invalid
            );
            assert_eq!(passwords.verify("anything", "not a hash").await?, Verification::Invalid);
            // Two hashes of one password differ (fresh salts).
            assert_ne!(passwords.hash("same").await?, passwords.hash("same").await?);
            Ok(())
        })
    }

    /// NFKC: an accent typed composed or decomposed, and a ligature, are the same password.
    #[test]
    fn one_password_typed_two_ways_is_one_password() -> Result<(), PasswordError> {
        runtime().block_on(async {
            let passwords = Passwords::new()?;
            let hash = passwords.hash("caf\u{e9} au lait for breakfast").await?;
            assert_eq!(
                passwords.verify("cafe\u{301} au lait for breakfast", &hash).await?,
                Verification::Valid { needs_rehash: false }
            );
            let ligature = passwords.hash("\u{fb01}ve little words here").await?;
            assert_eq!(
                passwords.verify("five little words here", &ligature).await?,
                Verification::Valid { needs_rehash: false }
            );
            Ok(())
        })
    }

    /// Parameters raised later: an old hash still verifies, and says it needs rehashing.
    #[test]
    fn raised_parameters_ask_for_a_rehash() -> Result<(), PasswordError> {
        runtime().block_on(async {
            let old = Passwords::new()?;
            let hash = old.hash("a long enough passphrase").await?;
            let raised = Passwords::with_params(DEFAULT_MEMORY_KIB, 3, 1)?;
            assert_eq!(
                raised.verify("a long enough passphrase", &hash).await?,
                Verification::Valid { needs_rehash: true }
            );
            Ok(())
        })
    }

    #[test]
    fn parameters_below_owasp_are_refused() {
        assert!(matches!(
            Passwords::with_params(8 * 1024, 2, 1),
            Err(PasswordError::Params(_))
        ));
        assert!(matches!(
            Passwords::with_params(DEFAULT_MEMORY_KIB, 1, 1),
            Err(PasswordError::Params(_))
        ));
        assert!(Passwords::with_params(46 * 1024, 1, 1).is_ok());
    }

    #[test]
    fn an_unknown_account_is_never_valid() -> Result<(), PasswordError> {
        runtime().block_on(async {
            let passwords = Passwords::new()?;
            assert_eq!(passwords.verify_unknown("whatever").await?, Verification::Invalid);
            Ok(())
        })
    }

    /// The bound: with one running and one waiting, a third request is refused at once, and the
    /// first two complete.
    #[test]
    fn past_the_bound_a_hash_is_refused_at_once() -> Result<(), PasswordError> {
        runtime().block_on(async {
            let passwords = Passwords::new()?.max_concurrent(1).max_waiting(1);
            // Four at once: spawned together, they all reach the bound before the first ends.
            let tasks: Vec<_> = ["first", "second", "third", "fourth"]
                .into_iter()
                .map(|which| {
                    let passwords = passwords.clone();
                    tokio::spawn(async move { passwords.hash(&format!("the {which} password here")).await })
                })
                .collect();
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.map_err(|error| PasswordError::Task(error.to_string()))?);
            }
            let busy = results
                .iter()
                .filter(|result| matches!(result, Err(PasswordError::Busy)))
                .count();
            let done = results.iter().filter(|result| result.is_ok()).count();
            assert_eq!((done, busy), (2, 2), "{results:?}");
            // The bound frees as work ends.
            assert!(passwords.hash("later password here").await.is_ok());
            Ok(())
        })
    }
}
