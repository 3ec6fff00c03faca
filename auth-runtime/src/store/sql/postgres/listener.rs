//! The notification listener of a [`PostgresStore`](super::PostgresStore): connects, listens,
//! delivers each event to the listeners, and starts over when the connection is lost.

use std::sync::Weak;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};

use crate::store::contract::StoreError;
use crate::store::events::{Invalidation, Listeners, StoreEvent};
use crate::store::resubscribe::keep_subscribed;
use crate::store::sql::records::within;

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
        keep_subscribed(
            "PostgreSQL",
            &self.listeners,
            || self.listening(),
            |listener| self.deliver(listener),
        )
        .await;
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
