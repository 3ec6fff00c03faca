//! A refresh token's rotation as one store step ([`Store::rotate_refresh`]): the family's
//! revocation check, the rotation's rate counters, the claim that decides which of two
//! concurrent refreshes wins, the new token's record, the retired token's marker and the
//! deletion of its record. Redis carries it out as one script (one round trip after the read of
//! the token's records); the default (in the contract) does the steps in turn.
//!
//! [`Store::rotate_refresh`]: super::Store::rotate_refresh

use std::time::Duration;

/// A record a [`RefreshRotation`] writes: its key, value and time to live.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RotationRecord<'a> {
    /// The record's key.
    pub key: &'a str,
    /// The record's value.
    pub value: Vec<u8>,
    /// How long the record lives.
    pub ttl: Duration,
}

/// A counter a [`RefreshRotation`] adds one to, and its limit.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RotationCounter<'a> {
    /// The counter's key (a `rate:` security record).
    pub key: &'a str,
    /// How long a counter this step starts lives (an existing one keeps its expiry).
    pub ttl: Duration,
    /// The highest count that is still allowed.
    pub max: u64,
}

/// One rotation of a refresh token, for [`Store::rotate_refresh`](super::Store::rotate_refresh) to carry out. In order:
///
/// 1. add one to every counter in [`counters`](Self::counters) (a value that is not a counter is
///    [`StoreError::NotACounter`](super::StoreError::NotACounter));
/// 2. [`RotationOutcome::Revoked`] if a record is under [`revoked`](Self::revoked), or the
///    record under [`subject_revoked`](Self::subject_revoked)'s key holds a Unix second at or
///    after the family's start, or anything that is not a number;
/// 3. [`RotationOutcome::Limited`] with the first counter whose count passed its `max`;
/// 4. save [`fresh`](Self::fresh) and, only if no live record is under its key, save
///    [`claim`](Self::claim); when the key was taken, [`RotationOutcome::Taken`], with `fresh`
///    removed again;
/// 5. save [`marker`](Self::marker), remove the record under [`retire`](Self::retire):
///    [`RotationOutcome::Rotated`].
///
/// A store that can do it all as one atomic step should (Redis: one script); then nobody ever
/// sees `fresh` without the claim.
#[derive(Debug)]
#[non_exhaustive]
pub struct RefreshRotation<'a> {
    /// The counters to add one to.
    pub counters: Vec<RotationCounter<'a>>,
    /// The family's session revocation record: present means revoked.
    pub revoked: &'a str,
    /// The family's subject revocation record, and the family's start (Unix seconds).
    pub subject_revoked: Option<(&'a str, u64)>,
    /// The new refresh token's record.
    pub fresh: RotationRecord<'a>,
    /// The retired token's successor, saved only if absent: the claim that decides the race.
    pub claim: RotationRecord<'a>,
    /// The retired token's marker.
    pub marker: RotationRecord<'a>,
    /// The retired token's record, removed.
    pub retire: &'a str,
}

impl<'a> RotationRecord<'a> {
    /// `value` under `key` for `ttl`.
    pub fn new(key: &'a str, value: Vec<u8>, ttl: Duration) -> Self {
        RotationRecord { key, value, ttl }
    }
}

impl<'a> RotationCounter<'a> {
    /// The counter under `key`, allowed up to `max`; a new one lives for `ttl`.
    pub fn new(key: &'a str, ttl: Duration, max: u64) -> Self {
        RotationCounter { key, ttl, max }
    }
}

impl<'a> RefreshRotation<'a> {
    /// A rotation that writes `fresh`, `claim` and `marker` and removes `retire` unless the
    /// record under `revoked` exists; no counters and no subject record until they are added.
    pub fn new(
        revoked: &'a str,
        fresh: RotationRecord<'a>,
        claim: RotationRecord<'a>,
        marker: RotationRecord<'a>,
        retire: &'a str,
    ) -> Self {
        RefreshRotation {
            counters: Vec::new(),
            revoked,
            subject_revoked: None,
            fresh,
            claim,
            marker,
            retire,
        }
    }

    /// Adds a counter (its index in [`RotationOutcome::Limited`] is the order of the calls).
    pub fn counter(mut self, counter: RotationCounter<'a>) -> Self {
        self.counters.push(counter);
        self
    }

    /// Refuses the rotation when the record under `key` holds a Unix second at or after
    /// `started_at` (or is not a number).
    pub fn subject_revoked(mut self, key: &'a str, started_at: u64) -> Self {
        self.subject_revoked = Some((key, started_at));
        self
    }
}

/// What [`Store::rotate_refresh`](super::Store::rotate_refresh) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotationOutcome {
    /// Every record written: the refresh token was rotated.
    Rotated,
    /// The family was revoked; nothing was written but the counters.
    Revoked,
    /// The counter at this index of [`RefreshRotation::counters`] passed its limit; nothing was
    /// written but the counters.
    Limited(usize),
    /// Another rotation holds the claim; nothing was left written but the counters.
    Taken,
}

/// Whether a subject's revocation record (the Unix second it was written) ends a family started
/// at `started_at`. A record that is not a number (written by something else) revokes: fail
/// closed.
pub(crate) fn subject_record_revokes(record: &[u8], started_at: Option<u64>) -> bool {
    let revoked_at = std::str::from_utf8(record)
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    started_at.is_none_or(|started_at| started_at <= revoked_at)
}
