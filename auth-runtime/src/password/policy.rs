//! What a new password must be (NIST SP 800-63B rev. 4, section 3.1.1.2): long enough, not too
//! long to hash, no composition rules, and not a common or breached password, nor the account's
//! own name.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// NIST's minimum for a password used alone: 15 characters.
pub const DEFAULT_MIN_CHARS: usize = 15;
/// The least minimum a policy takes: 8 characters (NIST's minimum with a second factor).
pub const MIN_MIN_CHARS: usize = 8;
/// The longest password accepted by default: 128 characters (NIST asks for at least 64).
pub const DEFAULT_MAX_CHARS: usize = 128;

/// Common passwords of 8 characters or more, lowercased: the `passwords` frequency list of
/// zxcvbn (Dropbox, MIT licence; `common-passwords.LICENSE` beside it), drawn from leaked
/// password sets.
const COMMON: &str = include_str!("../../data/common-passwords.txt");

/// Whether `password` is on the default list of common passwords (compared lowercased).
pub fn is_common_password(password: &str) -> bool {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let list = LIST.get_or_init(|| COMMON.lines().filter(|line| !line.is_empty()).collect());
    list.contains(password.to_lowercase().as_str())
}

/// Why a new password is refused: each says what to do, none asks for a kind of character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordRejected {
    /// Fewer characters than the minimum.
    #[error("use at least {min} characters; a few words together make a good password")]
    TooShort {
        /// The minimum.
        min: usize,
    },
    /// More characters than the maximum.
    #[error("use at most {max} characters")]
    TooLong {
        /// The maximum.
        max: usize,
    },
    /// On the list of common and breached passwords.
    #[error("this password is too common; choose another")]
    Common,
    /// The account's own name or address.
    #[error("do not use your email address or its name as your password")]
    ContextSpecific,
    /// The app's own check said no, with its reason.
    #[error("{0}")]
    Rejected(String),
}

/// The app's own check on a new password (a breach lookup, a list of its own): `Some(reason)`
/// refuses it.
pub type PasswordCheck = dyn Fn(&str) -> Option<String> + Send + Sync;

/// The rules a new password must meet; see the [module docs](super).
#[derive(Clone)]
pub struct PasswordPolicy {
    min_chars: usize,
    max_chars: usize,
    blocklist: bool,
    check: Option<Arc<PasswordCheck>>,
}

impl fmt::Debug for PasswordPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordPolicy")
            .field("min_chars", &self.min_chars)
            .field("max_chars", &self.max_chars)
            .field("blocklist", &self.blocklist)
            .field("check", &self.check.is_some())
            .finish()
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_chars: DEFAULT_MIN_CHARS,
            max_chars: DEFAULT_MAX_CHARS,
            blocklist: true,
            check: None,
        }
    }
}

impl PasswordPolicy {
    /// At least `min` characters ([`DEFAULT_MIN_CHARS`] by default; never below
    /// [`MIN_MIN_CHARS`], which is for passwords with a second factor).
    pub fn min_chars(mut self, min: usize) -> Self {
        self.min_chars = min.max(MIN_MIN_CHARS);
        self
    }

    /// At most `max` characters ([`DEFAULT_MAX_CHARS`] by default; never below 64, as NIST asks).
    pub fn max_chars(mut self, max: usize) -> Self {
        self.max_chars = max.max(64);
        self
    }

    /// The minimum length, in characters.
    pub fn minimum_chars(&self) -> usize {
        self.min_chars
    }

    /// The maximum length, in characters.
    pub fn maximum_chars(&self) -> usize {
        self.max_chars
    }

    /// Turns the default list of common passwords off (with your own check in its place).
    pub fn without_default_blocklist(mut self) -> Self {
        self.blocklist = false;
        self
    }

    /// Adds the app's own check (a breached-password lookup, say).
    pub fn check(mut self, check: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        self.check = Some(Arc::new(check));
        self
    }

    /// Checks a new `password` for the account `identity` (its email address). Characters are
    /// counted as Unicode code points of its NFKC form (the form that is hashed); any character
    /// is allowed, spaces included.
    pub fn check_new(&self, password: &str, identity: &str) -> Result<(), PasswordRejected> {
        // Counted as it is hashed: in NFKC.
        let password = super::hashing::normalized(password);
        let password = password.as_str();
        let chars = password.chars().count();
        if chars < self.min_chars {
            return Err(PasswordRejected::TooShort { min: self.min_chars });
        }
        if chars > self.max_chars {
            return Err(PasswordRejected::TooLong { max: self.max_chars });
        }
        let lowered = password.to_lowercase();
        let identity = identity.trim().to_lowercase();
        let local = identity.split('@').next().unwrap_or_default();
        if !identity.is_empty() && (lowered == identity || (local.chars().count() >= 4 && lowered == local)) {
            return Err(PasswordRejected::ContextSpecific);
        }
        if self.blocklist && is_common_password(password) {
            return Err(PasswordRejected::Common);
        }
        if let Some(reason) = self.check.as_ref().and_then(|check| check(password)) {
            return Err(PasswordRejected::Rejected(reason));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_refuses_what_it_should() {
        let policy = PasswordPolicy::default();
        let ok = "a long passphrase of words";
        assert_eq!(policy.check_new(ok, "ada@example.com"), Ok(()));
        assert_eq!(
            policy.check_new("fourteen chars", "ada@example.com"),
            Err(PasswordRejected::TooShort { min: 15 })
        );
        // Code points, not bytes: 15 multi-byte characters are 15 characters.
        assert_eq!(policy.check_new("ééééééééééééééé", "ada@example.com"), Ok(()));
        assert_eq!(
            policy.check_new(&"x".repeat(129), "ada@example.com"),
            Err(PasswordRejected::TooLong { max: 128 })
        );
        assert_eq!(
            policy.check_new(&"x y".repeat(21), "ada@example.com"),
            Ok(()),
            "64 characters pass"
        );
        // No composition rules: lowercase letters and spaces only are fine.
        assert_eq!(policy.check_new("only lowercase words here", "ada@example.com"), Ok(()));
        assert_eq!(
            policy.check_new("ada.lovelace@example.com", "Ada.Lovelace@example.com"),
            Err(PasswordRejected::ContextSpecific)
        );
        let common = PasswordPolicy::default().min_chars(8);
        assert_eq!(
            common.check_new("password1234", "ada@example.com"),
            Err(PasswordRejected::Common)
        );
        assert_eq!(
            common.check_new("PASSWORD1234", "ada@example.com"),
            Err(PasswordRejected::Common)
        );
        let own =
            PasswordPolicy::default().check(|password| password.contains("acme").then(|| "no company name".to_owned()));
        assert_eq!(
            own.check_new("acme rocks forever and ever", "ada@example.com"),
            Err(PasswordRejected::Rejected("no company name".into()))
        );
        // The minimum never goes below 8, the maximum never below 64.
        assert_eq!(PasswordPolicy::default().min_chars(4).min_chars, 8);
        assert_eq!(PasswordPolicy::default().max_chars(10).max_chars, 64);
    }

    #[test]
    fn the_default_list_is_loaded_and_long() {
        assert!(is_common_password("password"));
        assert!(is_common_password("iloveyou123"));
        assert!(!is_common_password("a long passphrase of words"));
        assert!(COMMON.lines().count() > 17_000);
    }
}
