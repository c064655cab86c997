//! A brake on guessing the vendor API's bearer token: a peer address that presents a wrong token
//! too often within a window is answered `429` for the rest of that window, whatever it
//! presents, so the token cannot be guessed faster than [`MAX_FAILURES`] tries a minute per
//! address. Counting per address (not globally) keeps an attacker from locking the vendor out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong tokens one address may present per window.
pub const MAX_FAILURES: u32 = 10;
pub const WINDOW: Duration = Duration::from_secs(60);
/// Above this many tracked addresses, windows that have ended are forgotten.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Failed attempts per peer address.
#[derive(Debug, Default)]
pub struct AuthLimiter {
    windows: Mutex<HashMap<IpAddr, Window>>,
}

impl AuthLimiter {
    /// `Some(wait)` when `peer` must not be heard before `wait` has passed.
    pub fn blocked(&self, peer: IpAddr, now: Instant) -> Option<Duration> {
        let windows = self.lock();
        let window = windows.get(&peer)?;
        let ends = window.started + WINDOW;
        (window.failures >= MAX_FAILURES && now < ends).then(|| ends - now)
    }

    /// Records a wrong token from `peer`.
    pub fn failed(&self, peer: IpAddr, now: Instant) {
        let mut windows = self.lock();
        if windows.len() > PRUNE_ABOVE {
            windows.retain(|_, w| now < w.started + WINDOW);
        }
        let window = windows.entry(peer).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now >= window.started + WINDOW {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
        if window.failures == MAX_FAILURES {
            tracing::warn!(%peer, failures = MAX_FAILURES, window_secs = WINDOW.as_secs(), "vendor API: too many wrong bearer tokens from one address; refusing it for the rest of the window");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Window>> {
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_after_the_limit_until_the_window_ends() {
        let limiter = AuthLimiter::default();
        let start = Instant::now();
        let attacker = IpAddr::from([127, 0, 0, 2]);
        let vendor = IpAddr::from([127, 0, 0, 1]);
        for i in 0..MAX_FAILURES {
            assert_eq!(limiter.blocked(attacker, start), None, "attempt {i}");
            limiter.failed(attacker, start);
        }
        let wait = limiter.blocked(attacker, start + Duration::from_secs(1));
        assert_eq!(wait, Some(WINDOW - Duration::from_secs(1)));
        assert_eq!(limiter.blocked(vendor, start), None);
        assert_eq!(limiter.blocked(attacker, start + WINDOW), None);
        // A new window starts from zero.
        limiter.failed(attacker, start + WINDOW);
        assert_eq!(limiter.blocked(attacker, start + WINDOW), None);
    }
}
