//! Retry arithmetic for hook deliveries (and usage pushes), kept pure: no clock, no randomness of its own, no I/O.
//! The worker supplies the attempt number, the [`DeliveryFailure`] and a random fraction, and gets back
//! how long to wait, or `None` to give up and park the event as dead.
//!
//! The shape follows svix's dispatcher: a schedule indexed by attempt, `Retry-After` honoured but
//! clamped to `[base, 2·base]` so a receiver can slow us down without stalling the queue forever,
//! and a little jitter so that instances whose hooks failed together do not retry together.

use std::time::Duration;

use super::sink::DeliveryFailure;

/// How long to wait after each failed attempt, and when to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    /// `delays[n - 1]` is the wait after the `n`-th failed attempt; the last entry repeats.
    /// An empty list means "retry at once" (only useful in tests).
    pub delays: Vec<Duration>,
    /// Total attempts, the first delivery included. After the `max_attempts`-th failure the
    /// event is dead.
    pub max_attempts: u32,
}

impl Default for RetrySchedule {
    /// 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then every 2 h, for 30 attempts: the last retry
    /// happens about 47 h 42 min after the first attempt, so a vendor system that is down for a
    /// weekend loses nothing.
    fn default() -> Self {
        Self {
            delays: [5, 30, 120, 600, 1_800, 3_600, 7_200]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            max_attempts: 30,
        }
    }
}

/// Jitter spread: delays vary by ±10 %.
const JITTER: f64 = 0.10;

impl RetrySchedule {
    /// The unjittered wait after the `attempt`-th failed attempt (1-based).
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let index = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
        self.delays
            .get(index)
            .or_else(|| self.delays.last())
            .copied()
            .unwrap_or(Duration::ZERO)
    }

    /// How long to wait before the next attempt, after the `attempt`-th attempt (1-based, the
    /// one that just failed) failed with `failure`. `None` means give up: the failure is not
    /// retryable, or the attempts are used up.
    ///
    /// `rng_fraction` is a uniform random number in `[0, 1)`; out-of-range values are clamped.
    /// - Without `Retry-After`: `base · (0.9 + 0.2·f)`, i.e. ±10 %.
    /// - With `Retry-After` on a 429 or 503: the asked-for seconds clamped to `[base, 2·base]`,
    ///   then stretched by up to +10 % (never shortened: the receiver asked for at least that).
    pub fn next_delay(
        &self,
        attempt: u32,
        failure: &DeliveryFailure,
        rng_fraction: f64,
    ) -> Option<Duration> {
        if !failure.retryable || attempt >= self.max_attempts {
            return None;
        }
        let base = self.base_delay(attempt);
        Some(match honoured_retry_after(failure) {
            Some(asked) => {
                clamp_retry_after(asked, base).mul_f64(1.0 + JITTER * clamp_fraction(rng_fraction))
            }
            None => self.jittered_delay(attempt, rng_fraction),
        })
    }

    /// The wait after the `attempt`-th failed attempt, `base · (0.9 + 0.2·f)` for a uniform
    /// `rng_fraction` f in `[0, 1)`. For retries that have no receiver to ask (usage pushes).
    pub fn jittered_delay(&self, attempt: u32, rng_fraction: f64) -> Duration {
        self.base_delay(attempt)
            .mul_f64(1.0 - JITTER + 2.0 * JITTER * clamp_fraction(rng_fraction))
    }

    /// The longest time from the first attempt to the last, jitter aside.
    pub fn total_span(&self) -> Duration {
        (1..self.max_attempts)
            .map(|attempt| self.base_delay(attempt))
            .sum()
    }
}

fn clamp_fraction(fraction: f64) -> f64 {
    if fraction.is_nan() {
        0.5
    } else {
        fraction.clamp(0.0, 1.0)
    }
}

/// `Retry-After` counts only on 429 Too Many Requests and 503 Service Unavailable, as RFC 9110
/// defines it for those answers. Only the delay-seconds form is read; an HTTP-date is ignored.
fn honoured_retry_after(failure: &DeliveryFailure) -> Option<Duration> {
    match failure.status {
        Some(429 | 503) => failure.retry_after_secs.map(Duration::from_secs),
        _ => None,
    }
}

/// Keeps a receiver's `Retry-After` within `[base, 2·base]`: no sooner than we would have retried
/// anyway, and no later than twice that, so one answer cannot park an instance's queue for days.
fn clamp_retry_after(asked: Duration, base: Duration) -> Duration {
    asked.clamp(base, base.saturating_mul(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(
        retryable: bool,
        status: Option<u16>,
        retry_after_secs: Option<u64>,
    ) -> DeliveryFailure {
        DeliveryFailure {
            retryable,
            status,
            retry_after_secs,
            message: String::new(),
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn default_schedule_follows_the_documented_steps() {
        let schedule = RetrySchedule::default();
        let bases: Vec<u64> = (1..=9).map(|a| schedule.base_delay(a).as_secs()).collect();
        assert_eq!(bases, [5, 30, 120, 600, 1_800, 3_600, 7_200, 7_200, 7_200]);
        assert_eq!(
            schedule.base_delay(0),
            secs(5),
            "attempt 0 is treated as the first"
        );
    }

    #[test]
    fn default_schedule_spans_about_two_days() {
        let span = RetrySchedule::default().total_span();
        assert_eq!(span, secs(6_155 + 23 * 7_200));
        assert!(
            span > secs(47 * 3_600) && span < secs(48 * 3_600),
            "{span:?}"
        );
    }

    #[test]
    fn middle_fraction_gives_the_base_delay() {
        let schedule = RetrySchedule::default();
        let retry = failure(true, Some(500), None);
        assert_eq!(schedule.next_delay(1, &retry, 0.5), Some(secs(5)));
        assert_eq!(schedule.next_delay(3, &retry, 0.5), Some(secs(120)));
        assert_eq!(schedule.next_delay(20, &retry, 0.5), Some(secs(7_200)));
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let schedule = RetrySchedule::default();
        let retry = failure(true, None, None);
        assert_eq!(schedule.next_delay(2, &retry, 0.0), Some(secs(27)));
        assert_eq!(schedule.next_delay(2, &retry, 1.0), Some(secs(33)));
        for step in 0..=100 {
            let delay = schedule
                .next_delay(4, &retry, f64::from(step) / 100.0)
                .unwrap();
            assert!(delay >= secs(540) && delay <= secs(660), "{delay:?}");
        }
    }

    #[test]
    fn out_of_range_fractions_are_clamped() {
        let schedule = RetrySchedule::default();
        let retry = failure(true, None, None);
        assert_eq!(schedule.next_delay(2, &retry, -3.0), Some(secs(27)));
        assert_eq!(schedule.next_delay(2, &retry, 7.0), Some(secs(33)));
        assert_eq!(schedule.next_delay(2, &retry, f64::NAN), Some(secs(30)));
    }

    #[test]
    fn non_retryable_failure_gives_up_at_once() {
        let schedule = RetrySchedule::default();
        assert_eq!(
            schedule.next_delay(1, &failure(false, Some(400), None), 0.5),
            None
        );
        assert_eq!(
            schedule.next_delay(1, &failure(false, Some(410), None), 0.5),
            None
        );
    }

    #[test]
    fn gives_up_after_max_attempts() {
        let schedule = RetrySchedule::default();
        let retry = failure(true, Some(503), None);
        assert!(schedule.next_delay(29, &retry, 0.5).is_some());
        assert_eq!(schedule.next_delay(30, &retry, 0.5), None);
        assert_eq!(schedule.next_delay(31, &retry, 0.5), None);

        let once = RetrySchedule {
            delays: vec![secs(1)],
            max_attempts: 1,
        };
        assert_eq!(once.next_delay(1, &retry, 0.5), None);
    }

    #[test]
    fn retry_after_within_bounds_is_honoured() {
        let schedule = RetrySchedule::default();
        // Attempt 2: base 30 s, so 45 s is inside [30, 60].
        assert_eq!(
            schedule.next_delay(2, &failure(true, Some(429), Some(45)), 0.0),
            Some(secs(45))
        );
        assert_eq!(
            schedule.next_delay(2, &failure(true, Some(503), Some(45)), 0.0),
            Some(secs(45))
        );
    }

    #[test]
    fn retry_after_is_clamped_to_base_and_twice_base() {
        let schedule = RetrySchedule::default();
        assert_eq!(
            schedule.next_delay(2, &failure(true, Some(429), Some(1)), 0.0),
            Some(secs(30))
        );
        assert_eq!(
            schedule.next_delay(2, &failure(true, Some(429), Some(86_400)), 0.0),
            Some(secs(60))
        );
        assert_eq!(
            schedule.next_delay(1, &failure(true, Some(503), Some(0)), 0.0),
            Some(secs(5))
        );
    }

    #[test]
    fn retry_after_jitter_only_lengthens() {
        let schedule = RetrySchedule::default();
        let asked = failure(true, Some(429), Some(40));
        assert_eq!(schedule.next_delay(2, &asked, 0.0), Some(secs(40)));
        assert_eq!(schedule.next_delay(2, &asked, 1.0), Some(secs(44)));
    }

    #[test]
    fn retry_after_is_ignored_on_other_statuses() {
        let schedule = RetrySchedule::default();
        assert_eq!(
            schedule.next_delay(2, &failure(true, Some(500), Some(50)), 0.5),
            Some(secs(30))
        );
        assert_eq!(
            schedule.next_delay(2, &failure(true, None, Some(50)), 0.5),
            Some(secs(30))
        );
    }

    #[test]
    fn empty_schedule_retries_at_once_until_max_attempts() {
        let schedule = RetrySchedule {
            delays: Vec::new(),
            max_attempts: 3,
        };
        let retry = failure(true, Some(500), None);
        assert_eq!(schedule.next_delay(1, &retry, 0.9), Some(Duration::ZERO));
        assert_eq!(schedule.next_delay(3, &retry, 0.9), None);
    }
}
