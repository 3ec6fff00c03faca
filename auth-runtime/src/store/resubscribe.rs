//! The loop every store with a server-side subscription runs (Redis's pub/sub, PostgreSQL's
//! `LISTEN`): connect, tell the listeners they are live, deliver until the connection is lost,
//! tell them they may miss events, and try again with a growing delay, until the store is dropped.

use std::sync::Weak;
use std::time::Duration;

use super::contract::StoreError;
use super::events::{Listeners, StoreEvent};
use crate::telemetry::event;

/// Reconnection delays of a subscription: from the first to the longest.
pub(crate) const FIRST_RETRY: Duration = Duration::from_millis(50);
pub(crate) const LONGEST_RETRY: Duration = Duration::from_secs(1);

/// Runs the subscription of `listeners` on `server` ("Redis", "PostgreSQL", as events name it):
/// `connect` until it succeeds, then `Subscribed`, then `deliver` until the connection is lost,
/// then `Interrupted`; again every 50 ms to 1 s. Returns once the listeners are gone.
#[cfg_attr(
    not(feature = "tracing"),
    allow(unused_variables, reason = "`server` names events only")
)]
pub(crate) async fn keep_subscribed<Connection, Connected, Delivered>(
    server: &'static str,
    listeners: &Weak<Listeners>,
    connect: impl Fn() -> Connected,
    deliver: impl Fn(Connection) -> Delivered,
) where
    Connected: Future<Output = Result<Connection, StoreError>>,
    Delivered: Future<Output = ()>,
{
    let mut retry = FIRST_RETRY;
    loop {
        if let Ok(connection) = connect().await {
            retry = FIRST_RETRY;
            let Some(live) = listeners.upgrade() else {
                return;
            };
            event!(
                info,
                STORE,
                server,
                "store subscription live; cached sessions start afresh"
            );
            live.emit(&StoreEvent::Subscribed);
            drop(live);
            deliver(connection).await;
            let Some(live) = listeners.upgrade() else {
                return;
            };
            event!(
                warn,
                STORE,
                server,
                "store subscription lost; caches serve nothing from memory until it is back"
            );
            live.emit(&StoreEvent::Interrupted);
        } else if listeners.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(LONGEST_RETRY);
    }
}
