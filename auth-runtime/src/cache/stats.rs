//! How a verification was answered, and the counters a metrics exporter reads.

use std::sync::atomic::{AtomicU64, Ordering};

use super::SessionCache;
use crate::verifier::SessionVerifier;

/// How a verification was answered, for the layer's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// From a cached entry.
    Hit,
    /// This request asked the verifier.
    Miss,
    /// Another request's verifier call answered this one too.
    Coalesced,
    /// No cache (disabled, or not following its store's events): the verifier was asked.
    Uncached,
}

impl Outcome {
    #[cfg_attr(not(feature = "tracing"), allow(dead_code, reason = "only events show it"))]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Coalesced => "coalesced",
            Outcome::Uncached => "uncached",
        }
    }
}

/// The counters of a cache, shared by its clones.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) hits: AtomicU64,
    pub(super) misses: AtomicU64,
    pub(super) coalesced: AtomicU64,
    pub(super) uncached: AtomicU64,
    pub(super) invalidations: AtomicU64,
    pub(super) verifier_calls: AtomicU64,
    pub(super) refused: AtomicU64,
    pub(super) unavailable: AtomicU64,
}

/// A snapshot of a cache's counters since it was built: for a metrics exporter to read on its
/// own schedule (no metrics library needed). Counters only grow; `entries` is the current size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Requests answered from a cached entry.
    pub hits: u64,
    /// Requests that asked the verifier (and, on success, filled an entry).
    pub misses: u64,
    /// Requests that waited for another request's verifier call for the same token.
    pub coalesced: u64,
    /// Requests that asked the verifier with no cache in between (caching off, or a cache whose
    /// store subscription was not live).
    pub uncached: u64,
    /// Invalidations applied: explicit calls and the store's events.
    pub invalidations: u64,
    /// Calls to the verifier.
    pub verifier_calls: u64,
    /// Verifier calls that refused the credential (`MissingCredentials`, `VerificationFailed`).
    pub verifier_refused: u64,
    /// Verifier calls whose backend could not answer (`BackendUnavailable`).
    pub verifier_unavailable: u64,
    /// Entries cached now (moka's count, which may lag pending evictions).
    pub entries: u64,
}

impl<V: SessionVerifier> SessionCache<V> {
    /// The cache's counters since it was built, and its current size.
    pub fn stats(&self) -> CacheStats {
        let counters = &*self.counters;
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CacheStats {
            // The hot slots count their own hits, per thread.
            hits: read(&counters.hits) + self.hot.as_ref().map_or(0, |hot| hot.hits()),
            misses: read(&counters.misses),
            coalesced: read(&counters.coalesced),
            uncached: read(&counters.uncached),
            invalidations: read(&counters.invalidations),
            verifier_calls: read(&counters.verifier_calls),
            verifier_refused: read(&counters.refused),
            verifier_unavailable: read(&counters.unavailable),
            entries: self.entries.as_ref().map_or(0, moka::future::Cache::entry_count),
        }
    }
}
