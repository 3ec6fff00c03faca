//! The one-time-code provider (SST's `CodeAdapter`): the authorize step draws an N-digit code,
//! remembers it in the [`Store`] under a random flow id that only this browser's flow cookie
//! holds, and hands it to `on_code_request` (which emails or texts it); the callback compares
//! the submitted code.
//!
//! - The code is uniform over all N-digit strings: draws from the OS generator are rejected
//!   above the largest multiple of 10^N, never reduced with a biased `%`.
//! - The comparison is constant-time ([`subtle`]), so response timing says nothing about how many
//!   digits were right.
//! - Every submission counts against the attempt limit before it is compared (an atomic
//!   `increment` in the store); the last wrong attempt voids the code.
//! - A right code is redeemed with an atomic `take`: two concurrent right submissions sign in
//!   once.
//! - Codes are submitted by `POST` only, from this site (the handler checks `Origin`): a
//!   cross-site navigation, which carries the `SameSite=Lax` flow cookie, cannot complete a flow.
//!
//! [`Store`]: crate::store::Store

use std::fmt;
use std::future::Future;
use std::time::Duration;

use http::Method;
use subtle::ConstantTimeEq;

use super::contract::{Callback, Provider, Step, callback};
use super::error::{FlowError, FlowResponse};
use super::flow::{FlowRequest, UserClaims, clamp_ttl, flow_id};
use crate::random::random_u64;
use crate::sessions::IssueError;

/// Digits in a code unless [`CodeProvider::digits`] says otherwise.
pub const DEFAULT_CODE_DIGITS: u32 = 6;
/// How long a code works unless [`CodeProvider::ttl`] says otherwise: 10 minutes.
pub const DEFAULT_CODE_TTL: Duration = Duration::from_secs(10 * 60);
/// Submissions allowed per code unless [`CodeProvider::max_attempts`] says otherwise.
pub const DEFAULT_CODE_ATTEMPTS: u32 = 5;

/// A new code to deliver, handed to `on_code_request`.
#[derive(Clone)]
#[non_exhaustive]
pub struct CodeRequest {
    /// The code, N decimal digits.
    pub code: String,
    /// The claims it signs in with (`email`, ...).
    pub claims: UserClaims,
}

impl fmt::Debug for CodeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeRequest")
            .field("code", &"<redacted>")
            .field("claims", &self.claims)
            .finish()
    }
}

/// A wrong code, handed to `on_code_invalid` (which shows the form again).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CodeInvalid {
    /// The claims of the pending sign-in.
    pub claims: UserClaims,
    /// Submissions left before the code is void (at least 1).
    pub attempts_left: u32,
}

/// Signs people in with a one-time code sent to them; see the [module docs](self).
pub struct CodeProvider {
    on_code_request: Callback<CodeRequest>,
    on_code_invalid: Callback<CodeInvalid>,
    digits: u32,
    ttl: Duration,
    max_attempts: u32,
}

impl fmt::Debug for CodeProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeProvider")
            .field("digits", &self.digits)
            .field("ttl", &self.ttl)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct PendingCode {
    code: String,
    claims: UserClaims,
    expires_at: u64,
}

impl CodeProvider {
    /// A provider that hands each new code to `on_code_request` (whose response, a form to
    /// enter the code, answers the authorize request) and each wrong code to `on_code_invalid`.
    pub fn new<R, RFut, I, IFut>(on_code_request: R, on_code_invalid: I) -> Self
    where
        R: Fn(CodeRequest) -> RFut + Send + Sync + 'static,
        RFut: Future<Output = Result<FlowResponse, FlowError>> + Send + 'static,
        I: Fn(CodeInvalid) -> IFut + Send + Sync + 'static,
        IFut: Future<Output = Result<FlowResponse, FlowError>> + Send + 'static,
    {
        CodeProvider {
            on_code_request: callback(on_code_request),
            on_code_invalid: callback(on_code_invalid),
            digits: DEFAULT_CODE_DIGITS,
            ttl: DEFAULT_CODE_TTL,
            max_attempts: DEFAULT_CODE_ATTEMPTS,
        }
    }

    /// Digits per code, 4 to 10 (values outside are clamped).
    pub fn digits(mut self, digits: u32) -> Self {
        self.digits = digits.clamp(4, 10);
        self
    }

    /// How long a code works: between 1 second and 1 day (values outside are clamped).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = clamp_ttl(ttl);
        self
    }

    /// Submissions allowed per code, 1 to 100 (values outside are clamped).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.clamp(1, 100);
        self
    }
}

impl Provider for CodeProvider {
    type Claims = UserClaims;

    async fn authorize(&self, request: &FlowRequest) -> Result<FlowResponse, FlowError> {
        let claims = request.required_claims()?;
        let code = random_code(self.digits, random_u64)?;
        let flow = flow_id()?;
        let pending = PendingCode {
            code: code.clone(),
            claims: claims.clone(),
            expires_at: request.now()?.saturating_add(self.ttl.as_secs()),
        };
        let record = serde_json::to_vec(&pending).map_err(FlowError::other)?;
        request
            .store()
            .put(&request.store_key("code", &flow), record, self.ttl)
            .await?;
        let mut response = (self.on_code_request)(CodeRequest { code, claims }).await?;
        request.set_flow_state(&mut response, &flow, self.ttl)?;
        Ok(response)
    }

    async fn callback(&self, request: &FlowRequest) -> Result<Step<UserClaims>, FlowError> {
        // Codes are submitted with a form: a GET (a cross-site navigation carries the Lax flow
        // cookie, a form POST from another site does not) never completes a flow.
        if request.method() != Method::POST {
            return Err(FlowError::UsePost);
        }
        let flow = request.flow_state().ok_or(FlowError::MissingState)?;
        let submitted = request.param("code").ok_or(FlowError::MissingParameter("code"))?;
        let store = request.store();
        let key = request.store_key("code", &flow);
        let record = store.get(&key).await?.ok_or(FlowError::CodeExpired)?;
        // A record we cannot read is treated like a missing one: the person asks for a new code.
        let pending: PendingCode = serde_json::from_slice(&record).map_err(|_| FlowError::CodeExpired)?;
        if request.now()? >= pending.expires_at {
            store.remove(&key).await?;
            return Err(FlowError::CodeExpired);
        }
        // Every submission counts, before it is compared: per code, and per identity across
        // every code flow (new flows do not bring new guesses past the identity's limit).
        request.count_code_try(&pending.claims).await?;
        let attempt = attempt_code(
            request,
            &flow,
            self.ttl,
            self.max_attempts,
            submitted,
            &pending.code,
            true,
        )
        .await?;
        match attempt {
            CodeAttempt::Right => {}
            CodeAttempt::Exhausted => {
                store.remove(&key).await?;
                return Err(FlowError::TooManyAttempts);
            }
            CodeAttempt::Wrong { attempts_left } => {
                let invalid = CodeInvalid {
                    claims: pending.claims,
                    attempts_left,
                };
                return Ok(Step::Respond((self.on_code_invalid)(invalid).await?));
            }
        }
        // Another request may have redeemed the code since the read: only the `take` decides.
        match store.take(&key).await? {
            Some(_) => Ok(Step::Success(pending.claims)),
            None => Err(FlowError::CodeExpired),
        }
    }
}

/// What one submission of a code came to.
pub(crate) enum CodeAttempt {
    /// The right code, within the attempts allowed.
    Right,
    /// A wrong code; this many submissions are left (at least 1).
    Wrong {
        /// Submissions left before the code is void.
        attempts_left: u32,
    },
    /// The last allowed submission was used: the code is void.
    Exhausted,
}

/// Counts one submission of a code against `max` attempts (a counter under the security key
/// `attempts:{provider}:{attempts_id}`, living `ttl`) before comparing it with `expected` in
/// constant time. `redeemable` false makes every submission wrong (a code that was never sent).
pub(crate) async fn attempt_code(
    request: &FlowRequest,
    attempts_id: &str,
    ttl: Duration,
    max: u32,
    submitted: &str,
    expected: &str,
    redeemable: bool,
) -> Result<CodeAttempt, FlowError> {
    let attempts = request
        .store()
        .increment(&request.security_key("attempts", attempts_id), ttl)
        .await?;
    let right: bool = submitted.as_bytes().ct_eq(expected.as_bytes()).into();
    if right && redeemable && attempts <= u64::from(max) {
        return Ok(CodeAttempt::Right);
    }
    if attempts >= u64::from(max) {
        return Ok(CodeAttempt::Exhausted);
    }
    let attempts_left = max.saturating_sub(u32::try_from(attempts).unwrap_or(u32::MAX));
    Ok(CodeAttempt::Wrong { attempts_left })
}

/// A uniform `digits`-digit code from `draw`: draws at or above the largest multiple of 10^digits
/// that fits in a `u64` are rejected, so `%` never favours low codes.
pub(crate) fn random_code(
    digits: u32,
    mut draw: impl FnMut() -> Result<u64, getrandom::Error>,
) -> Result<String, FlowError> {
    let modulus = 10u64.pow(digits);
    let limit = u64::MAX - u64::MAX % modulus;
    // A draw is rejected with probability below 10^10 / 2^64; 64 rejections in a row mean a broken generator.
    for _ in 0..64 {
        let value = draw().map_err(|error| FlowError::Issue(IssueError::Random(error)))?;
        if value < limit {
            return Ok(format!("{:0width$}", value % modulus, width = digits as usize));
        }
    }
    Err(FlowError::other(
        "the random number generator keeps returning values out of range",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_asked_digits_and_keep_leading_zeros() {
        let code = random_code(6, || Ok(42)).unwrap();
        assert_eq!(code, "000042");
        for _ in 0..100 {
            let code = random_code(8, random_u64).unwrap();
            assert_eq!(code.len(), 8);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn draws_in_the_biased_tail_are_rejected() {
        let modulus = 1_000_000u64;
        let limit = u64::MAX - u64::MAX % modulus;
        // `limit % modulus == 0`, so accepting `limit` would favour code 000000; `u64::MAX` would
        // favour the low codes. Both must be skipped for the next draw.
        let mut draws = [limit, u64::MAX, 123_456].into_iter();
        let code = random_code(6, || Ok(draws.next().unwrap())).unwrap();
        assert_eq!(code, "123456");
        assert_eq!(draws.next(), None);
    }

    #[test]
    fn a_generator_stuck_in_the_tail_is_an_error_not_a_loop() {
        assert!(random_code(6, || Ok(u64::MAX)).is_err());
    }
}
