//! Sign-in with an email address and a password (OpenAuth's `PasswordProvider`): register with a
//! code sent to the address, sign in, reset a forgotten password with a code, change it while
//! signed in. Passwords are checked and hashed by [`Passwords`] (argon2id, bounded) against a
//! [`PasswordPolicy`], and kept in a [`PasswordStore`].
//!
//! Every step is a form `POST` to `{prefix}/{provider}/callback` from this site, with the flow
//! cookie the authorize step set in this browser (the field `action` names the step); a `GET`
//! on the callback with `?page=sign-in|register|forgot|change` only shows that page.
//!
//! | step | fields | counts against |
//! |---|---|---|
//! | `sign-in` | `email`, `password` | the client's limit, password tries per identity |
//! | `register` | `email`, `password` | the client's and the identity's request limits (it sends an email) |
//! | `verify` | `code` | code tries per identity, attempts per code |
//! | `forgot` | `email` | the client's and the identity's request limits (it sends an email) |
//! | `reset` | `code`, `password` | code tries per identity, attempts per code |
//! | `change` | `email`, `current`, `password` | the client's limit, password tries per identity |
//!
//! **No enumeration.** Whether an address has an account changes no answer:
//! - a sign-in for an unknown address answers exactly like a wrong password, after the same
//!   work ([`Passwords::verify_unknown`]);
//! - registering an address that has an account answers like a new registration (the new
//!   password is hashed all the same) and mails the owner ([`PasswordMail::AlreadyRegistered`])
//!   instead of a code; the verify page then refuses every code;
//! - a reset for an unknown address answers like a known one ([`PasswordMail::NoAccount`] goes
//!   to the mailer, which may say so to the address or drop it), and refuses every code.
//!
//! Mail is handed to the mailer on a task of its own, so neither its time nor its failure (logged
//! at WARN) shows in the answer.
//!
//! **After a reset or a change** the account's other sessions and refresh families end
//! ([`Revocations::revoke_subject`]); the step then waits for the clock's next second (at most
//! one) before it signs the person in, so the new session, issued after the revocation, is not
//! covered by it. The sessions' subject must therefore be [`PasswordClaims::subject`].
//!
//! A password stored in an older format (weaker argon2 parameters, OpenAuth's scrypt or PBKDF2)
//! is rehashed at the person's next sign-in.

mod pages;
mod records;
mod steps;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::Method;

pub use self::pages::{PasswordPage, PasswordPageKind, PasswordProblem, default_password_page};
use super::contract::{BoxFuture, Provider, Step};
use super::error::{FlowError, FlowResponse};
use super::flow::{FlowRequest, clamp_ttl};
use crate::password::{PasswordError, PasswordPolicy, PasswordStore, Passwords};
use crate::random::random_id;
use crate::rate_limit::RateLimit;
use crate::revocation::Revocations;

/// Password tries (sign-in and change) per identity unless
/// [`PasswordProvider::tries_per_identity`] says otherwise: 10 per 15 minutes. NIST SP 800-63B
/// allows at most 100 failed attempts in a row.
pub const DEFAULT_PASSWORD_TRIES_PER_IDENTITY: RateLimit = RateLimit::new(10, Duration::from_secs(15 * 60));
/// How long a code (registration or reset) works unless [`PasswordProvider::code_ttl`] says
/// otherwise: 10 minutes.
pub const DEFAULT_PASSWORD_CODE_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a flow (the pages in one browser) lasts: 1 hour.
pub const PASSWORD_FLOW_TTL: Duration = Duration::from_secs(60 * 60);
/// Submissions allowed per code.
pub const PASSWORD_CODE_ATTEMPTS: u32 = 5;

/// An email for the mailer to send. Never shown in the answer, never awaited by it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordMail {
    /// A code that proves `to` is the person's, to finish registering.
    VerifyEmail {
        /// The address.
        to: String,
        /// The code.
        code: String,
    },
    /// Someone tried to register `to`, which has an account: tell the owner (and offer sign-in
    /// or a reset), send no code.
    AlreadyRegistered {
        /// The address.
        to: String,
    },
    /// A code to reset the password of `to`.
    ResetCode {
        /// The address.
        to: String,
        /// The code.
        code: String,
    },
    /// A reset was asked for `to`, which has no account: say so to the address, or drop it.
    NoAccount {
        /// The address.
        to: String,
    },
}

impl PasswordMail {
    /// The address it goes to.
    pub fn to(&self) -> &str {
        match self {
            PasswordMail::VerifyEmail { to, .. }
            | PasswordMail::AlreadyRegistered { to }
            | PasswordMail::ResetCode { to, .. }
            | PasswordMail::NoAccount { to } => to,
        }
    }
}

impl fmt::Debug for PasswordMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            PasswordMail::VerifyEmail { .. } => "VerifyEmail",
            PasswordMail::AlreadyRegistered { .. } => "AlreadyRegistered",
            PasswordMail::ResetCode { .. } => "ResetCode",
            PasswordMail::NoAccount { .. } => "NoAccount",
        };
        // The code is a credential: never in a log line.
        f.debug_struct(kind).field("to", &self.to()).finish_non_exhaustive()
    }
}

/// How a password flow ended in a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordEvent {
    /// Signed in with the password.
    SignedIn,
    /// A new account, its address proved by the code.
    Registered,
    /// A new password after a reset; the account's other sessions were revoked.
    Reset,
    /// A new password chosen while signed in; the account's other sessions were revoked.
    Changed,
}

/// What a password flow proves, handed to `on_success`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasswordClaims {
    /// The account's subject: the sessions issued for it must carry it as their subject, so a
    /// reset or a change can revoke them.
    pub subject: String,
    /// The account's address (trimmed and lowercased).
    pub email: String,
    /// Which step ended in the sign-in.
    pub event: PasswordEvent,
}

type Mailer = Arc<dyn Fn(PasswordMail) -> BoxFuture<'static, Result<(), FlowError>> + Send + Sync>;
type Pages = Arc<dyn Fn(&PasswordPage) -> FlowResponse + Send + Sync>;
type NewSubject = Arc<dyn Fn(&str) -> Result<String, FlowError> + Send + Sync>;

/// Signs people in with an email address and a password; see the [module docs](self).
pub struct PasswordProvider {
    passwords: Passwords,
    policy: PasswordPolicy,
    store: Arc<dyn PasswordStore>,
    revocations: Revocations,
    mailer: Mailer,
    pages: Pages,
    new_subject: NewSubject,
    tries_per_identity: RateLimit,
    code_ttl: Duration,
}

impl fmt::Debug for PasswordProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordProvider")
            .field("passwords", &self.passwords)
            .field("policy", &self.policy)
            .field("tries_per_identity", &self.tries_per_identity)
            .field("code_ttl", &self.code_ttl)
            .finish_non_exhaustive()
    }
}

impl PasswordProvider {
    /// A provider that hashes with `passwords`, keeps accounts in `store`, revokes a subject's
    /// sessions through `revocations` after a reset or a change (the same revocations the app's
    /// [`Revocable`](crate::revocation::Revocable) verifier and refresh tokens use), and hands
    /// each email to `mailer`.
    pub fn new<M, MFut>(
        passwords: Passwords,
        store: Arc<dyn PasswordStore>,
        revocations: Revocations,
        mailer: M,
    ) -> Self
    where
        M: Fn(PasswordMail) -> MFut + Send + Sync + 'static,
        MFut: Future<Output = Result<(), FlowError>> + Send + 'static,
    {
        PasswordProvider {
            passwords,
            policy: PasswordPolicy::default(),
            store,
            revocations,
            mailer: Arc::new(move |mail| Box::pin(mailer(mail))),
            pages: Arc::new(default_password_page),
            new_subject: Arc::new(|_| random_id::<16>().map_err(FlowError::other)),
            tries_per_identity: DEFAULT_PASSWORD_TRIES_PER_IDENTITY,
            code_ttl: DEFAULT_PASSWORD_CODE_TTL,
        }
    }

    /// The rules new passwords must meet ([`PasswordPolicy::default`]: at least 15 characters,
    /// not a common password).
    pub fn policy(mut self, policy: PasswordPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Renders the pages instead of [`default_password_page`] (every page, each with its kind,
    /// the address and what went wrong).
    pub fn pages(mut self, pages: impl Fn(&PasswordPage) -> FlowResponse + Send + Sync + 'static) -> Self {
        self.pages = Arc::new(pages);
        self
    }

    /// The subject of a new account, from its address (a random 128-bit id by default). Use the
    /// id your users table gives, or the address itself if your sessions are keyed by it.
    pub fn new_subject(mut self, subject: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        self.new_subject = Arc::new(move |email| Ok(subject(email)));
        self
    }

    /// Password tries (sign-in, change) per identity, counted in the handler's store.
    pub fn tries_per_identity(mut self, limit: RateLimit) -> Self {
        self.tries_per_identity = limit;
        self
    }

    /// How long a registration or reset code works: between 1 second and 1 day (clamped).
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.code_ttl = clamp_ttl(ttl);
        self
    }
}

impl Provider for PasswordProvider {
    type Claims = PasswordClaims;

    fn label(&self) -> Option<String> {
        Some("Password".to_owned())
    }

    /// The first step only shows a page; registering and resetting count the email they send.
    fn counts_identity_at_authorize(&self) -> bool {
        false
    }

    /// Starts a flow in this browser and shows the page `action` names (sign-in by default),
    /// with `email` pre-filled.
    async fn authorize(&self, request: &FlowRequest) -> Result<FlowResponse, FlowError> {
        let kind = match request.param("action") {
            None => PasswordPageKind::SignIn,
            Some(name) => PasswordPageKind::linkable(name).ok_or(FlowError::InvalidParameter("action"))?,
        };
        let email = request.param("email").unwrap_or_default();
        self.start(request, kind, email).await
    }

    async fn callback(&self, request: &FlowRequest) -> Result<Step<PasswordClaims>, FlowError> {
        if request.method() != Method::POST {
            return self.show(request).await.map(Step::Respond);
        }
        self.step(request).await
    }
}

impl From<PasswordError> for FlowError {
    fn from(error: PasswordError) -> Self {
        match error {
            PasswordError::Busy => FlowError::Busy { retry_after: 1 },
            other => FlowError::other(other),
        }
    }
}
