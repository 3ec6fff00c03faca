//! The password credentials of the SQL stores: one row per email address in
//! `<prefix>credentials` (its subject, its hash, when it last changed), kept until the app
//! removes it; neither swept nor counted against the records' quotas, since it is the people's
//! accounts, not a flow's state.

use super::records::{Bind, Engine, Records};
use super::unix_ms;
use crate::password::Credential;
use crate::store::contract::StoreError;

impl<E: Engine> Records<E> {
    pub(crate) async fn find_credential(&self, email: &str) -> Result<Option<Credential>, StoreError> {
        let rows = self
            .engine
            .rows(&self.statements.find_credential, vec![Bind::Text(email)])
            .await?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let (Some(subject), Some(hash)) = (row.key, row.value) else {
            return Ok(None);
        };
        let hash = String::from_utf8(hash).map_err(|error| StoreError::Unavailable(error.into()))?;
        Ok(Some(Credential::new(subject, hash)))
    }

    pub(crate) async fn create_credential(&self, email: &str, credential: &Credential) -> Result<bool, StoreError> {
        let now = unix_ms(self.clock.now())?;
        let binds = vec![
            Bind::Text(email),
            Bind::Text(&credential.subject),
            Bind::Bytes(Some(credential.hash.as_bytes().to_vec())),
            Bind::Int(now),
        ];
        Ok(self.engine.execute(&self.statements.create_credential, binds).await? == 1)
    }

    pub(crate) async fn set_credential_hash(&self, email: &str, hash: &str) -> Result<bool, StoreError> {
        let now = unix_ms(self.clock.now())?;
        let binds = vec![
            Bind::Text(email),
            Bind::Bytes(Some(hash.as_bytes().to_vec())),
            Bind::Int(now),
        ];
        Ok(self.engine.execute(&self.statements.set_credential_hash, binds).await? == 1)
    }
}
