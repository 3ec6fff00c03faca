//! The password provider's steps: the flow record one browser's pages share, and each `action`.

use std::time::Duration;

use subtle::ConstantTimeEq;

use super::pages::{PasswordPage, PasswordPageKind, PasswordProblem};
use super::{PASSWORD_CODE_ATTEMPTS, PASSWORD_FLOW_TTL, PasswordClaims, PasswordEvent, PasswordMail, PasswordProvider};
use crate::password::{Credential, Verification, normalized_email};
use crate::providers::code::random_code;
use crate::providers::contract::Step;
use crate::providers::error::{FlowError, FlowResponse};
use crate::providers::flow::{FlowRequest, flow_id};
use crate::random::{random_id, random_u64};
use crate::telemetry::event;

/// Digits in a registration or reset code.
const CODE_DIGITS: u32 = 6;
/// The longest address accepted (RFC 5321's path limit).
const MAX_EMAIL_LEN: usize = 254;

/// What one browser's flow remembers between its pages.
#[derive(serde::Serialize, serde::Deserialize)]
struct FlowRecord {
    /// The address last typed, to pre-fill the pages.
    email: String,
    /// A code on its way, if any.
    pending: Option<Pending>,
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Eq, Clone, Copy)]
enum Purpose {
    Register,
    Reset,
}

/// A registration or a reset waiting for its code.
#[derive(serde::Serialize, serde::Deserialize)]
struct Pending {
    purpose: Purpose,
    /// The normalized address.
    email: String,
    /// Keys the attempts counter of this code (never the code itself).
    id: String,
    code: String,
    /// Whether the code can succeed: `false` for an address that had an account (register)
    /// or had none (reset). Such a code was never sent, and every submission is wrong.
    redeemable: bool,
    /// The new account's password hash (register).
    hash: Option<String>,
    expires_at: u64,
}

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

fn required<'a>(request: &'a FlowRequest, name: &'static str) -> Result<&'a str, FlowError> {
    request.param(name).ok_or(FlowError::MissingParameter(name))
}

impl PasswordProvider {
    fn render(
        &self,
        request: &FlowRequest,
        kind: PasswordPageKind,
        email: &str,
        problem: Option<PasswordProblem>,
    ) -> FlowResponse {
        let page = PasswordPage {
            kind,
            email: email.to_owned(),
            problem,
            callback: request.callback_url().to_string(),
            min_chars: self.policy.minimum_chars(),
            max_chars: self.policy.maximum_chars(),
        };
        (self.pages)(&page)
    }

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

    async fn load(&self, request: &FlowRequest) -> Result<(String, FlowRecord), FlowError> {
        let flow = request.flow_state().ok_or(FlowError::MissingState)?;
        let bytes = request
            .store()
            .get(&request.store_key("password", &flow))
            .await?
            .ok_or(FlowError::StateExpired)?;
        let record = serde_json::from_slice(&bytes).map_err(|_| FlowError::StateExpired)?;
        Ok((flow, record))
    }

    async fn save(&self, request: &FlowRequest, flow: &str, record: &FlowRecord) -> Result<(), FlowError> {
        let bytes = serde_json::to_vec(record).map_err(FlowError::other)?;
        request
            .store()
            .put(&request.store_key("password", flow), bytes, PASSWORD_FLOW_TTL)
            .await?;
        Ok(())
    }

    async fn end(&self, request: &FlowRequest, flow: &str) -> Result<(), FlowError> {
        request.store().remove(&request.store_key("password", flow)).await?;
        Ok(())
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

    /// Remembers a code on its way (or, not `redeemable`, one that was never sent).
    #[allow(
        clippy::too_many_arguments,
        reason = "one private call per purpose, each field named at the call"
    )]
    async fn wait_for_code(
        &self,
        request: &FlowRequest,
        flow: &str,
        typed: &str,
        purpose: Purpose,
        code: String,
        redeemable: bool,
        hash: Option<String>,
    ) -> Result<(), FlowError> {
        let id = random_id::<16>().map_err(FlowError::other)?;
        let record = FlowRecord {
            email: typed.to_owned(),
            pending: Some(Pending {
                purpose,
                email: normalized_email(typed),
                id,
                code,
                redeemable,
                hash,
                expires_at: request.now()?.saturating_add(self.code_ttl.as_secs()),
            }),
        };
        self.save(request, flow, &record).await
    }

    /// Hands `mail` to the mailer on a task of its own: its time and its failure stay out of
    /// the answer (a failure is logged).
    fn send(&self, request: &FlowRequest, mail: PasswordMail) {
        let mailer = std::sync::Arc::clone(&self.mailer);
        let provider = request.provider().to_owned();
        tokio::spawn(async move {
            if let Err(error) = mailer(mail).await {
                event!(warn, SIGN_IN, provider = provider.as_str(), error = %error, "password email not sent");
                let _ = (error, provider);
            }
        });
    }

    /// The submitted code against the pending one of `purpose`: `Ok(Ok(pending))` when right,
    /// `Ok(Err(page))` with the page to show when wrong.
    async fn redeem(
        &self,
        request: &FlowRequest,
        flow: &str,
        record: FlowRecord,
        purpose: Purpose,
        kind: PasswordPageKind,
    ) -> Result<Result<Pending, FlowResponse>, FlowError> {
        let submitted = required(request, "code")?;
        let pending = record
            .pending
            .filter(|pending| pending.purpose == purpose)
            .ok_or(FlowError::CodeExpired)?;
        let cleared = FlowRecord {
            email: record.email,
            pending: None,
        };
        if request.now()? >= pending.expires_at {
            self.save(request, flow, &cleared).await?;
            return Err(FlowError::CodeExpired);
        }
        request.count_code_try_of(&pending.email).await?;
        let attempts = request
            .store()
            .increment(&request.security_key("attempts", &pending.id), self.code_ttl)
            .await?;
        let matches: bool = submitted.as_bytes().ct_eq(pending.code.as_bytes()).into();
        let max = u64::from(PASSWORD_CODE_ATTEMPTS);
        if matches && pending.redeemable && attempts <= max {
            self.save(request, flow, &cleared).await?;
            return Ok(Ok(pending));
        }
        if attempts >= max {
            self.save(request, flow, &cleared).await?;
            return Err(FlowError::TooManyAttempts);
        }
        let attempts_left = PASSWORD_CODE_ATTEMPTS.saturating_sub(u32::try_from(attempts).unwrap_or(u32::MAX));
        let problem = Some(PasswordProblem::WrongCode { attempts_left });
        Ok(Err(self.render(request, kind, &cleared.email, problem)))
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
            let rest = 1000u32.saturating_sub(into_second).saturating_add(5);
            tokio::time::sleep(Duration::from_millis(u64::from(rest))).await;
        }
        Ok(())
    }
}
