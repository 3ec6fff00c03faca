//! One clock a test moves instead of sleeping: every component built with [`MovableClock::source`]
//! reads the same time, and [`MovableClock::advance`] moves them all at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A shared time, in milliseconds since the Unix epoch.
#[derive(Clone, Debug)]
pub struct MovableClock(Arc<AtomicU64>);

impl MovableClock {
    /// A clock reading `seconds` since the Unix epoch.
    pub fn at(seconds: u64) -> Self {
        MovableClock(Arc::new(AtomicU64::new(seconds * 1000)))
    }

    /// A clock reading the real time now, from which the test moves it.
    pub fn from_now() -> Self {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        MovableClock(Arc::new(AtomicU64::new(now.as_millis() as u64)))
    }

    /// What a builder's `clock(..)` takes.
    pub fn source(&self) -> impl Fn() -> SystemTime + Send + Sync + 'static {
        let now = Arc::clone(&self.0);
        move || UNIX_EPOCH + Duration::from_millis(now.load(Ordering::SeqCst))
    }

    /// Whole seconds since the Unix epoch, as the clock reads now.
    pub fn unix_seconds(&self) -> u64 {
        self.0.load(Ordering::SeqCst) / 1000
    }

    /// Moves every reader of this clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}
