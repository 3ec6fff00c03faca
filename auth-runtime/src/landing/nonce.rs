//! The landing nonce as it travels: its hash (the binding), the parameter and the check that a
//! browser's nonce hashes to a token's `nonce`, and the binding carried through a sign-in flow
//! to the `on_success` that signs the token.

/// The parameter of a sign-in request that carries the landing binding: the base64url SHA-256
/// (43 characters) of the nonce in the browser's landing cookie.
pub const LANDING_NONCE_PARAMETER: &str = "landing_nonce";

/// Whether `value` looks like a binding: 43 base64url characters (a SHA-256).
#[cfg(feature = "providers")]
pub(crate) fn is_binding(value: &str) -> bool {
    crate::random::is_id(value, 43..=43)
}

/// The binding of `nonce`: its SHA-256, base64url.
#[cfg(feature = "middleware")]
pub(crate) fn binding_of(nonce: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use sha2::{Digest, Sha256};
    URL_SAFE_NO_PAD.encode(Sha256::digest(nonce.as_bytes()))
}

/// Whether the browser's `nonce` hashes to `binding`, compared in constant time.
#[cfg(feature = "middleware")]
pub(crate) fn binds(nonce: &str, binding: &str) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(binding_of(nonce).as_bytes().ct_eq(binding.as_bytes()))
}

#[cfg(feature = "providers")]
tokio::task_local! {
    /// The landing binding of the sign-in flow whose `on_success` is running.
    static FLOW_BINDING: Option<String>;
}

/// Runs `future` (a flow's `on_success`) with the flow's landing binding in scope, where
/// [`flow_binding`] finds it.
#[cfg(feature = "providers")]
pub(crate) async fn with_flow_binding<F: std::future::Future>(binding: Option<String>, future: F) -> F::Output {
    FLOW_BINDING.scope(binding, future).await
}

/// Whether a sign-in flow's `on_success` is running: the session it signs in with is then
/// handed to the handler too, which answers an authorization request with it.
pub(crate) fn in_sign_in_flow() -> bool {
    #[cfg(feature = "providers")]
    {
        FLOW_BINDING.try_with(|_| ()).is_ok()
    }
    #[cfg(not(feature = "providers"))]
    {
        false
    }
}

/// The landing binding of the sign-in flow whose `on_success` is running, if any.
pub(crate) fn flow_binding() -> Option<String> {
    #[cfg(feature = "providers")]
    {
        FLOW_BINDING.try_with(Clone::clone).ok().flatten()
    }
    #[cfg(not(feature = "providers"))]
    {
        None
    }
}
