//! Following a store's invalidation events: entries named by another instance are dropped, and
//! while the subscription is down nothing is served from memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::index::{Entries, SharedIndex, flag, lock};
use super::stats::Counters;
use crate::store::contract::Store;
use crate::store::events::{Invalidation, StoreEvent, Subscription};
use crate::telemetry::event;

/// What a cache following a store's events knows of them.
#[derive(Default)]
pub(super) struct Watch {
    /// Whether the subscription is live; while it is not, nothing is served from or kept in memory.
    pub(super) live: AtomicBool,
    /// Counts invalidation events; a verification that overlapped one is not kept.
    pub(super) generation: AtomicU64,
}

/// The store subscription of a following cache; unsubscribes when the last clone goes.
pub(super) struct Follow {
    pub(super) watch: Arc<Watch>,
    pub(super) _subscription: Subscription,
}

/// Subscribes `entries` to `store`'s events.
pub(super) fn follow<S: Send + Sync + 'static>(
    store: &dyn Store,
    entries: Entries<S>,
    index: SharedIndex<S>,
    counters: Arc<Counters>,
) -> Follow {
    let watch = Arc::new(Watch::default());
    let listener_watch = Arc::clone(&watch);
    let subscription = store.subscribe(Arc::new(move |event: &StoreEvent| {
        let watch = &listener_watch;
        watch.generation.fetch_add(1, Ordering::AcqRel);
        counters.invalidations.fetch_add(1, Ordering::Relaxed);
        event!(debug, CACHE, event = event.kind(), "store event applied to the cache");
        match event {
            StoreEvent::Invalidate(Invalidation::Session(id)) => flag(lock(&index).by_session.get(id)),
            StoreEvent::Invalidate(Invalidation::Subject(subject)) => flag(lock(&index).by_subject.get(subject)),
            StoreEvent::Subscribed => {
                // Whatever was published while nobody listened is unknown: start afresh.
                entries.invalidate_all();
                watch.live.store(true, Ordering::Release);
            }
            // `Interrupted`, `All`, and any event kind added later: forget everything.
            _ => {
                if *event == StoreEvent::Interrupted {
                    watch.live.store(false, Ordering::Release);
                }
                entries.invalidate_all();
            }
        }
    }));
    Follow {
        watch,
        _subscription: subscription,
    }
}
