//! Landing: a token sent to a landing route, bound to the browser that started the sign-in.
//!
//! A token that travels in a URL (`Sessions::parameter`) could be sent by anyone to anyone: an
//! attacker signs in, then sends a person the landing URL carrying the attacker's session (login
//! CSRF). The defence is OpenID Connect's `nonce`, applied to the landing route:
//!
//! 1. The app gives the browser a random nonce in a cookie scoped to its landing route, and sends
//!    the sign-in server its hash as the `landing_nonce` parameter
//!    (`SessionLayer::sign_in_redirect` does both).
//! 2. The sign-in server writes that hash into the token's `nonce` claim
//!    ([`IssueOptions::nonce`](crate::IssueOptions::nonce); `AuthHandler` and
//!    `Sessions::parameter` do it on their own).
//! 3. The landing route lets the token straight in only when the browser's nonce cookie hashes
//!    to the token's `nonce`; any other browser is asked first, on a page whose button `POST`s
//!    the token back, same-origin checked.
//!
//! The hash travels, never the nonce itself, so a sign-in URL or a token in a log cannot be turned
//! into the cookie.
//!
//! Where each part lives: the nonce, its hash and the binding carried through a flow
//! ([`nonce`]); the policy and the page that asks ([`confirm`], with the `middleware` feature);
//! the landing route in the session layer ([`route`]). Two steps stay where their state is: a
//! sign-in flow keeps the binding in its `auth-landing` cookie (`providers/flow.rs`), and
//! `Sessions::parameter` writes it into the token's `nonce` claim (`sessions/browser.rs`).

#[cfg(feature = "middleware")]
pub(crate) mod confirm;
pub(crate) mod nonce;
#[cfg(feature = "middleware")]
pub(crate) mod route;
