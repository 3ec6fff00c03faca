//! What a verified token carries: the typed session and its registered claims.

/// The registered claims of a verified token, beside its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// `iss`: who issued the token.
    pub issuer: String,
    /// `aud`: who the token is for.
    pub audience: String,
    /// `sub`: the subject, when the issuer set one.
    pub subject: Option<String>,
    /// `iat`: when it was issued, in seconds since the Unix epoch.
    pub issued_at: Option<u64>,
    /// `nbf`: not valid before, in seconds since the Unix epoch.
    pub not_before: Option<u64>,
    /// `exp`: expiry, in seconds since the Unix epoch. Always present.
    pub expires_at: u64,
    /// `jti`: the token's unique id, when present.
    pub token_id: Option<String>,
    /// `nonce`: the binding of a token sent to a landing route (the base64url SHA-256 of the
    /// nonce the browser that started the sign-in holds), when it was issued with one.
    pub nonce: Option<String>,
    /// `sid`: the session the token belongs to, when it was issued as one of several tokens of
    /// one session (a refresh token family's access tokens).
    pub session_id: Option<String>,
}

/// A token that passed every check, and the session it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken<S> {
    /// The typed session.
    pub session: S,
    /// The registered claims.
    pub claims: Claims,
}

/// The old name of [`VerifiedToken`]: a token that passed every check, with its claims (where
/// `Authenticated` is a checked session from any verifier).
#[deprecated(since = "0.3.0", note = "renamed `VerifiedToken`")]
pub type Verified<S> = VerifiedToken<S>;
