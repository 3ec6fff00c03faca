//! The password provider's pages: what each one shows ([`PasswordPage`]), and the default look
//! ([`default_password_page`]), which an app replaces with
//! [`PasswordProvider::pages`](super::PasswordProvider::pages).

use http::StatusCode;

use crate::page::{escape_html, page_html, set_page_headers};
use crate::password::PasswordRejected;
use crate::providers::FlowResponse;

/// Which page the person is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordPageKind {
    /// Email and password (`action=sign-in`).
    SignIn,
    /// Email and a new password (`action=register`).
    Register,
    /// The code sent to a new address (`action=verify`).
    Verify,
    /// The address to send a reset code to (`action=forgot`).
    Forgot,
    /// The reset code and a new password (`action=reset`).
    Reset,
    /// The current password and a new one, for a signed-in person (`action=change`).
    Change,
}

impl PasswordPageKind {
    /// The page's name in `?page=` links and its form's `action` field.
    pub fn as_str(self) -> &'static str {
        match self {
            PasswordPageKind::SignIn => "sign-in",
            PasswordPageKind::Register => "register",
            PasswordPageKind::Verify => "verify",
            PasswordPageKind::Forgot => "forgot",
            PasswordPageKind::Reset => "reset",
            PasswordPageKind::Change => "change",
        }
    }

    /// The page a `?page=` link or the authorize step's `action` names; `None` for the pages
    /// that follow a step (verify, reset), which only the step shows.
    pub(super) fn linkable(name: &str) -> Option<Self> {
        match name {
            "sign-in" => Some(PasswordPageKind::SignIn),
            "register" => Some(PasswordPageKind::Register),
            "forgot" => Some(PasswordPageKind::Forgot),
            "change" => Some(PasswordPageKind::Change),
            _ => None,
        }
    }
}

/// What went wrong on the last submission, shown on the page it returns to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordProblem {
    /// The email and password do not match an account. Said the same way whether the address
    /// has an account or not.
    WrongCredentials,
    /// The new password does not meet the policy.
    Rejected(PasswordRejected),
    /// The code is not right; `attempts_left` more tries (at least 1).
    WrongCode {
        /// Submissions left before the code is void.
        attempts_left: u32,
    },
    /// The address proved by the code already has an account (it was made while the code was
    /// on its way): sign in instead.
    AlreadyRegistered,
}

/// One page of the password provider, handed to the page renderer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PasswordPage {
    /// Which page.
    pub kind: PasswordPageKind,
    /// The address the person typed, to show or pre-fill (may be empty).
    pub email: String,
    /// What went wrong on the last submission.
    pub problem: Option<PasswordProblem>,
    /// Where every form posts (the provider's callback URL); the field `action` says which
    /// step. Links to the other pages are `GET` on it with `?page=` (see
    /// [`PasswordPage::link`]).
    pub callback: String,
    /// The policy's minimum length, for the new-password fields.
    pub min_chars: usize,
    /// The policy's maximum length.
    pub max_chars: usize,
}

impl PasswordPage {
    /// The address of `kind`'s page in this browser's flow (a `GET` on the callback).
    pub fn link(&self, kind: PasswordPageKind) -> String {
        format!("{}?page={}", self.callback, kind.as_str())
    }
}

/// The default page renderer: plain HTML, one form per page, every field labelled, no script.
/// The status is 200, 400 for a refused new password, 401 for wrong credentials or a wrong
/// code.
pub fn default_password_page(page: &PasswordPage) -> FlowResponse {
    let email = escape_html(&page.email);
    let action = escape_html(&page.callback);
    let (title, intro, fields, button) = match page.kind {
        PasswordPageKind::SignIn => (
            "Sign in",
            String::new(),
            format!(
                "{}{}",
                email_field(&email),
                password_field("password", "Password", "current-password", None)
            ),
            "Sign in",
        ),
        PasswordPageKind::Register => (
            "Create an account",
            String::new(),
            format!(
                "{}{}",
                email_field(&email),
                password_field("password", "Choose a password", "new-password", Some(page))
            ),
            "Create account",
        ),
        PasswordPageKind::Verify => (
            "Check your email",
            format!("<p>We sent a code to <b>{email}</b>. Enter it to finish creating your account.</p>"),
            code_field(),
            "Verify",
        ),
        PasswordPageKind::Forgot => (
            "Reset your password",
            "<p>We will email you a code to choose a new password.</p>".to_owned(),
            email_field(&email),
            "Email me a code",
        ),
        PasswordPageKind::Reset => (
            "Choose a new password",
            format!("<p>If <b>{email}</b> has an account, we sent a code to it.</p>"),
            format!(
                "{}{}",
                code_field(),
                password_field("password", "New password", "new-password", Some(page))
            ),
            "Set new password",
        ),
        PasswordPageKind::Change => (
            "Change your password",
            String::new(),
            format!(
                "<input type=\"hidden\" name=\"email\" value=\"{email}\">\
                 <p>Account: <b>{email}</b></p>{}{}",
                password_field("current", "Current password", "current-password", None),
                password_field("password", "New password", "new-password", Some(page))
            ),
            "Change password",
        ),
    };
    let problem = page.problem.as_ref().map_or_else(String::new, |problem| {
        format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape_html(&problem_text(problem))
        )
    });
    let links = links(page);
    let body = format!(
        "<h1>{title}</h1>{problem}{intro}<form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"action\" value=\"{}\">{fields}<p><button>{button}</button></p></form>{links}",
        page.kind.as_str()
    );
    let status = match &page.problem {
        None => StatusCode::OK,
        Some(PasswordProblem::Rejected(_) | PasswordProblem::AlreadyRegistered) => StatusCode::BAD_REQUEST,
        Some(PasswordProblem::WrongCredentials | PasswordProblem::WrongCode { .. }) => StatusCode::UNAUTHORIZED,
    };
    let mut response = FlowResponse::new(page_html(title, &body).into());
    *response.status_mut() = status;
    set_page_headers(response.headers_mut());
    response
}

/// What the default page says about `problem`.
fn problem_text(problem: &PasswordProblem) -> String {
    match problem {
        PasswordProblem::WrongCredentials => "That email and password do not match an account.".to_owned(),
        PasswordProblem::Rejected(rejected) => format!("Please choose another password: {rejected}."),
        PasswordProblem::WrongCode { attempts_left } => {
            let attempts = if *attempts_left == 1 { "attempt" } else { "attempts" };
            format!("That code is not right: {attempts_left} {attempts} left.")
        }
        PasswordProblem::AlreadyRegistered => "This address already has an account: please sign in.".to_owned(),
    }
}

fn email_field(email: &str) -> String {
    format!(
        "<p><label for=\"email\">Email</label><br>\
         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" value=\"{email}\" required></p>"
    )
}

/// A password field; a new one (`policy` given) says the length it needs.
fn password_field(name: &str, label: &str, autocomplete: &str, policy: Option<&PasswordPage>) -> String {
    let (limits, hint) = policy.map_or_else(Default::default, |page| {
        (
            format!(" minlength=\"{}\" maxlength=\"{}\"", page.min_chars, page.max_chars),
            format!(
                "<br><small id=\"{name}-hint\">At least {} characters. A few words together work well; \
                 no special characters needed.</small>",
                page.min_chars
            ),
        )
    });
    let described = if hint.is_empty() {
        String::new()
    } else {
        format!(" aria-describedby=\"{name}-hint\"")
    };
    format!(
        "<p><label for=\"{name}\">{label}</label><br>\
         <input id=\"{name}\" name=\"{name}\" type=\"password\" autocomplete=\"{autocomplete}\"{limits}{described} required>{hint}</p>"
    )
}

fn code_field() -> String {
    "<p><label for=\"code\">Code from the email</label><br>\
     <input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required></p>"
        .to_owned()
}

/// The links under each page's form, to the pages a person may want instead.
fn links(page: &PasswordPage) -> String {
    let link = |kind, text| format!("<a href=\"{}\">{text}</a>", escape_html(&page.link(kind)));
    match page.kind {
        PasswordPageKind::SignIn => format!(
            "<p>{} · {}</p>",
            link(PasswordPageKind::Forgot, "Forgot your password?"),
            link(PasswordPageKind::Register, "Create an account")
        ),
        PasswordPageKind::Register => format!(
            "<p>Already have an account? {}</p>",
            link(PasswordPageKind::SignIn, "Sign in")
        ),
        PasswordPageKind::Forgot | PasswordPageKind::Reset | PasswordPageKind::Verify => {
            format!("<p>{}</p>", link(PasswordPageKind::SignIn, "Back to sign in"))
        }
        PasswordPageKind::Change => String::new(),
    }
}
