//! The notification listener of a [`PostgresStore`](super::PostgresStore): connects, listens,
//! delivers each event to the listeners, and starts over when the connection is lost.

use std::sync::Weak;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};

use super::{FIRST_RETRY, LONGEST_RETRY};
use crate::store::contract::StoreError;
use crate::store::events::{Invalidation, Listeners, StoreEvent};
use crate::store::sql::records::within;
use crate::telemetry::event;

/// The notification listener: connects, listens, delivers, and starts over when the connection
/// is lost, until the store is dropped.
pub(super) struct Subscriber {
    pub(super) pool: PgPool,
    pub(super) channel: String,
    pub(super) timeout: Duration,
    pub(super) heartbeat: Duration,
    pub(super) listeners: Weak<Listeners>,
}

impl Subscriber {
    pub(super) async fn run(self) {
        let mut retry = FIRST_RETRY;
        loop {
            if let Ok(listener) = self.listening().await {
                retry = FIRST_RETRY;
                let Some(listeners) = self.listeners.upgrade() else {
                    return;
                };
                event!(info, STORE, "PostgreSQL listener live; cached sessions start afresh");
                listeners.emit(&StoreEvent::Subscribed);
                drop(listeners);
                self.deliver(listener).await;
                let Some(listeners) = self.listeners.upgrade() else {
                    return;
                };
                event!(
                    warn,
                    STORE,
                    "PostgreSQL listener lost; caches serve nothing from memory until it is back"
                );
                listeners.emit(&StoreEvent::Interrupted);
            } else if self.listeners.strong_count() == 0 {
                return;
            }
            tokio::time::sleep(retry).await;
            retry = (retry * 2).min(LONGEST_RETRY);
        }
    }

    /// A connection listening on the channel (PostgreSQL has confirmed the `LISTEN`).
    async fn listening(&self) -> Result<PgListener, StoreError> {
        let mut listener = within(self.timeout, PgListener::connect_with(&self.pool)).await?;
        within(self.timeout, listener.listen(&self.channel)).await?;
        Ok(listener)
    }

    /// Delivers notifications until the connection is lost: closed, or silent and deaf to a
    /// heartbeat `NOTIFY` of its own.
    async fn deliver(&self, mut listener: PgListener) {
        let heartbeat = format!("heartbeat:{}", std::process::id());
        let mut awaiting_heartbeat = false;
        loop {
            let wait = if awaiting_heartbeat {
                self.timeout
            } else {
                self.heartbeat
            };
            match tokio::time::timeout(wait, listener.try_recv()).await {
                Ok(Ok(Some(notification))) => {
                    awaiting_heartbeat = false;
                    if notification.payload().starts_with("heartbeat:") {
                        continue;
                    }
                    let Some(listeners) = self.listeners.upgrade() else {
                        return;
                    };
                    let invalidation = Invalidation::decode(notification.payload().as_bytes());
                    listeners.emit(&StoreEvent::Invalidate(invalidation));
                }
                Ok(Ok(None) | Err(_)) => return,
                Err(_silent) if awaiting_heartbeat => return,
                Err(_silent) => {
                    let ping = sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(&self.channel)
                        .bind(&heartbeat);
                    if within(self.timeout, ping.execute(&self.pool)).await.is_err() {
                        return;
                    }
                    awaiting_heartbeat = true;
                }
            }
        }
    }
}
