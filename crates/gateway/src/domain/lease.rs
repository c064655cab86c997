//! Background jobs that must run on one replica at a time (metering, nonce pruning, and any
//! later scheduler such as reconciliation) share one helper: [`Leases::run_leased`].
//!
//! Each replica makes one [`Leases`] at start, with a random holder id. A job calls
//! `run_leased(name, ttl, || pass())` every interval, on every replica; the store's lease row for
//! `name` ([`Store::acquire_lease`]) lets exactly one holder through. The holder renews the lease
//! each time it runs a pass, so it keeps the job for as long as it lives; a job that stops cleanly
//! gives its lease up ([`Leases::release`]), and one that crashes no longer renews it, so another
//! replica takes over on its next pass, or once the lease has expired.
//!
//! Choosing `ttl` (see [`lease_ttl`]): longer than the job's interval, or the holder loses the
//! lease between its own passes and the job wanders between replicas; short enough that a dead
//! holder's job is not held up too long. A pass that outlasts its lease may overlap with the next
//! holder's: the jobs wrapped here must stay safe to run twice (they are: metering closes under a
//! per-instance lock with a deterministic `metering_sn`, and pruning is idempotent), the lease
//! only keeps them from running everywhere at once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;

use crate::clock::SharedClock;
use crate::store::Store;

/// Lease names, one per job. Documented in the gateway README.
pub const METERING: &str = "metering";
pub const NONCE_PRUNING: &str = "nonce-pruning";
pub const RECONCILIATION: &str = "reconciliation";

/// A lease for a job run every `interval`: three intervals, so a holder that misses one pass
/// (a slow database, a long pause) still keeps its job, and at least 30 s.
pub fn lease_ttl(interval: StdDuration) -> Duration {
    let three = interval.saturating_mul(3).max(StdDuration::from_secs(30));
    Duration::from_std(three).unwrap_or(Duration::hours(1))
}

/// This replica's leases. Cheap to clone; clones are the same holder.
#[derive(Debug, Clone)]
pub struct Leases {
    store: Arc<dyn Store>,
    clock: SharedClock,
    holder: Arc<str>,
}

impl Leases {
    /// A new holder with a random id: one per process, made at start.
    pub fn new(store: Arc<dyn Store>, clock: SharedClock) -> Self {
        let holder = format!("replica-{}", uuid::Uuid::new_v4().simple());
        Self {
            store,
            clock,
            holder: holder.into(),
        }
    }

    /// The id this replica's lease rows carry (`scheduler_leases.holder`).
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Runs `pass` if this replica holds the lease `name` (taking it when it is free or expired,
    /// renewing it to `now + ttl` when it is already ours) and returns its result; `None` without
    /// running it when another replica holds the lease, or when the store cannot say (the job's
    /// next interval tries again: skipping a pass is always safe, running it twice at once is
    /// what the lease avoids).
    pub async fn run_leased<T, Fut>(
        &self,
        name: &str,
        ttl: Duration,
        pass: impl FnOnce() -> Fut,
    ) -> Option<T>
    where
        Fut: Future<Output = T>,
    {
        let now = self.clock.now();
        match self.store.acquire_lease(name, &self.holder, now, ttl).await {
            Ok(true) => Some(pass().await),
            Ok(false) => {
                tracing::debug!(
                    lease = name,
                    "another replica holds the lease; pass skipped"
                );
                None
            }
            Err(err) => {
                tracing::warn!(lease = name, error = %err, "cannot take the lease; pass skipped");
                None
            }
        }
    }

    /// Gives up the lease `name` if this replica holds it: a job calls it when it stops cleanly,
    /// so that another replica takes the job over on its next pass rather than after the ttl.
    pub async fn release(&self, name: &str) {
        if let Err(err) = self.store.release_lease(name, &self.holder).await {
            tracing::warn!(lease = name, error = %err, "cannot give up the lease; it expires");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_outlives_several_intervals_and_at_least_30_seconds() {
        assert_eq!(
            lease_ttl(StdDuration::from_secs(60)),
            Duration::seconds(180)
        );
        assert_eq!(lease_ttl(StdDuration::from_secs(1)), Duration::seconds(30));
        assert_eq!(lease_ttl(StdDuration::MAX), Duration::hours(1));
    }
}
