//! Cache invalidation events: what one instance publishes through a [`Store`](super::Store)
//! and every subscribed cache hears, and the listener bookkeeping store implementations share.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

/// What every instance's cache must forget: published through
/// [`Store::publish`](super::Store::publish).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Invalidation {
    /// The session with this id (`jti`, or a verifier's opaque id).
    Session(String),
    /// Every session of this subject (`sub`).
    Subject(String),
    /// Every cached session (after a signing key is retired, say).
    All,
}

impl Invalidation {
    /// The invalidation as one message: `session:<id>`, `subject:<sub>` or `all`.
    pub fn encode(&self) -> String {
        match self {
            Invalidation::Session(id) => format!("session:{id}"),
            Invalidation::Subject(subject) => format!("subject:{subject}"),
            Invalidation::All => "all".to_owned(),
        }
    }

    /// Reads a message written by [`encode`](Invalidation::encode). Anything else (a newer
    /// instance's new kind of event, a damaged message) reads as [`All`](Invalidation::All):
    /// forgetting too much costs a verification, forgetting too little would serve a revoked session.
    pub fn decode(message: &[u8]) -> Invalidation {
        let text = std::str::from_utf8(message).unwrap_or_default();
        match text.split_once(':') {
            Some(("session", id)) => Invalidation::Session(id.to_owned()),
            Some(("subject", subject)) => Invalidation::Subject(subject.to_owned()),
            _ => Invalidation::All,
        }
    }
}

/// What a store tells its subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreEvent {
    /// An instance sharing the store (this one included) published this invalidation.
    Invalidate(Invalidation),
    /// The subscription is live: every invalidation published from now on will be delivered.
    /// Invalidations published before it may have been missed.
    Subscribed,
    /// The subscription was lost (the store is unreachable, or its connection dropped):
    /// invalidations published until the next [`Subscribed`](StoreEvent::Subscribed) may be missed.
    Interrupted,
}

impl StoreEvent {
    /// The kind of event, as events and logs name it: `invalidate_session`,
    /// `invalidate_subject`, `invalidate_all`, `subscribed` or `interrupted`.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreEvent::Invalidate(Invalidation::Session(_)) => "invalidate_session",
            StoreEvent::Invalidate(Invalidation::Subject(_)) => "invalidate_subject",
            StoreEvent::Invalidate(_) => "invalidate_all",
            StoreEvent::Subscribed => "subscribed",
            StoreEvent::Interrupted => "interrupted",
        }
    }
}

/// A subscriber to a store's events.
pub type Listener = Arc<ListenerFn>;

/// The function behind a [`Listener`].
pub type ListenerFn = dyn Fn(&StoreEvent) + Send + Sync;

/// Keeps a listener subscribed; dropping it unsubscribes.
#[must_use = "dropping the subscription unsubscribes the listener"]
pub struct Subscription {
    _listener: Option<Listener>,
}

impl Subscription {
    /// A subscription that never hears anything (a store without events).
    pub fn none() -> Self {
        Subscription { _listener: None }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

/// The listeners of one store, for [`Store`](super::Store) implementations: hand out subscriptions with
/// [`add`](Listeners::add) and deliver events with [`emit`](Listeners::emit). It remembers whether
/// the store's subscription is live, so a listener added while it is gets
/// [`StoreEvent::Subscribed`] at once.
#[derive(Default)]
pub struct Listeners {
    state: Mutex<ListenerState>,
}

#[derive(Default)]
struct ListenerState {
    listeners: Vec<Weak<ListenerFn>>,
    live: bool,
}

impl fmt::Debug for Listeners {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Listeners")
            .field("listeners", &state.listeners.len())
            .field("live", &state.live)
            .finish()
    }
}

impl Listeners {
    /// No listeners, and not live.
    pub fn new() -> Self {
        Listeners::default()
    }

    /// Subscribes `listener`; it hears [`StoreEvent::Subscribed`] now if the store is live.
    pub fn add(&self, listener: Listener) -> Subscription {
        let mut state = self.lock();
        state.listeners.retain(|listener| listener.strong_count() > 0);
        state.listeners.push(Arc::downgrade(&listener));
        if state.live {
            listener(&StoreEvent::Subscribed);
        }
        Subscription {
            _listener: Some(listener),
        }
    }

    /// Delivers `event` to every live listener, in the order they subscribed, and records
    /// whether the store is live after [`Subscribed`](StoreEvent::Subscribed) and
    /// [`Interrupted`](StoreEvent::Interrupted). Listeners run under the lock, so two events
    /// never reach one listener out of order.
    pub fn emit(&self, event: &StoreEvent) {
        let mut state = self.lock();
        match event {
            StoreEvent::Subscribed => state.live = true,
            StoreEvent::Interrupted => state.live = false,
            StoreEvent::Invalidate(_) => {}
        }
        state.listeners.retain(|listener| match listener.upgrade() {
            Some(listener) => {
                listener(event);
                true
            }
            None => false,
        });
    }

    /// Whether the store's subscription is live.
    pub fn is_live(&self) -> bool {
        self.lock().live
    }

    // A listener that panicked cannot have left the list half-updated (pushes and retains are
    // single calls), so a poisoned lock is still consistent.
    fn lock(&self) -> MutexGuard<'_, ListenerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
