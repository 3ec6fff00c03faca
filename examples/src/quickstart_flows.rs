//! The quickstart's sign-in flows: a magic link, a one-time code and a password, their pages,
//! and the `/auth` router that serves them.

use std::error::Error;
use std::sync::Arc;

use crate::quickstart::AppSession;
use crate::quickstart_app::{Message, Outbox, escape, page};
use auth_runtime::Sessions;
use auth_runtime::password::{PasswordStore, Passwords};
use auth_runtime::providers::password::{PasswordClaims, PasswordProvider};
use auth_runtime::providers::{
    AuthHandler, CodeInvalid, CodeProvider, CodeRequest, FlowError, Link, LinkProvider, UserClaims,
};
use auth_runtime::revocation::Revocations;
use auth_runtime::store::Store;
use axum::http::StatusCode;
use axum::response::Response;

/// The sign-in flows: a magic link, a one-time code and a password, each ending in the session
/// cookie. `credentials` keeps the password accounts; `revocations` ends an account's other
/// sessions when its password is reset or changed.
pub(crate) fn auth_handler(
    sessions: &Sessions<AppSession>,
    base_url: &str,
    outbox: Outbox,
    store: Arc<dyn Store>,
    credentials: Arc<dyn PasswordStore>,
    revocations: Revocations,
) -> Result<AuthHandler, Box<dyn Error>> {
    let link_outbox = Arc::clone(&outbox);
    let links = LinkProvider::new(move |link: Link| {
        let outbox = Arc::clone(&link_outbox);
        async move {
            let to = email(&link.claims)?;
            outbox(Message::Link {
                to: to.clone(),
                url: link.url.to_string(),
            });
            Ok(page(
                StatusCode::OK,
                "Check your email",
                &format!(
                    "<h1>Check your email</h1>\
                     <p>We sent a sign-in link to <b>{}</b>. Open it in this browser to finish signing in; \
                     it works once.</p>\
                     <p class=\"hint\">This quickstart sends no email: the link is printed in the terminal \
                     where it runs.</p>",
                    escape(&to)
                ),
            ))
        }
    });
    let codes = code_provider(Arc::clone(&outbox));
    let passwords = password_provider(outbox, credentials, revocations)?;
    let signed_in = |sessions: &Sessions<AppSession>| {
        let sessions = sessions.clone();
        move |claims: UserClaims| {
            let sessions = sessions.clone();
            async move {
                let user_id = email(&claims)?;
                Ok(sessions.cookie(&AppSession::User { user_id }, "/me")?)
            }
        }
    };
    Ok(AuthHandler::builder(sessions.clone(), base_url)
        .store(store)
        .provider("link", links, signed_in(sessions))
        .provider("code", codes, signed_in(sessions))
        .provider("password", passwords, password_signed_in(sessions))
        .on_error(|provider, error| {
            // A server-side failure (the store unreachable, say) is for the logs, not the page.
            let reason = if error.status().is_server_error() {
                "try again in a moment".to_owned()
            } else {
                error.to_string()
            };
            let with = match provider {
                "link" => "a sign-in link",
                "code" => "a code",
                "password" => "a password",
                other => other,
            };
            let message = format!(
                "<h1>Sign-in did not work</h1><p class=\"error\" role=\"alert\">Signing in with {with} \
                 failed: {}.</p><p><a href=\"/\">Start again</a></p>",
                escape(&reason)
            );
            page(error.status(), "Sign-in did not work", &message)
        })
        .build()?)
}

/// The one-time-code provider: each code goes to `outbox` (the terminal, in the examples), the
/// person gets the form to enter it, and a wrong code shows the form again with the attempts left.
pub(crate) fn code_provider(outbox: Outbox) -> CodeProvider {
    CodeProvider::new(
        move |request: CodeRequest| {
            let outbox = Arc::clone(&outbox);
            async move {
                let to = email(&request.claims)?;
                outbox(Message::Code {
                    to: to.clone(),
                    code: request.code,
                });
                Ok(code_form(
                    StatusCode::OK,
                    &format!(
                        "<p>We sent a sign-in code to <b>{}</b>.</p>\
                         <p class=\"hint\">This example sends no email: the code is printed in the \
                         terminal where it runs.</p>",
                        escape(&to)
                    ),
                ))
            }
        },
        |invalid: CodeInvalid| async move {
            let left = invalid.attempts_left;
            let attempts = if left == 1 { "attempt" } else { "attempts" };
            Ok(code_form(
                StatusCode::UNAUTHORIZED,
                &format!("<p class=\"error\" role=\"alert\">That code is not right: {left} {attempts} left.</p>"),
            ))
        },
    )
}

/// The `email` claim, if it looks like an address.
pub(crate) fn email(claims: &UserClaims) -> Result<String, FlowError> {
    claims
        .get("email")
        .filter(|email| email.contains('@') && email.len() <= 254)
        .map(str::to_owned)
        .ok_or(FlowError::NoClaims)
}

/// The page that asks for the code just sent (it posts to the code provider's callback).
pub(crate) fn code_form(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Enter your code",
        &format!(
            "<h1>Enter your code</h1>{message}\
             <form method=\"post\" action=\"/auth/code/callback\">\
             <label for=\"code\">Code</label>\
             <input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required autofocus>\
             <button>Sign in</button></form><p><a href=\"/\">Start again</a></p>"
        ),
    )
}

/// The password provider: accounts in `credentials`, keyed by the address, each account's subject
/// the address itself (the same person as a link or a code to that address signs in); its emails
/// go to `outbox`. The pages are the crate's defaults.
pub(crate) fn password_provider(
    outbox: Outbox,
    credentials: Arc<dyn PasswordStore>,
    revocations: Revocations,
) -> Result<PasswordProvider, Box<dyn Error>> {
    let mailer = move |mail| {
        outbox(Message::Password(mail));
        std::future::ready(Ok::<(), FlowError>(()))
    };
    Ok(PasswordProvider::new(Passwords::new()?, credentials, revocations, mailer).new_subject(str::to_owned))
}

/// A password sign-in's `on_success`: the session cookie for the account's subject (its address).
fn password_signed_in(
    sessions: &Sessions<AppSession>,
) -> impl Fn(PasswordClaims) -> std::future::Ready<Result<Response, FlowError>> + Send + Sync + 'static {
    let sessions = sessions.clone();
    move |claims: PasswordClaims| {
        let session = AppSession::User {
            user_id: claims.subject,
        };
        std::future::ready(sessions.cookie(&session, "/me").map_err(FlowError::from))
    }
}
