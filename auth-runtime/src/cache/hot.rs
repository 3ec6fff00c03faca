//! The hot path in front of the cache: a small, fixed set of slots that remember the last token
//! seen at each slot, by the token's exact bytes, with its confirmed entry. A request whose token
//! is in its slot is answered without hashing the token with SHA-256 or asking moka: on a busy
//! service, the same few sessions make most of the requests.
//!
//! A slot is used only while nothing has been invalidated since it was filled: every
//! invalidation (of a token, a subject, a session id, everything, or an event from the store)
//! moves the epoch on, and a slot of an older epoch is not served. Tokens are compared whole, so
//! two tokens never share a slot's answer; the slot index comes from a hasher keyed at random per
//! process, so no one can choose which tokens push others out. Bounded: [`SLOTS`] slots.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::index::Entry;

/// How many tokens the hot path remembers.
pub(super) const SLOTS: usize = 64;

struct Slot<S> {
    token: Box<str>,
    entry: Arc<Entry<S>>,
    /// The epoch and the store's generation when the slot was filled.
    epoch: u64,
    generation: u64,
}

pub(super) struct Hot<S> {
    slots: Box<[RwLock<Option<Slot<S>>>]>,
    hasher: std::collections::hash_map::RandomState,
    epoch: AtomicU64,
}

impl<S> Hot<S> {
    pub(super) fn new() -> Self {
        Hot {
            slots: (0..SLOTS).map(|_| RwLock::new(None)).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
            epoch: AtomicU64::new(0),
        }
    }

    /// The slot of `token`, from its last 16 bytes (a JWT's signature, or an opaque id's random
    /// tail) through the per-process keyed hasher: which slot only, never whether it matches.
    fn slot(&self, token: &str) -> &RwLock<Option<Slot<S>>> {
        let tail = &token.as_bytes()[token.len().saturating_sub(16)..];
        let index = usize::try_from(self.hasher.hash_one(tail) % SLOTS as u64).unwrap_or(0);
        &self.slots[index]
    }

    /// The entry remembered for exactly `token`, if nothing was invalidated since (`generation` is
    /// the store's current one).
    pub(super) fn get(&self, token: &str, generation: u64) -> Option<Arc<Entry<S>>> {
        let epoch = self.epoch.load(Ordering::Acquire);
        let slot = self.slot(token).read().ok()?;
        let slot = slot.as_ref()?;
        (slot.epoch == epoch && slot.generation == generation && &*slot.token == token).then(|| Arc::clone(&slot.entry))
    }

    /// Remembers `entry` (confirmed, served) for `token`, read under `epoch` and `generation`
    /// before the entry was found, so an invalidation in between leaves the slot unused.
    pub(super) fn put(&self, token: &str, entry: &Arc<Entry<S>>, epoch: u64, generation: u64) {
        let mut slot = match self.slot(token).write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        if slot
            .as_ref()
            .is_some_and(|slot| &*slot.token == token && slot.epoch == epoch)
        {
            return;
        }
        *slot = Some(Slot {
            token: token.into(),
            entry: Arc::clone(entry),
            epoch,
            generation,
        });
    }

    /// The current epoch, read before looking an entry up.
    pub(super) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// An invalidation: no slot filled before it is served again.
    pub(super) fn invalidate(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use super::*;
    use crate::verifier::Authenticated;

    fn entry(name: &str) -> Arc<Entry<String>> {
        Arc::new(Entry {
            authenticated: Arc::new(Authenticated::new(name.to_owned())),
            token_hash: [0; 32],
            valid_until: u64::MAX,
            time_to_live: Duration::from_secs(60),
            generation: 0,
            confirmed: AtomicBool::new(true),
            invalidated: AtomicBool::new(false),
        })
    }

    #[test]
    fn slots_answer_only_their_exact_token_and_stay_bounded() {
        let hot = Hot::new();
        for n in 0..10_000 {
            let token = format!("token-{n}");
            hot.put(&token, &entry(&token), hot.epoch(), 0);
        }
        assert_eq!(hot.slots.len(), SLOTS, "a fixed number of slots, whatever comes");
        let kept = (0..10_000)
            .filter(|n| hot.get(&format!("token-{n}"), 0).is_some())
            .count();
        assert!(kept <= SLOTS, "{kept} tokens remembered");
        // A token is answered with its own entry only, never a neighbour's.
        hot.put("ada", &entry("ada"), hot.epoch(), 0);
        let found = hot.get("ada", 0).map(|entry| entry.authenticated.session.clone());
        assert_eq!(found.as_deref(), Some("ada"));
        assert!(hot.get("ad", 0).is_none() && hot.get("adb", 0).is_none());
    }

    #[test]
    fn an_invalidation_or_a_new_generation_retires_every_slot() {
        let hot = Hot::new();
        hot.put("ada", &entry("ada"), hot.epoch(), 0);
        assert!(hot.get("ada", 0).is_some());
        assert!(hot.get("ada", 1).is_none(), "a store event since the slot was filled");
        hot.invalidate();
        assert!(hot.get("ada", 0).is_none(), "an invalidation since the slot was filled");
        // Filled with an epoch read before an invalidation: never served.
        let stale = hot.epoch();
        hot.invalidate();
        hot.put("bob", &entry("bob"), stale, 0);
        assert!(hot.get("bob", 0).is_none());
    }
}
