//! The magic-link provider (SST's `LinkAdapter`): the authorize step signs the request's claims
//! into a short-lived link to the callback and hands it to `on_link` (which emails it); the
//! callback checks the link and lets it through once.
//!
//! A `GET` of the link never spends it: mail scanners fetch links before the person does. It
//! answers a page whose form `POST`s the link back, and only that `POST` (same-origin checked)
//! redeems it. The link is bound to the browser that asked for it (a nonce in that browser's
//! flow cookie, whose hash the link carries): there the page continues on its own; in any other
//! browser (the link opened on a phone, or sent by an attacker to plant their own session) it asks
//! first: "Sign in as ada@example.com?". [`LinkProvider::confirm_page`] replaces that page.
//!
//! A link is a JWT signed with the sessions' key, with its own `typ` (`auth-flow+jwt`) and the
//! provider's callback URL as audience, so it can never pass for a session or for another
//! provider's link. Single use is a `put_new` of the link's `jti` in the [`Store`], kept until the
//! link would have expired anyway: it holds across restarts of every cache, and across instances
//! that share the store.
//!
//! [`Store`]: crate::store::Store

use std::fmt;
use std::future::Future;
use std::time::Duration;

use http::{Method, StatusCode};
use url::Url;

use super::contract::{Callback, Provider, Step, callback};
use super::error::{FlowError, FlowResponse};
use super::flow::{FlowRequest, FlowToken, UserClaims, clamp_ttl, flow_id};
use crate::landing::nonce::binds;
use crate::page::{escape_html, page_html, protect_page, set_page_headers};
use crate::token::error::TokenError;

/// How long a link works unless [`LinkProvider::ttl`] says otherwise: 15 minutes.
pub const DEFAULT_LINK_TTL: Duration = Duration::from_secs(15 * 60);

/// A sign-in link, handed to `on_link` to deliver. Its `Debug` leaves the URL out: the link signs
/// someone in, so it must not end up in a log.
#[derive(Clone)]
#[non_exhaustive]
pub struct Link {
    /// The link: the callback URL with `?token=<signed link>`.
    pub url: Url,
    /// The claims the link signs in with (`email`, ...).
    pub claims: UserClaims,
    /// When the link stops working, seconds since the Unix epoch.
    pub expires_at: u64,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("url", &"<redacted>")
            .field("claims", &self.claims)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What the page a link's `GET` answers with needs: the form it must `POST`, and whether this is
/// the browser that asked for the link.
#[derive(Clone)]
#[non_exhaustive]
pub struct LinkConfirmation {
    /// Where the form goes: the callback's path.
    pub action: String,
    /// The link's token, for the form's hidden `token` field.
    pub token: String,
    /// The claims the link signs in with (`email`, ...), to say who the person becomes.
    pub claims: UserClaims,
    /// Whether this browser asked for the link (its flow cookie holds the link's nonce): the page
    /// may continue on its own. Otherwise it must ask.
    pub same_browser: bool,
}

impl fmt::Debug for LinkConfirmation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkConfirmation")
            .field("action", &self.action)
            .field("token", &"<redacted>")
            .field("claims", &self.claims)
            .field("same_browser", &self.same_browser)
            .finish()
    }
}

type ConfirmPage = dyn Fn(&LinkConfirmation) -> FlowResponse + Send + Sync;

/// Signs people in with a link sent to them; see the [module docs](self).
pub struct LinkProvider {
    on_link: Callback<Link>,
    ttl: Duration,
    confirm_page: Box<ConfirmPage>,
}

impl fmt::Debug for LinkProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkProvider")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl LinkProvider {
    /// A provider that hands each new [`Link`] to `on_link`, whose response (a "check your
    /// email" page) answers the authorize request.
    pub fn new<F, Fut>(on_link: F) -> Self
    where
        F: Fn(Link) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<FlowResponse, FlowError>> + Send + 'static,
    {
        LinkProvider {
            on_link: callback(on_link),
            ttl: DEFAULT_LINK_TTL,
            confirm_page: Box::new(default_confirm_page),
        }
    }

    /// The page a link's `GET` answers with, instead of [`default_confirm_page`]. It must hold a
    /// form that `POST`s `token` to `action`; in the browser that asked for the link
    /// (`same_browser`) it may submit itself. Do not send it with `Referrer-Policy: no-referrer`:
    /// the browser then posts the form with `Origin: null`, which the callback refuses as
    /// cross-site (`same-origin` keeps the link's address from other origins just as well).
    /// The protective headers of the default page (`Cache-Control: no-store`,
    /// `Referrer-Policy: same-origin`, `X-Content-Type-Options`, `frame-ancestors 'none'` and
    /// `X-Frame-Options`) are added to the page's response where it did not set them.
    pub fn confirm_page(mut self, page: impl Fn(&LinkConfirmation) -> FlowResponse + Send + Sync + 'static) -> Self {
        self.confirm_page = Box::new(page);
        self
    }

    /// How long a link works: between 1 second and 1 day (values outside are clamped).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = clamp_ttl(ttl);
        self
    }
}

impl Provider for LinkProvider {
    type Claims = UserClaims;

    async fn authorize(&self, request: &FlowRequest) -> Result<FlowResponse, FlowError> {
        let claims = request.required_claims()?;
        let nonce = flow_id()?;
        let issued = request.sign_flow_token(&claims, self.ttl, &nonce)?;
        let mut url = request.callback_url().clone();
        url.query_pairs_mut().append_pair("token", &issued.token);
        let link = Link {
            url,
            claims,
            expires_at: issued.expires_at,
        };
        let mut response = (self.on_link)(link).await?;
        request.set_flow_state(&mut response, &nonce, self.ttl)?;
        Ok(response)
    }

    async fn callback(&self, request: &FlowRequest) -> Result<Step<UserClaims>, FlowError> {
        let token = request.param("token").ok_or(FlowError::MissingParameter("token"))?;
        let verified = request.verify_flow_token(token).map_err(|error| match error {
            TokenError::Expired { .. } => FlowError::LinkExpired,
            other => FlowError::LinkInvalid(other),
        })?;
        let FlowToken::Link { claims, browser } = verified.session;
        if request.method() != Method::POST {
            // A GET (a person, or a mail scanner) spends nothing: it gets the page that POSTs.
            let same_browser = match (browser, request.flow_state()) {
                (Some(expected), Some(nonce)) => binds(&nonce, &expected),
                _ => false,
            };
            let confirmation = LinkConfirmation {
                action: request.callback_url().path().to_owned(),
                token: token.to_owned(),
                claims: UserClaims(claims),
                same_browser,
            };
            let mut page = (self.confirm_page)(&confirmation);
            protect_page(page.headers_mut());
            return Ok(Step::Respond(page));
        }
        // `jti` is always set on links this provider signs; a link without one is not ours.
        let token_id = verified
            .claims
            .token_id
            .ok_or(FlowError::LinkInvalid(TokenError::MissingClaim("jti")))?;
        let now = request.now()?;
        // Remember the link until it could no longer verify anyway: past its `exp` plus the
        // leeway its verification allows (and the second that `exp + leeway` itself still passes).
        let remember = Duration::from_secs(verified.claims.expires_at.saturating_sub(now).saturating_add(1))
            + request.flow_token_leeway();
        let key = request.security_key("link-used", &token_id);
        if !request.store().put_new(&key, Vec::new(), remember).await? {
            return Err(FlowError::LinkUsed);
        }
        Ok(Step::Success(UserClaims(claims)))
    }
}

/// The default page of a link's `GET`: "Sign in as ada@example.com?" with a button that `POST`s
/// the link, which in the browser that asked for it submits itself. Plain HTML, escaped, never
/// cached, never sent as a referrer, never framed by another site.
pub fn default_confirm_page(confirmation: &LinkConfirmation) -> FlowResponse {
    let who = confirmation.claims.get("email").map(str::to_owned).unwrap_or_else(|| {
        let values: Vec<&str> = confirmation.claims.0.values().map(String::as_str).collect();
        values.join(", ")
    });
    let (question, note, script) = if confirmation.same_browser {
        ("Signing you in as", "", "<script>document.forms[0].submit()</script>")
    } else {
        (
            "Sign in as",
            "<p>This link was opened in another browser than the one that asked for it. \
             Sign in here only if you asked for this link yourself.</p>",
            "",
        )
    };
    let body = format!(
        "<form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <h1>{question} <b>{who}</b>?</h1>{note}<button>Sign in</button></form>{script}",
        action = escape_html(&confirmation.action),
        token = escape_html(&confirmation.token),
        who = escape_html(&who),
    );
    let html = page_html("Sign in", &body);
    let mut response = FlowResponse::new(html.into());
    *response.status_mut() = StatusCode::OK;
    set_page_headers(response.headers_mut());
    response
}
