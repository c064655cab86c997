//! Latency percentiles from raw samples. A run keeps at most a few hundred thousand samples, so
//! sorting them exactly is cheaper to trust than a histogram's bucket error.

use serde::{Deserialize, Serialize};

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub samples: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// Summarises samples in microseconds (in any order).
    pub fn from_micros(mut samples: Vec<u32>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let total: u64 = samples.iter().map(|&s| u64::from(s)).sum();
        let ms = |us: u32| f64::from(us) / 1000.0;
        let count = samples.len();
        Self {
            samples: count as u64,
            mean_ms: total as f64 / count as f64 / 1000.0,
            p50_ms: ms(percentile(&samples, 0.50)),
            p99_ms: ms(percentile(&samples, 0.99)),
            p999_ms: ms(percentile(&samples, 0.999)),
            max_ms: ms(samples[count - 1]),
        }
    }
}

/// Nearest-rank percentile of sorted, non-empty samples: the smallest sample at or below which
/// at least `q` of all samples lie.
fn percentile(sorted: &[u32], q: f64) -> u32 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<u32> = (1..=1000).rev().map(|ms| ms * 1000).collect();
        let l = Latency::from_micros(samples);
        assert_eq!(l.samples, 1000);
        assert_eq!(l.p50_ms, 500.0);
        assert_eq!(l.p99_ms, 990.0);
        assert_eq!(l.p999_ms, 999.0);
        assert_eq!(l.max_ms, 1000.0);
        assert_eq!(l.mean_ms, 500.5);
    }

    #[test]
    fn one_sample_is_every_percentile() {
        let l = Latency::from_micros(vec![1500]);
        assert_eq!((l.p50_ms, l.p999_ms, l.max_ms), (1.5, 1.5, 1.5));
    }

    #[test]
    fn no_samples_is_all_zero() {
        assert_eq!(Latency::from_micros(Vec::new()), Latency::default());
    }
}
