//! The password provider's steps: each `action`, and the pages that start and show a flow.

use std::time::Duration;

use super::pages::{PasswordPageKind, PasswordProblem};
use super::records::{FlowRecord, Purpose, required};
use super::{PASSWORD_FLOW_TTL, PasswordClaims, PasswordEvent, PasswordMail, PasswordProvider};
use crate::password::{Credential, Verification, normalized_email};
use crate::providers::code::random_code;
use crate::providers::contract::Step;
use crate::providers::error::{FlowError, FlowResponse};
use crate::providers::flow::{FlowRequest, flow_id};
use crate::random::random_u64;
use crate::telemetry::event;

/// Digits in a registration or reset code.
const CODE_DIGITS: u32 = 6;
/// The longest address accepted (RFC 5321's path limit).
const MAX_EMAIL_LEN: usize = 254;

/// The address in `email`, normalized, or why not.
fn email_of(request: &FlowRequest) -> Result<(String, String), FlowError> {
    let typed = request.param("email").ok_or(FlowError::MissingParameter("email"))?;
    let email = normalized_email(typed);
    let plausible = email.len() <= MAX_EMAIL_LEN
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
    if !plausible {
        return Err(FlowError::InvalidParameter("email"));
    }
    Ok((typed.to_owned(), email))
}

impl PasswordProvider {
    /// A new flow in this browser, on the page `kind`.
    pub(super) async fn start(
        &self,
        request: &FlowRequest,
        kind: PasswordPageKind,
        email: &str,
    ) -> Result<FlowResponse, FlowError> {
        let flow = flow_id()?;
        let record = FlowRecord {
            email: email.to_owned(),
            pending: None,
        };
        self.save(request, &flow, &record).await?;
        let mut response = self.render(request, kind, email, None);
        request.set_flow_state(&mut response, &flow, PASSWORD_FLOW_TTL)?;
        Ok(response)
    }

    /// `GET ?page=`: the page, in this browser's flow.
    pub(super) async fn show(&self, request: &FlowRequest) -> Result<FlowResponse, FlowError> {
        let name = request.param("page").ok_or(FlowError::UsePost)?;
        let kind = PasswordPageKind::linkable(name).ok_or(FlowError::InvalidParameter("page"))?;
        let (_, record) = self.load(request).await?;
        Ok(self.render(request, kind, &record.email, None))
    }

    /// A form `POST`: the step its `action` names.
    pub(super) async fn step(&self, request: &FlowRequest) -> Result<Step<PasswordClaims>, FlowError> {
        let (flow, record) = self.load(request).await?;
        match required(request, "action")? {
            "sign-in" => self.sign_in(request, &flow).await,
            "register" => self.register(request, &flow).await.map(Step::Respond),
            "verify" => self.verify(request, &flow, record).await,
            "forgot" => self.forgot(request, &flow).await.map(Step::Respond),
            "reset" => self.reset(request, &flow, record).await,
            "change" => self.change(request, &flow).await,
            _ => Err(FlowError::InvalidParameter("action")),
        }
    }

    /// Checks `password` for `email`: the account's hash, or the same work on a dummy one.
    async fn check(&self, email: &str, password: &str) -> Result<Option<(Credential, bool)>, FlowError> {
        let found = self.store.find(email).await?;
        let verification = match &found {
            Some(credential) => self.passwords.verify(password, &credential.hash).await?,
            None => self.passwords.verify_unknown(password).await?,
        };
        Ok(match (found, verification) {
            (Some(credential), Verification::Valid { needs_rehash }) => Some((credential, needs_rehash)),
            _ => None,
        })
    }

    async fn sign_in(&self, request: &FlowRequest, flow: &str) -> Result<Step<PasswordClaims>, FlowError> {
        let (typed, email) = email_of(request)?;
        let password = required(request, "password")?;
        request.count_client().await?;
        request
            .count_identity(self.tries_per_identity, "password-try", &email)
            .await?;
        let Some((credential, needs_rehash)) = self.check(&email, password).await? else {
            let page = self.render(
                request,
                PasswordPageKind::SignIn,
                &typed,
                Some(PasswordProblem::WrongCredentials),
            );
            return Ok(Step::Respond(page));
        };
        if needs_rehash {
            // The sign-in stands whatever happens to the rehash; the next one tries again.
            let rehashed = match self.passwords.hash(password).await {
                Ok(hash) => self.store.set_hash(&email, &hash).await.map_err(FlowError::from),
                Err(error) => Err(FlowError::from(error)),
            };
            if let Err(error) = rehashed {
                event!(warn, SIGN_IN, provider = request.provider(), error = %error, "password rehash failed");
                let _ = error;
            }
        }
        self.end(request, flow).await?;
        Ok(Step::Success(PasswordClaims {
            subject: credential.subject,
            email,
            event: PasswordEvent::SignedIn,
        }))
    }

    async fn register(&self, request: &FlowRequest, flow: &str) -> Result<FlowResponse, FlowError> {
        let (typed, email) = email_of(request)?;
        let password = required(request, "password")?;
        request.count_client().await?;
        if let Err(rejected) = self.policy.check_new(password, &email) {
            let problem = Some(PasswordProblem::Rejected(rejected));
            return Ok(self.render(request, PasswordPageKind::Register, &typed, problem));
        }
        // Counted once the email is sure to go.
        request.count_identity_request().await?;
        // Hashed whether or not the address has an account: the answer takes the same time.
        let hash = self.passwords.hash(password).await?;
        let exists = self.store.find(&email).await?.is_some();
        let code = random_code(CODE_DIGITS, random_u64)?;
        let mail = if exists {
            PasswordMail::AlreadyRegistered { to: email.clone() }
        } else {
            PasswordMail::VerifyEmail {
                to: email.clone(),
                code: code.clone(),
            }
        };
        self.wait_for_code(
            request,
            flow,
            &typed,
            Purpose::Register,
            code,
            !exists,
            (!exists).then_some(hash),
        )
        .await?;
        self.send(request, mail);
        Ok(self.render(request, PasswordPageKind::Verify, &typed, None))
    }

    async fn forgot(&self, request: &FlowRequest, flow: &str) -> Result<FlowResponse, FlowError> {
        let (typed, email) = email_of(request)?;
        request.count_authorize().await?;
        let exists = self.store.find(&email).await?.is_some();
        let code = random_code(CODE_DIGITS, random_u64)?;
        let mail = if exists {
            PasswordMail::ResetCode {
                to: email.clone(),
                code: code.clone(),
            }
        } else {
            PasswordMail::NoAccount { to: email.clone() }
        };
        self.wait_for_code(request, flow, &typed, Purpose::Reset, code, exists, None)
            .await?;
        self.send(request, mail);
        Ok(self.render(request, PasswordPageKind::Reset, &typed, None))
    }

    async fn verify(
        &self,
        request: &FlowRequest,
        flow: &str,
        record: FlowRecord,
    ) -> Result<Step<PasswordClaims>, FlowError> {
        let pending = match self
            .redeem(request, flow, record, Purpose::Register, PasswordPageKind::Verify)
            .await?
        {
            Ok(pending) => pending,
            Err(page) => return Ok(Step::Respond(page)),
        };
        let hash = pending.hash.ok_or(FlowError::CodeExpired)?;
        let subject = (self.new_subject)(&pending.email)?;
        if !self
            .store
            .create(&pending.email, &Credential::new(subject.clone(), hash))
            .await?
        {
            // Made meanwhile: the person proved the address, so saying so reveals nothing.
            let problem = Some(PasswordProblem::AlreadyRegistered);
            return Ok(Step::Respond(self.render(
                request,
                PasswordPageKind::SignIn,
                &pending.email,
                problem,
            )));
        }
        self.end(request, flow).await?;
        Ok(Step::Success(PasswordClaims {
            subject,
            email: pending.email,
            event: PasswordEvent::Registered,
        }))
    }

    async fn reset(
        &self,
        request: &FlowRequest,
        flow: &str,
        record: FlowRecord,
    ) -> Result<Step<PasswordClaims>, FlowError> {
        let password = required(request, "password")?;
        let identity = record.pending.as_ref().map(|pending| pending.email.clone());
        if let Some(email) = &identity
            && let Err(rejected) = self.policy.check_new(password, email)
        {
            let page = self.render(
                request,
                PasswordPageKind::Reset,
                &record.email,
                Some(PasswordProblem::Rejected(rejected)),
            );
            return Ok(Step::Respond(page));
        }
        // Counted before any hashing: a wrong code costs no hash, and a code is wrong alike for
        // an address with an account and one without.
        let pending = match self
            .redeem(request, flow, record, Purpose::Reset, PasswordPageKind::Reset)
            .await?
        {
            Ok(pending) => pending,
            Err(page) => return Ok(Step::Respond(page)),
        };
        let hash = self.passwords.hash(password).await?;
        let credential = self.store.find(&pending.email).await?.ok_or(FlowError::CodeExpired)?;
        self.replace(request, flow, &pending.email, &credential.subject, &hash)
            .await?;
        Ok(Step::Success(PasswordClaims {
            subject: credential.subject,
            email: pending.email,
            event: PasswordEvent::Reset,
        }))
    }

    async fn change(&self, request: &FlowRequest, flow: &str) -> Result<Step<PasswordClaims>, FlowError> {
        let (typed, email) = email_of(request)?;
        let current = required(request, "current")?;
        let password = required(request, "password")?;
        request.count_client().await?;
        request
            .count_identity(self.tries_per_identity, "password-try", &email)
            .await?;
        if let Err(rejected) = self.policy.check_new(password, &email) {
            let page = self.render(
                request,
                PasswordPageKind::Change,
                &typed,
                Some(PasswordProblem::Rejected(rejected)),
            );
            return Ok(Step::Respond(page));
        }
        let Some((credential, _)) = self.check(&email, current).await? else {
            let page = self.render(
                request,
                PasswordPageKind::Change,
                &typed,
                Some(PasswordProblem::WrongCredentials),
            );
            return Ok(Step::Respond(page));
        };
        let hash = self.passwords.hash(password).await?;
        self.replace(request, flow, &email, &credential.subject, &hash).await?;
        Ok(Step::Success(PasswordClaims {
            subject: credential.subject,
            email,
            event: PasswordEvent::Changed,
        }))
    }

    /// Stores the new `hash`, ends every session of `subject` so far, and waits for the clock's
    /// next second, so the session the person is signed in with next is not one of them.
    async fn replace(
        &self,
        request: &FlowRequest,
        flow: &str,
        email: &str,
        subject: &str,
        hash: &str,
    ) -> Result<(), FlowError> {
        if !self.store.set_hash(email, hash).await? {
            return Err(FlowError::CodeExpired);
        }
        self.revocations
            .revoke_subject(subject)
            .await
            .map_err(FlowError::other)?;
        let revoked_at = request.now()?;
        self.end(request, flow).await?;
        // Revocations count whole seconds: a session issued in the second of the revocation is
        // revoked with it. At most two short waits; a clock that does not move (a test's) makes
        // the new session revoked too, which fails safe.
        for _ in 0..2 {
            if request.now()? > revoked_at {
                break;
            }
            let into_second = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.subsec_millis());
            let rest = Duration::from_millis(u64::from(1000u32.saturating_sub(into_second).saturating_add(5)));
            // On the blocking pool, which every tokio runtime has (a timer needs one built with it).
            tokio::task::spawn_blocking(move || std::thread::sleep(rest))
                .await
                .map_err(FlowError::other)?;
        }
        Ok(())
    }
}
