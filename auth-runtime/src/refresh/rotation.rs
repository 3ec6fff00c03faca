//! The protocol: a family starts, a refresh token rotates once, a retired one replayed in the
//! grace window gets the same successor, and one replayed after it ends the family.

use std::time::Duration;

use super::RefreshTokens;
use super::codec::{decode_token, open, random_token, seal};
use super::outcome::{RefreshError, TokenPair};
use super::records::{Family, FamilyEnd, Live, Retired, Successor, record_keys, remaining, to_json};
use super::refresher::Presenter;
use crate::rate_limit::{Client, Window};
use crate::revocation::{self, REVOKED_PREFIX, REVOKED_SUBJECT_PREFIX};
use crate::session_types::SessionTypes;
use crate::sessions::{IssueError, IssueOptions};
use crate::store::refresh_rotation::{RefreshRotation, RotationCounter, RotationOutcome, RotationRecord};
use crate::telemetry::event;
use crate::token::sign::SignError;

impl<S: SessionTypes> RefreshTokens<S> {
    /// Starts a family for `session` (a sign-in) and returns its first pair.
    pub async fn issue(&self, session: &S) -> Result<TokenPair, RefreshError> {
        self.start_family(session, random_token::<16>()?, None).await
    }

    /// A new family `id` for `session`; its access tokens are for `client_id` when the
    /// authorization server issues it to a client.
    pub(crate) async fn start_family(
        &self,
        session: &S,
        id: String,
        client_id: Option<String>,
    ) -> Result<TokenPair, RefreshError> {
        let inner = &*self.inner;
        let now = inner.sessions.now()?;
        let subject = inner.sessions.subject_of(session);
        if inner.openauth && subject.is_none() {
            return Err(RefreshError::NoSubject);
        }
        let family = Family {
            id,
            subject,
            created_at: now,
            expires_at: now.saturating_add(inner.lifetime.as_secs()),
            client_id,
        };
        let value = serde_json::to_value(session).map_err(|error| IssueError::Sign(SignError::Serialize(error)))?;
        let refresh_token = self.store_live(&family, value, now).await?;
        event!(debug, REFRESH, session_id = family.id.as_str(), "token family started");
        self.pair(session, &family, refresh_token, now)
    }

    /// Rotates `refresh_token`: a new pair, the old token retired. See the module docs for what a
    /// retired token gets. Counts against the per-family limit only; the token endpoint and the
    /// session layer also count the client's address. A family issued to an OAuth client (by the
    /// authorization server) rotates only at the token endpoint, for that client: here it is
    /// [`RefreshError::Invalid`].
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, RefreshError> {
        self.refresh_from(refresh_token, &Client::Unlimited, Presenter::App)
            .await
    }

    /// [`refresh`](Self::refresh), counted against the per-client limit too, for `presenter`.
    pub(super) async fn refresh_from(
        &self,
        refresh_token: &str,
        client: &Client,
        presenter: Presenter<'_>,
    ) -> Result<TokenPair, RefreshError> {
        let result = self.rotate(refresh_token, client, presenter).await;
        if let Err(_error) = &result {
            event!(debug, REFRESH, reason = _error.kind(), "refresh refused");
        }
        result
    }

    async fn rotate(
        &self,
        refresh_token: &str,
        client: &Client,
        presenter: Presenter<'_>,
    ) -> Result<TokenPair, RefreshError> {
        let inner = &*self.inner;
        let token = decode_token(refresh_token).ok_or(RefreshError::Invalid)?;
        let keys = record_keys(refresh_token);
        let [live_key, retired_key, successor_key] = &keys;
        // Twice at most: a lost race for the retirement reads the winner's successor on the second.
        for _ in 0..2 {
            let mut records = inner.store.get_many(&keys).await?.into_iter();
            let mut next = || records.next().flatten();
            let (live, retired, successor) = (next(), next(), next());
            let live = live.and_then(|bytes| serde_json::from_slice::<Live>(&bytes).ok());
            let retired = retired.and_then(|bytes| serde_json::from_slice::<Retired>(&bytes).ok());
            let successor = successor.and_then(|bytes| serde_json::from_slice::<Successor>(&bytes).ok());
            let now = inner.sessions.now()?;
            if let Some(successor) = successor {
                presenter.check(&successor.family)?;
                return self.replayed(&token, successor, now).await;
            }
            if let Some(retired) = retired {
                // The successor is written before the marker, so a marker without one is past the
                // grace window (or was written before successors had records of their own).
                if now <= retired.at.saturating_add(inner.reuse_grace.as_secs()) {
                    return Err(RefreshError::Invalid);
                }
                return self.reused(&retired.family).await;
            }
            let live = live.ok_or(RefreshError::Invalid)?;
            presenter.check(&live.family)?;
            if now >= live.family.expires_at || now >= live.idle_expires_at {
                return Err(RefreshError::Invalid);
            }
            let session: S = serde_json::from_value(live.session.clone()).map_err(|_| RefreshError::Invalid)?;
            let new_token = random_token::<32>()?;
            let [new_key, ..] = record_keys(&new_token);
            let (fresh, fresh_ttl) = self.live_record(&live.family, live.session.clone(), now)?;
            let successor = to_json(&Successor {
                at: now,
                family: live.family.clone(),
                session: live.session,
                sealed: seal(&token, &new_token).ok_or(RefreshError::Invalid)?,
            })?;
            let marker = to_json(&Retired {
                at: now,
                family: live.family.end(),
            })?;
            let windows = self.rotation_windows(&live.family, client, now)?;
            let revoked_key = revocation::key(REVOKED_PREFIX, &live.family.id);
            let subject_key = live
                .family
                .subject
                .as_deref()
                .map(|subject| revocation::key(REVOKED_SUBJECT_PREFIX, subject));
            let mut rotation = RefreshRotation::new(
                &revoked_key,
                RotationRecord::new(&new_key, fresh, fresh_ttl),
                // The grace window, and the second that `at + grace` itself still counts.
                RotationRecord::new(successor_key, successor, inner.reuse_grace + Duration::from_secs(1)),
                RotationRecord::new(retired_key, marker, remaining(live.family.expires_at, now)),
                live_key,
            );
            if let Some(subject_key) = &subject_key {
                rotation = rotation.subject_revoked(subject_key, live.family.created_at);
            }
            for window in &windows {
                rotation = rotation.counter(RotationCounter::new(&window.key, window.ttl, window.max));
            }
            // One step: the revocation check, the counters, the claim and the writes (one round
            // trip on Redis).
            match inner.store.rotate_refresh(rotation).await? {
                RotationOutcome::Rotated => {
                    event!(
                        debug,
                        REFRESH,
                        session_id = live.family.id.as_str(),
                        "refresh token rotated"
                    );
                    return self.pair(&session, &live.family, new_token, now);
                }
                RotationOutcome::Revoked => return Err(RefreshError::Revoked),
                RotationOutcome::Limited(index) => {
                    let retry_after = windows.get(index).map_or(1, |window| window.retry_after);
                    return Err(RefreshError::RateLimited { retry_after });
                }
                // Another request retired it first: its successor is the one; ours was dropped.
                RotationOutcome::Taken => {}
            }
        }
        Err(RefreshError::Invalid)
    }

    /// The windows one rotation of `family` by `client` counts in: the client's (unless
    /// unlimited) and the family's.
    fn rotation_windows(&self, family: &Family, client: &Client, now: u64) -> Result<Vec<Window>, RefreshError> {
        let inner = &*self.inner;
        let mut windows = Vec::with_capacity(2);
        match client {
            Client::Known(address) => {
                windows.push(Window::of(inner.rotations_per_client, "rotate-client", address, now));
            }
            Client::Unlimited => {}
            Client::Unknown => return Err(RefreshError::ClientAddressUnknown),
        }
        windows.push(Window::of(inner.rotations_per_family, "rotate-family", &family.id, now));
        Ok(windows)
    }

    /// A retired token presented again with its successor still on record: the same successor
    /// within the grace window (and the family's life), else the end of the family.
    async fn replayed(&self, token: &[u8; 32], successor: Successor, now: u64) -> Result<TokenPair, RefreshError> {
        let inner = &*self.inner;
        let in_grace = now <= successor.at.saturating_add(inner.reuse_grace.as_secs());
        if !in_grace {
            return self.reused(&successor.family.end()).await;
        }
        if now >= successor.family.expires_at {
            return Err(RefreshError::Invalid);
        }
        self.check_not_revoked(&successor.family).await?;
        let new_token = open(token, &successor.sealed).ok_or(RefreshError::Invalid)?;
        let session: S = serde_json::from_value(successor.session).map_err(|_| RefreshError::Invalid)?;
        self.pair(&session, &successor.family, new_token, now)
    }

    /// A retired token presented after the grace window: someone else holds a copy. The family
    /// ends.
    async fn reused(&self, family: &FamilyEnd) -> Result<TokenPair, RefreshError> {
        event!(
            warn,
            REFRESH,
            session_id = family.id.as_str(),
            "a retired refresh token was used again; its family is revoked"
        );
        self.inner
            .revocations
            .revoke(&family.id, Some(family.expires_at))
            .await?;
        Err(RefreshError::Reused)
    }

    async fn check_not_revoked(&self, family: &Family) -> Result<(), RefreshError> {
        let revoked = self
            .inner
            .revocations
            .is_session_revoked(&family.id, family.subject.as_deref(), Some(family.created_at))
            .await?;
        if revoked { Err(RefreshError::Revoked) } else { Ok(()) }
    }

    /// Saves a new refresh token of `family` and returns it.
    async fn store_live(&self, family: &Family, session: serde_json::Value, now: u64) -> Result<String, RefreshError> {
        let token = random_token::<32>()?;
        let (record, ttl) = self.live_record(family, session, now)?;
        let [key, ..] = record_keys(&token);
        self.inner.store.put(&key, record, ttl).await?;
        Ok(token)
    }

    /// The record of a new refresh token of `family` issued at `now`, and how long it lives.
    fn live_record(
        &self,
        family: &Family,
        session: serde_json::Value,
        now: u64,
    ) -> Result<(Vec<u8>, Duration), RefreshError> {
        let idle_expires_at = self.idle_expiry(family, now);
        let live = Live {
            family: family.clone(),
            idle_expires_at,
            session,
        };
        Ok((to_json(&live)?, remaining(idle_expires_at, now)))
    }

    /// When a refresh token of `family` issued at `now` dies unused: its idle timeout, or the
    /// family's end if sooner.
    fn idle_expiry(&self, family: &Family, now: u64) -> u64 {
        now.saturating_add(self.inner.idle_timeout.as_secs())
            .min(family.expires_at)
    }

    /// A fresh access token for `session` in `family`, with `refresh_token`. The access token
    /// never outlives the family (nor, so, the revocation record that can refuse it).
    fn pair(&self, session: &S, family: &Family, refresh_token: String, now: u64) -> Result<TokenPair, RefreshError> {
        let inner = &*self.inner;
        let left = family.expires_at.saturating_sub(now);
        if left == 0 {
            return Err(RefreshError::Invalid);
        }
        let options = IssueOptions {
            subject: family.subject.clone(),
            lifetime: Some(inner.access_lifetime.min(Duration::from_secs(left))),
            session_id: Some(family.id.clone()),
            mode: inner.openauth.then(|| "access".to_owned()),
            ..IssueOptions::default()
        };
        let issued = match &family.client_id {
            Some(client_id) => inner.sessions.issue_to(session, &options, client_id)?,
            None => inner.sessions.issue(session, &options)?,
        };
        let idle_expires_at = self.idle_expiry(family, now);
        Ok(TokenPair {
            access_token: issued.token,
            refresh_token,
            expires_in: issued.expires_at.saturating_sub(issued.issued_at),
            refresh_expires_in: idle_expires_at.saturating_sub(now),
            session_id: family.id.clone(),
        })
    }
}
