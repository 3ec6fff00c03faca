//! Ending families: by refresh token (logout), by id, and every family of a subject.

use super::RefreshTokens;
use super::outcome::RefreshError;
use super::records::{Live, Retired, record_keys};
use crate::session_types::SessionTypes;

impl<S: SessionTypes> RefreshTokens<S> {
    /// Ends the family of `refresh_token` (logout): its refresh tokens stop working, and its
    /// access tokens are revoked through the revocation list (refused by a
    /// [`Revocable`](crate::revocation::Revocable) verifier, dropped from caches listening to
    /// the store). An unknown token is [`RefreshError::Invalid`].
    pub async fn revoke(&self, refresh_token: &str) -> Result<(), RefreshError> {
        let inner = &*self.inner;
        let records = inner.store.get_many(&record_keys(refresh_token)).await?;
        let family = records
            .into_iter()
            .flatten()
            .find_map(|bytes| {
                serde_json::from_slice::<Live>(&bytes)
                    .map(|live| live.family.end())
                    .or_else(|_| serde_json::from_slice::<Retired>(&bytes).map(|retired| retired.family))
                    .ok()
            })
            .ok_or(RefreshError::Invalid)?;
        self.revoke_session(&family.id, family.expires_at).await
    }

    /// Ends the family `session_id` (an access token's [`Authenticated::session_id`]) that lives
    /// until `expires_at` at the latest (the family's end; pass the refresh lifetime from now if
    /// unknown).
    ///
    /// [`Authenticated::session_id`]: crate::Authenticated
    pub async fn revoke_session(&self, session_id: &str, expires_at: u64) -> Result<(), RefreshError> {
        self.inner.revocations.revoke(session_id, Some(expires_at)).await?;
        Ok(())
    }

    /// "Log out everywhere": ends every family of `subject` started until now, and every access
    /// token of the subject issued until now.
    pub async fn revoke_subject(&self, subject: &str) -> Result<(), RefreshError> {
        self.inner.revocations.revoke_subject(subject).await?;
        Ok(())
    }
}
