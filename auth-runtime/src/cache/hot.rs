//! The hot path in front of the cache: a small, fixed set of slots that remember the last token
//! seen at each slot, by the token's exact bytes, with its confirmed entry. A request whose token
//! is in its slot is answered without hashing the token with SHA-256 or asking moka: on a busy
//! service, the same few sessions make most of the requests.
//!
//! A slot is used only while nothing has been invalidated since it was filled: every
//! invalidation (of a token, a subject, a session id, everything, or an event from the store)
//! moves the epoch on, and a slot of an older epoch is not served. Tokens are compared whole, so
//! two tokens never share a slot's answer; the slot index comes from a hash keyed at random per
//! process, so no one can choose which tokens push others out. Bounded: [`SLOTS`] slots in each of
//! [`STRIPES`] sets, one set per worker thread (by the thread's number).

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use super::index::Entry;
use crate::verifier::Authenticated;

/// How many tokens one set of slots remembers: a power of two, so the slot is the top bits of
/// the hash.
pub(super) const SLOTS: usize = 64;
const _: () = assert!(SLOTS.is_power_of_two() && SLOTS > 1);
/// How many sets of slots: a thread reads and fills the set of its own number (modulo this), so
/// two worker threads serving one hot session do not contend on one slot's lock.
pub(super) const STRIPES: usize = 8;

/// A verified session with the token it was verified from, as a request carries it on.
///
/// Behind an `Arc` of its own (a [`SessionHandle`]): a hot slot keeps one, and the requests that
/// one worker thread serves from that slot clone it, not the one shared session, whose reference
/// count (a cache line every worker would write, several times per request) is left alone.
pub(crate) struct Verified<S> {
    pub(crate) authenticated: Arc<Authenticated<S>>,
    pub(crate) token: Arc<str>,
}

/// A request's handle on its verified session and token.
pub(crate) type SessionHandle<S> = Arc<Verified<S>>;

impl<S> Verified<S> {
    /// A new handle on `authenticated`, verified from `token`.
    pub(crate) fn handle(authenticated: Arc<Authenticated<S>>, token: Arc<str>) -> SessionHandle<S> {
        Arc::new(Verified { authenticated, token })
    }
}

struct Slot<S> {
    /// The session and the token it answers: the token is compared whole before the session is
    /// served, and goes on with the request as its credential.
    verified: SessionHandle<S>,
    entry: Arc<Entry<S>>,
    /// The epoch and the store's generation when the slot was filled.
    epoch: u64,
    generation: u64,
}

/// One thread's set of slots, and the hits it answered: on a line of its own, so one thread's
/// count never moves another's cache line.
#[repr(align(128))]
struct Stripe<S> {
    slots: Box<[RwLock<Option<Slot<S>>>]>,
    hits: AtomicU64,
}

pub(super) struct Hot<S> {
    stripes: Box<[Stripe<S>]>,
    /// The random odd multipliers and the random offset of the slot hash, drawn per process.
    keys: [u64; 3],
    epoch: AtomicU64,
}

/// The slot hash's keys: two odd multipliers and an offset, random per process (drawn from the
/// standard library's randomly keyed hasher, seeded by the OS).
fn random_keys() -> [u64; 3] {
    let state = std::collections::hash_map::RandomState::new();
    [state.hash_one(0u8) | 1, state.hash_one(1u8) | 1, state.hash_one(2u8)]
}

/// The set of slots of the calling thread.
fn stripe_of_thread() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    std::thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    // A thread being torn down shares the first set: still correct, only less spread.
    STRIPE.try_with(|stripe| *stripe).unwrap_or(0)
}

impl<S> Hot<S> {
    pub(super) fn new() -> Self {
        let stripe = || Stripe {
            slots: (0..SLOTS).map(|_| RwLock::new(None)).collect(),
            hits: AtomicU64::new(0),
        };
        Hot {
            stripes: (0..STRIPES).map(|_| stripe()).collect(),
            keys: random_keys(),
            epoch: AtomicU64::new(0),
        }
    }

    /// The slot of `token` in `stripe`, from the token's last 16 bytes (a JWT's signature, or an
    /// opaque id's random tail) by a multiply-add-shift hash under the per-process random keys:
    /// which slot only, never whether it matches. (Only a verified token fills a slot, and each
    /// slot compares its token whole.)
    fn slot<'a>(&self, stripe: &'a Stripe<S>, token: &str) -> &'a RwLock<Option<Slot<S>>> {
        let tail = &token.as_bytes()[token.len().saturating_sub(16)..];
        let mut bytes = [0u8; 16];
        bytes[..tail.len()].copy_from_slice(tail);
        let word = u128::from_le_bytes(bytes);
        // The two halves of the tail (the casts keep the low 64 bits, as meant).
        let (low, high) = (word as u64, (word >> 64) as u64);
        let [a, b, c] = self.keys;
        let hash = low.wrapping_mul(a).wrapping_add(high.wrapping_mul(b)).wrapping_add(c);
        let index = usize::try_from(hash >> (u64::BITS - SLOTS.trailing_zeros())).unwrap_or(0);
        &stripe.slots[index % SLOTS]
    }

    fn stripe(&self) -> &Stripe<S> {
        &self.stripes[stripe_of_thread()]
    }

    /// The session remembered for exactly `token` in this thread's slots, with the slot's copy
    /// of the token (the slot's handle), if nothing was invalidated since (`generation` is the
    /// store's current one) and its entry is still good at `now()` (unix seconds; the clock is
    /// read only for a slot that holds the token). Counted as a hit.
    pub(super) fn get(&self, token: &str, generation: u64, now: impl FnOnce() -> u64) -> Option<SessionHandle<S>> {
        let epoch = self.epoch.load(Ordering::Acquire);
        let stripe = self.stripe();
        let slot = self.slot(stripe, token).read().ok()?;
        let slot = slot.as_ref()?;
        let entry = &slot.entry;
        let serves = slot.epoch == epoch
            && slot.generation == generation
            && &*slot.verified.token == token
            && !entry.invalidated.load(Ordering::Acquire)
            && now() < entry.valid_until;
        if !serves {
            return None;
        }
        stripe.hits.fetch_add(1, Ordering::Relaxed);
        Some(Arc::clone(&slot.verified))
    }

    /// The hits the slots answered, over every thread.
    pub(super) fn hits(&self) -> u64 {
        self.stripes
            .iter()
            .map(|stripe| stripe.hits.load(Ordering::Relaxed))
            .sum()
    }

    /// Remembers `entry` (confirmed, served) for `token` in this thread's slots, read under
    /// `epoch` and `generation` before the entry was found, so an invalidation in between leaves
    /// the slot unused.
    pub(super) fn put(&self, token: &str, entry: &Arc<Entry<S>>, epoch: u64, generation: u64) {
        let mut slot = match self.slot(self.stripe(), token).write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Kept only when the slot holds this very entry under the same epoch and generation: a
        // slot whose entry expired (and was verified afresh), or was filled before a store event,
        // must take the new one, or the token would never be served from the slots again.
        if slot.as_ref().is_some_and(|slot| {
            Arc::ptr_eq(&slot.entry, entry)
                && slot.epoch == epoch
                && slot.generation == generation
                && &*slot.verified.token == token
        }) {
            return;
        }
        *slot = Some(Slot {
            verified: Verified::handle(Arc::clone(&entry.authenticated), Arc::from(token)),
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

    fn entry(name: &str) -> Arc<Entry<String>> {
        entry_until(name, u64::MAX)
    }

    fn entry_until(name: &str, valid_until: u64) -> Arc<Entry<String>> {
        Arc::new(Entry {
            authenticated: Arc::new(Authenticated::new(name.to_owned())),
            token_hash: [0; 32],
            valid_until,
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
        let slots: usize = hot.stripes.iter().map(|stripe| stripe.slots.len()).sum();
        assert_eq!(slots, SLOTS * STRIPES, "a fixed number of slots, whatever comes");
        let kept = (0..10_000)
            .filter(|n| hot.get(&format!("token-{n}"), 0, || 0).is_some())
            .count();
        assert!(kept <= SLOTS, "{kept} tokens remembered by one thread");
        assert!(
            kept > SLOTS / 2,
            "tokens spread over the slots: {kept} of {SLOTS} hold one"
        );
        assert_eq!(hot.hits(), kept as u64, "each answer counted once");
        // A token is answered with its own entry only, never a neighbour's.
        hot.put("ada", &entry("ada"), hot.epoch(), 0);
        let found = hot
            .get("ada", 0, || 0)
            .map(|verified| verified.authenticated.session.clone());
        assert_eq!(found.as_deref(), Some("ada"));
        assert!(hot.get("ad", 0, || 0).is_none() && hot.get("adb", 0, || 0).is_none());
    }

    #[test]
    fn a_hit_hands_out_the_slots_handle_and_leaves_the_shared_session_alone() {
        let hot = Hot::new();
        let ada = entry("ada");
        hot.put("ada", &ada, hot.epoch(), 0);
        let shared = Arc::strong_count(&ada.authenticated);
        let hits: Vec<_> = (0..10).filter_map(|_| hot.get("ada", 0, || 0)).collect();
        assert_eq!(hits.len(), 10);
        // Every worker thread's requests would otherwise write this one count, several times each.
        assert_eq!(
            Arc::strong_count(&ada.authenticated),
            shared,
            "a hit must not clone the session every thread shares"
        );
        assert!(
            hits.iter()
                .all(|hit| Arc::ptr_eq(hit, &hits[0]) && &*hit.token == "ada" && hit.authenticated.session == "ada"),
            "each hit is the slot's one handle, with the token and its session"
        );
    }

    #[test]
    fn a_slot_takes_the_fresh_entry_of_its_token() {
        let hot = Hot::new();
        let expiring = entry_until("ada", 100);
        hot.put("ada", &expiring, hot.epoch(), 0);
        assert!(hot.get("ada", 0, || 99).is_some());
        assert!(hot.get("ada", 0, || 100).is_none(), "not served at its expiry");
        // The cache verified the token afresh: its new entry replaces the expired one.
        let fresh = entry("ada");
        hot.put("ada", &fresh, hot.epoch(), 0);
        assert!(hot.get("ada", 0, || 100).is_some(), "the fresh entry is served");
        // The same after a store event: the entry found under the new generation is served.
        hot.put("ada", &fresh, hot.epoch(), 1);
        assert!(hot.get("ada", 1, || 100).is_some());
    }

    #[test]
    fn an_invalidation_or_a_new_generation_retires_every_slot() {
        let hot = Hot::new();
        hot.put("ada", &entry("ada"), hot.epoch(), 0);
        assert!(hot.get("ada", 0, || 0).is_some());
        assert!(
            hot.get("ada", 1, || 0).is_none(),
            "a store event since the slot was filled"
        );
        hot.invalidate();
        assert!(
            hot.get("ada", 0, || 0).is_none(),
            "an invalidation since the slot was filled"
        );
        // Filled with an epoch read before an invalidation: never served.
        let stale = hot.epoch();
        hot.invalidate();
        hot.put("bob", &entry("bob"), stale, 0);
        assert!(hot.get("bob", 0, || 0).is_none());
    }
}
