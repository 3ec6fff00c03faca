//! What one browser's password flow remembers between its pages (a record in the handler's
//! store under the flow cookie's id), and the codes it sends and redeems.

use super::pages::{PasswordPage, PasswordPageKind, PasswordProblem};
use super::{PASSWORD_CODE_ATTEMPTS, PASSWORD_FLOW_TTL, PasswordMail, PasswordProvider};
use crate::password::normalized_email;
use crate::providers::code::{CodeAttempt, attempt_code};
use crate::providers::error::{FlowError, FlowResponse};
use crate::providers::flow::FlowRequest;
use crate::random::random_id;
use crate::telemetry::event;

/// What one browser's flow remembers between its pages.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct FlowRecord {
    /// The address last typed, to pre-fill the pages.
    pub(super) email: String,
    /// A code on its way, if any.
    pub(super) pending: Option<Pending>,
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Eq, Clone, Copy)]
pub(super) enum Purpose {
    Register,
    Reset,
}

/// A registration or a reset waiting for its code.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Pending {
    pub(super) purpose: Purpose,
    /// The normalized address.
    pub(super) email: String,
    /// Keys the attempts counter of this code (never the code itself).
    pub(super) id: String,
    pub(super) code: String,
    /// Whether the code can succeed: `false` for an address that had an account (register)
    /// or had none (reset). Such a code was never sent, and every submission is wrong.
    pub(super) redeemable: bool,
    /// The new account's password hash (register).
    pub(super) hash: Option<String>,
    pub(super) expires_at: u64,
}

/// The one parameter `name`, or [`FlowError::MissingParameter`].
pub(super) fn required<'a>(request: &'a FlowRequest, name: &'static str) -> Result<&'a str, FlowError> {
    request.param(name).ok_or(FlowError::MissingParameter(name))
}

impl PasswordProvider {
    pub(super) fn render(
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

    pub(super) async fn load(&self, request: &FlowRequest) -> Result<(String, FlowRecord), FlowError> {
        let flow = request.flow_state().ok_or(FlowError::MissingState)?;
        let bytes = request
            .store()
            .get(&request.store_key("password", &flow))
            .await?
            .ok_or(FlowError::StateExpired)?;
        let record = serde_json::from_slice(&bytes).map_err(|_| FlowError::StateExpired)?;
        Ok((flow, record))
    }

    pub(super) async fn save(&self, request: &FlowRequest, flow: &str, record: &FlowRecord) -> Result<(), FlowError> {
        let bytes = serde_json::to_vec(record).map_err(FlowError::other)?;
        request
            .store()
            .put(&request.store_key("password", flow), bytes, PASSWORD_FLOW_TTL)
            .await?;
        Ok(())
    }

    pub(super) async fn end(&self, request: &FlowRequest, flow: &str) -> Result<(), FlowError> {
        request.store().remove(&request.store_key("password", flow)).await?;
        Ok(())
    }

    /// Remembers a code on its way (or, not `redeemable`, one that was never sent).
    #[allow(
        clippy::too_many_arguments,
        reason = "one private call per purpose, each field named at the call"
    )]
    pub(super) async fn wait_for_code(
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
    pub(super) fn send(&self, request: &FlowRequest, mail: PasswordMail) {
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
    pub(super) async fn redeem(
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
        let attempt = attempt_code(
            request,
            &pending.id,
            self.code_ttl,
            PASSWORD_CODE_ATTEMPTS,
            submitted,
            &pending.code,
            pending.redeemable,
        )
        .await?;
        match attempt {
            CodeAttempt::Right => {
                self.save(request, flow, &cleared).await?;
                Ok(Ok(pending))
            }
            CodeAttempt::Exhausted => {
                self.save(request, flow, &cleared).await?;
                Err(FlowError::TooManyAttempts)
            }
            CodeAttempt::Wrong { attempts_left } => {
                let problem = Some(PasswordProblem::WrongCode { attempts_left });
                Ok(Err(self.render(request, kind, &cleared.email, problem)))
            }
        }
    }
}
