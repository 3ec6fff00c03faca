//! The event subscription of a [`RedisStore`](super::RedisStore): connects, subscribes, delivers
//! each event to the listeners, and starts over when the connection is lost.

use std::sync::Weak;
use std::time::Duration;

use futures_util::StreamExt;

use super::within;
use crate::store::contract::StoreError;
use crate::store::events::{Invalidation, Listeners, StoreEvent};
use crate::store::resubscribe::keep_subscribed;

/// The event subscription: connects, subscribes, delivers, and starts over when the connection
/// is lost, until the store is dropped.
pub(super) struct Subscriber {
    pub(super) client: redis::Client,
    pub(super) channel: String,
    pub(super) timeout: Duration,
    pub(super) heartbeat: Duration,
    pub(super) listeners: Weak<Listeners>,
}

impl Subscriber {
    pub(super) async fn run(self) {
        keep_subscribed(
            "Redis",
            &self.listeners,
            || self.subscribed(),
            |(sink, stream)| self.deliver(sink, stream),
        )
        .await;
    }

    /// A pub/sub connection subscribed to the channel (Redis has confirmed it).
    async fn subscribed(&self) -> Result<(redis::aio::PubSubSink, redis::aio::PubSubStream), StoreError> {
        let connection = within(self.timeout, self.client.get_async_pubsub()).await?;
        let (mut sink, stream) = connection.split();
        within(self.timeout, sink.subscribe(&self.channel)).await?;
        Ok((sink, stream))
    }

    /// Delivers messages until the connection is lost (closed, or silent and deaf to a `PING`).
    async fn deliver(&self, mut sink: redis::aio::PubSubSink, mut stream: redis::aio::PubSubStream) {
        loop {
            match tokio::time::timeout(self.heartbeat, stream.next()).await {
                Ok(Some(message)) => {
                    let Some(listeners) = self.listeners.upgrade() else {
                        return;
                    };
                    let invalidation = Invalidation::decode(message.get_payload_bytes());
                    listeners.emit(&StoreEvent::Invalidate(invalidation));
                }
                Ok(None) => return,
                Err(_silent) => {
                    if within(self.timeout, sink.ping::<redis::Value>()).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
