//! Virtual time for scenarios.
//!
//! KooGallery retries a failed purchase for three hours; a test cannot wait that long, so the
//! engine schedules every attempt on a [`SimClock`] and jumps it to the attempt's time instead of
//! sleeping. Whatever must agree with that time (the in-process gateway's clock, the open API's
//! date check) follows it through [`SimClock::on_change`].
//!
//! Signing is a separate question (see [`SigningTime`]): a real target compares the request's
//! `timestamp` with *its* wall clock, so scenarios against it must sign at wall-clock time even
//! while the schedule runs on virtual time.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::openapi::Now;
use crate::produce_client::Clock;

type Follower = Arc<dyn Fn(DateTime<Utc>) + Send + Sync>;

struct Inner {
    now: DateTime<Utc>,
    followers: Vec<Follower>,
}

/// A clock that moves only when the engine jumps it. Clones share the same time.
#[derive(Clone)]
pub struct SimClock {
    start: DateTime<Utc>,
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for SimClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimClock")
            .field("start", &self.start)
            .field("now", &self.now())
            .finish_non_exhaustive()
    }
}

impl SimClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            start,
            inner: Arc::new(Mutex::new(Inner {
                now: start,
                followers: Vec::new(),
            })),
        }
    }

    /// A clock starting at the current wall-clock time (for `koogate sim` against a real target).
    pub fn starting_now() -> Self {
        #[allow(clippy::disallowed_methods)] // the virtual clock's one reading of real time
        Self::new(Utc::now())
    }

    /// Calls `follower` with the new time on every move (and once now, so it starts in step).
    /// In-process tests pass `move |t| gateway_clock.set(t)`.
    pub fn on_change(self, follower: impl Fn(DateTime<Utc>) + Send + Sync + 'static) -> Self {
        let follower: Follower = Arc::new(follower);
        follower(self.now());
        self.lock().followers.push(follower);
        self
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.lock().now
    }

    pub fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// Virtual time since the clock started.
    pub fn elapsed(&self) -> Duration {
        (self.now() - self.start).to_std().unwrap_or_default()
    }

    /// Moves the clock to `to`, never backwards (a retry schedule only goes forward).
    pub fn jump_to(&self, to: DateTime<Utc>) {
        let followers = {
            let mut inner = self.lock();
            if inner.now >= to {
                return;
            }
            inner.now = to;
            inner.followers.clone()
        };
        // Outside the lock: a follower may read this clock.
        for follower in followers {
            follower(to);
        }
    }

    pub fn advance(&self, by: Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        self.jump_to(self.now() + by);
    }

    /// This clock as the open API's `Now` (its APIG date check follows virtual time).
    pub fn as_openapi_now(&self) -> Now {
        let clock = self.clone();
        Now::from_fn(move || clock.now().timestamp())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every write is a single assignment or push, so a poisoned lock holds consistent data.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Which "now" goes into a request's `timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningTime {
    /// The wall clock: a real target checks |its now − timestamp| ≤ 60 s.
    #[default]
    Wall,
    /// The scenario's virtual time: for a target whose own clock follows the [`SimClock`].
    Virtual,
}

impl SigningTime {
    /// The produce client's clock for this choice.
    pub fn clock(self, sim: &SimClock) -> Clock {
        match self {
            SigningTime::Wall => Clock::system(),
            SigningTime::Virtual => {
                let sim = sim.clone();
                Clock::from_fn(move || sim.now_ms())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use chrono::TimeZone;

    use super::*;

    #[test]
    fn jumps_forward_only_and_tells_followers() {
        let start = Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap();
        let seen = Arc::new(AtomicI64::new(0));
        let seen2 = seen.clone();
        let clock =
            SimClock::new(start).on_change(move |t| seen2.store(t.timestamp(), Ordering::SeqCst));
        assert_eq!(seen.load(Ordering::SeqCst), start.timestamp());
        clock.advance(Duration::from_secs(3600));
        assert_eq!(clock.elapsed(), Duration::from_secs(3600));
        assert_eq!(seen.load(Ordering::SeqCst), start.timestamp() + 3600);
        clock.jump_to(start);
        assert_eq!(clock.elapsed(), Duration::from_secs(3600));
        let signing = SigningTime::Virtual.clock(&clock);
        assert_eq!(signing.now_ms(), clock.now_ms());
        assert_eq!(clock.as_openapi_now().unix_secs(), start.timestamp() + 3600);
    }
}
