//! How long and how hard: `--quick` fits in a minute (one round of 3 s windows), the full run
//! takes about four (three rounds of 8 s windows, best of three per line), `--smoke` only proves
//! that everything runs (tests), its figures mean nothing.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    Smoke,
    Quick,
    Full,
}

/// The numbers a profile stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub warmup: Duration,
    pub measure: Duration,
    pub concurrency: usize,
    /// Time for the in-process crypto measurement.
    pub crypto: Duration,
    /// Most requests prepared for one workload window (memory of the generator, and orders in
    /// the bench's sandbox). The ceilings do not use it: they cycle through
    /// [`CEILING_PREPARED`] requests and never run out.
    pub max_budget: usize,
    /// Longest wait for the outbox to catch up after a workload.
    pub drain: Duration,
    /// Longest wait, after its burst, for the outbox drain line's outbox to empty; the line then
    /// reports the rate so far and says the outbox was not empty.
    pub drain_line_limit: Duration,
    /// Whole rounds (ceilings and workloads); each line keeps its best round.
    pub rounds: usize,
}

/// Requests a ceiling's generator prepares and then sends again in turn, for as long as its
/// window lasts (the ceilings look at neither body nor signature).
pub const CEILING_PREPARED: usize = 1_024;

impl Profile {
    pub fn settings(self) -> Settings {
        let ms = Duration::from_millis;
        match self {
            Self::Smoke => Settings {
                warmup: ms(0),
                measure: ms(400),
                concurrency: 4,
                crypto: ms(60),
                max_budget: 2_000,
                drain: ms(5_000),
                drain_line_limit: ms(10_000),
                rounds: 1,
            },
            Self::Quick => Settings {
                warmup: ms(500),
                measure: ms(3_000),
                concurrency: 16,
                crypto: ms(600),
                max_budget: 150_000,
                drain: ms(3_000),
                drain_line_limit: ms(15_000),
                rounds: 1,
            },
            Self::Full => Settings {
                warmup: ms(1_000),
                measure: ms(8_000),
                concurrency: 16,
                crypto: ms(1_500),
                max_budget: 400_000,
                drain: ms(30_000),
                drain_line_limit: ms(40_000),
                rounds: 3,
            },
        }
    }
}

impl Settings {
    /// The whole window, warm-up included, in seconds.
    pub fn window_s(&self) -> f64 {
        (self.warmup + self.measure).as_secs_f64()
    }

    /// Requests to prepare for a rate of at most `rps`: 50 % headroom, at least `floor`.
    pub fn budget_for(&self, rps: f64, floor: usize) -> usize {
        let wanted = (rps * self.window_s() * 1.5).ceil();
        let wanted = if wanted.is_finite() && wanted > 0.0 {
            wanted as usize
        } else {
            0
        };
        wanted.max(floor).min(self.max_budget)
    }

    /// Purchases in the outbox drain line's burst: the events the goal rate, half the storage
    /// ceiling, delivers in one measured window (with a vendor hook a purchase enqueues one
    /// webhook event, `instance.provision`); at least `floor`.
    pub fn burst_for(&self, storage_rps: f64, floor: usize) -> usize {
        let purchases = (storage_rps * 0.5 * self.measure.as_secs_f64()).ceil();
        let purchases = if purchases.is_finite() && purchases > 0.0 {
            purchases as usize
        } else {
            0
        };
        purchases.max(floor).min(self.max_budget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_have_headroom_and_limits() {
        let s = Profile::Quick.settings();
        assert_eq!(s.budget_for(1000.0, 10), 5_250);
        assert_eq!(s.budget_for(0.0, 300), 300);
        assert_eq!(s.budget_for(f64::NAN, 7), 7);
        assert_eq!(s.budget_for(1e9, 0), s.max_budget);
        assert_eq!(s.burst_for(1000.0, 10), 1_500);
        assert_eq!(s.burst_for(f64::NAN, 10), 10);
    }

    #[test]
    fn every_window_fits_the_replay_window() {
        // Requests are signed before the window; KooGallery's rule is ±60 s.
        for p in [Profile::Smoke, Profile::Quick, Profile::Full] {
            assert!(p.settings().window_s() < 50.0);
        }
    }
}
