//! What the store holds for a family: the live token's record, a retired token's marker, and
//! the successor kept for the reuse grace window; their keys and encoding.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::codec::token_hash;
use super::outcome::RefreshError;
use super::{REFRESH_PREFIX, RETIRED_PREFIX, SUCCESSOR_PREFIX};
use crate::sessions::IssueError;
use crate::token::sign::SignError;

/// What a family is: its id, whose it is, and when it began and ends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Family {
    pub(super) id: String,
    pub(super) subject: Option<String>,
    pub(super) created_at: u64,
    pub(super) expires_at: u64,
    /// The client the family was issued to through the authorization server (`aud` of its access
    /// tokens); `None` for the app's own sessions, whose `aud` is the `Sessions`' audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) client_id: Option<String>,
}

/// A live refresh token's record (under the token's hash).
#[derive(Serialize, Deserialize)]
pub(super) struct Live {
    pub(super) family: Family,
    pub(super) idle_expires_at: u64,
    pub(super) session: serde_json::Value,
}

/// A retired refresh token's marker: when it was replaced, and of which family (so that a copy
/// presented later ends it). Kept until the family could no longer live, so it holds only what
/// ending the family takes.
#[derive(Serialize, Deserialize)]
pub(super) struct Retired {
    pub(super) at: u64,
    pub(super) family: FamilyEnd,
}

/// Which family, and until when it could live: a [`Family`] without the rest (markers written
/// by 0.2 hold the whole family and read as this).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct FamilyEnd {
    pub(super) id: String,
    pub(super) expires_at: u64,
}

impl Family {
    pub(super) fn end(&self) -> FamilyEnd {
        FamilyEnd {
            id: self.id.clone(),
            expires_at: self.expires_at,
        }
    }
}

/// A retired refresh token's successor, sealed under the retired token, with what a replay in
/// the grace window needs to answer. Kept for the grace window only; writing it (put-if-absent)
/// is what decides which of two concurrent refreshes rotates.
#[derive(Serialize, Deserialize)]
pub(super) struct Successor {
    pub(super) at: u64,
    pub(super) family: Family,
    pub(super) session: serde_json::Value,
    pub(super) sealed: String,
}

/// The store keys of a refresh token: its live record, its retired marker and its successor.
pub(super) fn record_keys(token: &str) -> [String; 3] {
    let hash = token_hash(token);
    [
        format!("{REFRESH_PREFIX}{hash}"),
        format!("{RETIRED_PREFIX}{hash}"),
        format!("{SUCCESSOR_PREFIX}{hash}"),
    ]
}

/// A record as JSON bytes.
pub(super) fn to_json(record: &impl Serialize) -> Result<Vec<u8>, RefreshError> {
    Ok(serde_json::to_vec(record).map_err(|error| IssueError::Sign(SignError::Serialize(error)))?)
}

/// The time to live of a record that must last until `until` (at least a second).
pub(super) fn remaining(until: u64, now: u64) -> Duration {
    Duration::from_secs(until.saturating_sub(now).max(1))
}
