//! Where credentials live: the [`PasswordStore`] trait (write one over your own users table),
//! [`MemoryPasswordStore`] for development and tests, and the SQL stores
//! ([`SqliteStore`](crate::store::SqliteStore), [`PostgresStore`](crate::store::PostgresStore),
//! with their features), which keep them in a `<prefix>credentials` table of their own.

use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;

use crate::store::contract::{StoreError, StoreFuture};

/// How many accounts a [`MemoryPasswordStore`] holds by default.
pub const DEFAULT_MEMORY_ACCOUNTS: usize = 100_000;

/// A person's credential: who they are (the subject their sessions carry) and their password
/// hash (a PHC string, or an OpenAuth record until it is rehashed).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Credential {
    /// The subject of the account's sessions.
    pub subject: String,
    /// The stored password hash.
    pub hash: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("subject", &self.subject)
            .field("hash", &"<redacted>")
            .finish()
    }
}

impl Credential {
    /// A credential for `subject` with `hash`.
    pub fn new(subject: impl Into<String>, hash: impl Into<String>) -> Self {
        Credential {
            subject: subject.into(),
            hash: hash.into(),
        }
    }
}

/// An email address as credentials are keyed by: trimmed and lowercased.
pub fn normalized_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Where credentials are kept, by normalized email address ([`normalized_email`]). Implement it
/// over your own users table; each step must be atomic on its own.
pub trait PasswordStore: Send + Sync + 'static {
    /// The credential of `email`, if it has an account.
    fn find<'a>(&'a self, email: &'a str) -> StoreFuture<'a, Option<Credential>>;
    /// Creates `email`'s account; `false`, changing nothing, when it already has one (of two
    /// registrations at once, one wins).
    fn create<'a>(&'a self, email: &'a str, credential: &'a Credential) -> StoreFuture<'a, bool>;
    /// Replaces `email`'s password hash (a new password, or a rehash); `false` when it has no
    /// account.
    fn set_hash<'a>(&'a self, email: &'a str, hash: &'a str) -> StoreFuture<'a, bool>;
}

/// Credentials in this process's memory, for development and tests: gone at restart. Holds at
/// most [`DEFAULT_MEMORY_ACCOUNTS`] accounts (`with_capacity` to change it), then refuses new
/// ones with [`StoreError::Full`].
#[derive(Debug)]
pub struct MemoryPasswordStore {
    accounts: RwLock<HashMap<String, Credential>>,
    capacity: usize,
}

impl Default for MemoryPasswordStore {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_MEMORY_ACCOUNTS)
    }
}

impl MemoryPasswordStore {
    /// An empty store of [`DEFAULT_MEMORY_ACCOUNTS`] accounts.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store of `capacity` accounts.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryPasswordStore {
            accounts: RwLock::new(HashMap::new()),
            capacity,
        }
    }

    fn accounts(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Credential>> {
        self.accounts.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl PasswordStore for MemoryPasswordStore {
    fn find<'a>(&'a self, email: &'a str) -> StoreFuture<'a, Option<Credential>> {
        let found = self.accounts().get(email).cloned();
        Box::pin(std::future::ready(Ok(found)))
    }

    fn create<'a>(&'a self, email: &'a str, credential: &'a Credential) -> StoreFuture<'a, bool> {
        let mut accounts = self.accounts();
        let result = if accounts.contains_key(email) {
            Ok(false)
        } else if accounts.len() >= self.capacity {
            Err(StoreError::Full {
                capacity: self.capacity,
            })
        } else {
            accounts.insert(email.to_owned(), credential.clone());
            Ok(true)
        };
        Box::pin(std::future::ready(result))
    }

    fn set_hash<'a>(&'a self, email: &'a str, hash: &'a str) -> StoreFuture<'a, bool> {
        let changed = match self.accounts().get_mut(email) {
            Some(credential) => {
                credential.hash = hash.to_owned();
                true
            }
            None => false,
        };
        Box::pin(std::future::ready(Ok(changed)))
    }
}

/// The SQL stores keep credentials in their `<prefix>credentials` table, one statement a step.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
macro_rules! sql_password_store {
    ($store:ty) => {
        impl PasswordStore for $store {
            fn find<'a>(&'a self, email: &'a str) -> StoreFuture<'a, Option<Credential>> {
                Box::pin(self.records().find_credential(email))
            }

            fn create<'a>(&'a self, email: &'a str, credential: &'a Credential) -> StoreFuture<'a, bool> {
                Box::pin(self.records().create_credential(email, credential))
            }

            fn set_hash<'a>(&'a self, email: &'a str, hash: &'a str) -> StoreFuture<'a, bool> {
                Box::pin(self.records().set_credential_hash(email, hash))
            }
        }
    };
}

#[cfg(feature = "sqlite")]
sql_password_store!(crate::store::SqliteStore);
#[cfg(feature = "postgres")]
sql_password_store!(crate::store::PostgresStore);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_store_creates_once_and_is_bounded() -> Result<(), StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|error| StoreError::Unavailable(error.into()))?;
        runtime.block_on(async {
            let store = MemoryPasswordStore::with_capacity(1);
            let ada = Credential::new("ada", "hash-1");
            assert!(store.create("ada@example.com", &ada).await?);
            assert!(!store.create("ada@example.com", &Credential::new("eve", "x")).await?);
            assert_eq!(store.find("ada@example.com").await?, Some(ada));
            assert!(store.set_hash("ada@example.com", "hash-2").await?);
            assert!(!store.set_hash("nobody@example.com", "hash").await?);
            assert!(matches!(
                store.create("bob@example.com", &Credential::new("bob", "h")).await,
                Err(StoreError::Full { capacity: 1 })
            ));
            Ok(())
        })
    }

    #[test]
    fn emails_are_keyed_trimmed_and_lowercased() {
        assert_eq!(normalized_email("  Ada@Example.COM "), "ada@example.com");
    }
}
