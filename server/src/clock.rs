//! The time source of the cache, the mock account's drain and the staleness gauge.
//!
//! Production uses the monotonic system clock. Tests use a manual clock they move forward by
//! hand, so "the cache expires after 30 s" and "the balance drains 0.02 per minute" are checked
//! exactly, without sleeping and without timing-dependent assertions.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A cheap, cloneable handle on "now".
#[derive(Clone, Debug)]
pub struct Clock(Arc<Source>);

#[derive(Debug)]
enum Source {
    System,
    /// A fixed origin plus an offset that only [`Clock::advance`] changes.
    Manual {
        origin: Instant,
        /// The wall-clock time (epoch ms) at `origin`.
        origin_ms: i64,
        offset: Mutex<Duration>,
    },
}

impl Clock {
    /// The real monotonic clock.
    pub fn system() -> Clock {
        Clock(Arc::new(Source::System))
    }

    /// A clock that stands still until [`Clock::advance`] moves it.
    pub fn manual() -> Clock {
        Clock(Arc::new(Source::Manual {
            origin: Instant::now(),
            origin_ms: system_epoch_ms(),
            offset: Mutex::new(Duration::ZERO),
        }))
    }

    /// A manual clock whose wall-clock time starts at `epoch_ms` (a test's "the server starts
    /// again where the last one stopped").
    pub fn manual_at(epoch_ms: i64) -> Clock {
        Clock(Arc::new(Source::Manual {
            origin: Instant::now(),
            origin_ms: epoch_ms,
            offset: Mutex::new(Duration::ZERO),
        }))
    }

    /// The current instant.
    pub fn now(&self) -> Instant {
        match &*self.0 {
            Source::System => Instant::now(),
            Source::Manual { origin, offset, .. } => {
                *origin + *offset.lock().unwrap_or_else(|p| p.into_inner())
            }
        }
    }

    /// Wall-clock time in milliseconds since 1970 (the `readAt` of `/v1/accounts`). A manual
    /// clock's moves forward with [`Clock::advance`] only.
    pub fn epoch_ms(&self) -> i64 {
        match &*self.0 {
            Source::System => system_epoch_ms(),
            Source::Manual {
                origin_ms, offset, ..
            } => {
                let offset = *offset.lock().unwrap_or_else(|p| p.into_inner());
                origin_ms.saturating_add(i64::try_from(offset.as_millis()).unwrap_or(i64::MAX))
            }
        }
    }

    /// True for a clock that moves only when told (tests): whoever waits for it looks again
    /// at least every second instead of sleeping until a time it computed.
    pub fn is_manual(&self) -> bool {
        matches!(&*self.0, Source::Manual { .. })
    }

    /// Moves a manual clock forward; the system clock ignores it (it is only called by tests).
    pub fn advance(&self, by: Duration) {
        if let Source::Manual { offset, .. } = &*self.0 {
            let mut offset = offset.lock().unwrap_or_else(|p| p.into_inner());
            *offset += by;
        }
    }
}

fn system_epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::system()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = Clock::manual();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(31));
        assert_eq!(clock.now() - start, Duration::from_secs(31));
        let wall = clock.epoch_ms();
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.epoch_ms() - wall, 1500);
    }
}
