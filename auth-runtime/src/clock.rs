//! The one clock every time check reads: the system's, or one a test puts in its place.
//!
//! A clock that reads before 1970 cannot date anything, so reading it is an error, and every
//! caller fails closed on it: nothing is issued, no token is accepted, no cached entry is served,
//! no revocation is written with a made-up time.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, shared by clones.
#[derive(Clone)]
pub(crate) struct Clock(Arc<dyn Fn() -> SystemTime + Send + Sync>);

/// The clock read before the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system clock reads before 1970")]
pub(crate) struct BeforeEpoch;

impl Clock {
    /// The operating system's clock.
    pub(crate) fn system() -> Self {
        Clock(Arc::new(SystemTime::now))
    }

    /// A clock of the caller's (tests that need tokens from the past or the future).
    pub(crate) fn custom(now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        Clock(Arc::new(now))
    }

    /// The time now.
    pub(crate) fn now(&self) -> SystemTime {
        (self.0)()
    }

    /// Whole seconds since the Unix epoch.
    pub(crate) fn unix_seconds(&self) -> Result<u64, BeforeEpoch> {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .map_err(|_| BeforeEpoch)
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_clock_before_1970_is_an_error() {
        let before = Clock::custom(|| UNIX_EPOCH - Duration::from_secs(1));
        assert_eq!(before.unix_seconds(), Err(BeforeEpoch));
        let after = Clock::custom(|| UNIX_EPOCH + Duration::from_secs(42));
        assert_eq!(after.unix_seconds(), Ok(42));
    }
}
