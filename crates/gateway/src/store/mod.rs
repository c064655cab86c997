//! Storage: one trait, two backends (SQLite by default, PostgreSQL for scale-out), chosen once at
//! start-up from the database URL.
//!
//! The trait is deliberately coarse. Every state change KooGallery can cause goes through
//! [`Store::commit`], which applies the instance write, stores the exact response bytes under the
//! call's idempotency key and enqueues the webhook events in **one transaction**. That single
//! method is what makes "nothing acknowledged is lost, nothing is done twice" hold on both backends:
//! either the response, the state and the events all exist, or none of them do.
//!
//! Both backends store times as epoch milliseconds, so a time read back has millisecond
//! precision even if a finer one was written.

mod commit;
mod kit;
mod lease;
mod license_code;
mod models;
mod postgres;
mod reconcile;
mod rows;
mod sqlite;
mod usage;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use models::*;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or optimistic-concurrency conflict the caller should resolve by re-reading.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// SQLite's shared write transaction failed for a reason outside this caller's own writes;
    /// none of the batch was stored.
    #[error("the shared write transaction failed: {0}")]
    GroupCommit(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything the gateway persists. Implementations must be safe to share between tasks and
/// between several `koogate serve` replicas on one PostgreSQL database.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Which backend this is, for `/readyz` and logs (`sqlite` or `postgres`).
    fn backend(&self) -> &'static str;

    /// Records a request nonce. Returns `false` when it was already seen (a replay).
    ///
    /// Needs to be durable against a crash of koogate, not of the machine, and so may be written
    /// without a disk flush of its own. A nonce only matters while its timestamp is inside the
    /// ±60 s replay window; a request older than that is refused on its timestamp alone. What a
    /// machine crash (or a database server crash) can lose is the last moment of nonces before
    /// it, and a machine takes longer than the window to come back, so every lost nonce belongs
    /// to a request whose timestamp is already refused when koogate answers again. A crash of
    /// koogate alone must lose nothing: the write must be in the operating system's (or the
    /// database server's) hands when the call returns. PostgreSQL uses this
    /// (`synchronous_commit = off` sessions); SQLite does not yet (see its `remember_nonce`).
    async fn remember_nonce(&self, nonce: &str, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Forgets nonces seen before `before`; returns how many were removed.
    async fn prune_nonces(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    /// The stored response of an earlier call with this idempotency key.
    async fn find_response(&self, key: &str) -> StoreResult<Option<StoredResponse>>;

    /// Applies a [`Commit`] atomically. See [`CommitOutcome`] for what the caller learns.
    async fn commit(&self, commit: Commit) -> StoreResult<CommitOutcome>;

    async fn get_instance(&self, instance_id: &str) -> StoreResult<Option<Instance>>;
    /// The instances among `ids` that exist, in no particular order.
    async fn get_instances(&self, ids: &[String]) -> StoreResult<Vec<Instance>>;
    /// The instance created for an idempotency key such as `line:{orderId}:{orderLineId}`.
    async fn find_instance_by_key(&self, idem_key: &str) -> StoreResult<Option<Instance>>;
    /// Instances ordered by creation time, newest first.
    async fn list_instances(&self, limit: i64, offset: i64) -> StoreResult<Vec<Instance>>;

    async fn get_order(
        &self,
        order_id: &str,
        order_line_id: &str,
    ) -> StoreResult<Option<OrderRecord>>;

    /// Claims the oldest deliverable event: due, not leased, and with no earlier undelivered,
    /// live event for the same ordering key (per-instance ordering). The claim is a lease until
    /// `now + lease`; a crashed worker's lease simply expires.
    ///
    /// "Live" excludes dead events: a parked event does not block later events of its ordering
    /// key (otherwise one poisoned event would stall its instance forever); if it is revived by
    /// [`Store::redeliver_event`] it blocks them again from then on. Every claim counts as an
    /// attempt, so a worker that crashes mid-delivery still uses one up; the returned
    /// [`OutboxEvent::attempts`] is the count before this claim.
    async fn claim_event(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> StoreResult<Option<OutboxEvent>>;
    /// Marks a claimed event delivered. Idempotent: completing twice keeps the first delivery
    /// time, and a late success counts even after the lease expired or the event was parked.
    async fn complete_event(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()>;
    /// Records a failed attempt: retry at `next_attempt_at`, or park it as dead when `None`.
    /// Releases the lease; has no effect on an event already delivered.
    async fn fail_event(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    /// Puts a dead event back in the queue (manual re-delivery from the operator view), due at
    /// `now` with its attempt count reset to 0 (a fresh retry schedule); `last_error` is kept.
    /// Returns `false` when there is no dead, undelivered event with this id.
    async fn redeliver_event(&self, id: i64, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Events newest first (highest id first), optionally only those of one ordering key.
    async fn list_events(
        &self,
        ordering_key: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEvent>>;
    async fn outbox_stats(&self, now: DateTime<Utc>) -> StoreResult<OutboxStats>;

    // ---------------------------------------------------------------------------------------
    // License codes (license-kit §2.2), written by `Commit::license_code`

    async fn get_license_code(&self, code: &str) -> StoreResult<Option<LicenseCode>>;
    /// Codes ordered by code, optionally only those of one instance.
    async fn list_license_codes(
        &self,
        instance_id: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<LicenseCode>>;

    // ---------------------------------------------------------------------------------------
    // Metering (the usage ledger behind the usage push, saas-v2 §7.2)

    /// Records a usage report unless its `event_id` is known or its window is closed. Must be
    /// serialised with [`Store::close_usage_window`] for the same instance, so an event is either
    /// counted in the closed window or refused, never lost in between.
    async fn record_usage(
        &self,
        event: &NewUsageEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<RecordUsageOutcome>;
    /// Groups with unassigned events whose window ended at or before `ended_by`, oldest first.
    async fn open_usage_groups(
        &self,
        ended_by: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<UsageGroup>>;
    /// Closes one group: sums its unassigned events into a new pending [`UsageWindow`] with
    /// `metering_sn`, due at `now`, and assigns the events to it, in one transaction. `None` when
    /// the group has no unassigned events (another replica closed it first).
    async fn close_usage_window(
        &self,
        group: &UsageGroup,
        metering_sn: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UsageWindow>>;
    /// Pending windows due at `now`, oldest window first.
    async fn due_usage_windows(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<UsageWindow>>;
    /// Applies the outcome of one push attempt, all windows in one transaction. A window that
    /// is no longer pending is left as it is.
    async fn settle_usage_windows(
        &self,
        settlements: &[UsageSettlement],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Cumulative usage of those of `instance_ids` that have any.
    async fn usage_totals(&self, instance_ids: &[String]) -> StoreResult<Vec<UsageTotal>>;
    /// Usage deducted from those of `package_ids` (by `relate_pkg_instance`) that have any, one
    /// entry per package and on-demand instance it was reported for, ordered by both.
    async fn package_usage_totals(&self, package_ids: &[String]) -> StoreResult<Vec<PackageUsage>>;
    /// An instance's windows, newest first.
    async fn list_usage_windows(
        &self,
        instance_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<UsageWindow>>;

    // ---------------------------------------------------------------------------------------
    // 联营 Kit directory (tenants, apps, users, departments; license-kit §4)

    /// Applies `write.changes` in one transaction, in order, and enqueues `write.event` in it
    /// when at least one change changed something; returns whether one did.
    async fn apply_kit(&self, write: &KitWrite, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Live (or, with `include_deleted`, all) records of `kind`, narrowed by the given parts of
    /// the key, ordered by instance, tenant, app and item.
    async fn list_kit_records(
        &self,
        kind: KitKind,
        filter: &KitFilter,
        limit: i64,
    ) -> StoreResult<Vec<KitRecord>>;

    // ---------------------------------------------------------------------------------------
    // Reconciliation with KooGallery's order query (`domain::reconcile`)

    /// Up to `limit` instances that are not released, ordered by id, with ids after `after`
    /// (`""` for the first page).
    async fn list_unreleased_instances(
        &self,
        after: &str,
        limit: i64,
    ) -> StoreResult<Vec<Instance>>;
    /// Records what one pass found for an instance at `now`: a finding not open yet is opened
    /// (or reopened), an open one is refreshed. Returns the kinds it opened. A concurrent call
    /// with the same finding opens it once.
    async fn save_findings(
        &self,
        instance_id: &str,
        findings: &[NewFinding],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>>;
    /// Marks an open finding healed (and so resolved).
    async fn heal_finding(
        &self,
        instance_id: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Resolves the open findings last seen before `before` (a complete pass started then and
    /// did not see them again); returns how many.
    async fn resolve_unseen_findings(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Findings, newest first; resolved ones only with `include_resolved`.
    async fn list_findings(
        &self,
        include_resolved: bool,
        limit: i64,
    ) -> StoreResult<Vec<ReconcileFinding>>;

    // Scheduler leases (one replica runs each background pass)

    /// Takes the lease `name` for `holder` until `now + ttl`, or renews it when `holder` already
    /// has it. Returns `false`, changing nothing, while another holder's lease has not expired
    /// (its `expires_at` is after `now`). Atomic: of replicas racing for one lease, one wins.
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> StoreResult<bool>;
    /// Gives up the lease `name` if `holder` has it (a replica stopping cleanly), so another
    /// replica can take it at once instead of waiting for it to expire.
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;

    /// Cheap liveness check of the connection pool.
    async fn ping(&self) -> StoreResult<()>;
}

/// Which Kit records [`Store::list_kit_records`] returns; `None` parts match anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KitFilter {
    pub instance_id: Option<String>,
    pub tenant_id: Option<String>,
    pub app_id: Option<String>,
    pub include_deleted: bool,
}

/// Opens the backend named by the URL scheme (`sqlite:` or `postgres://`/`postgresql://`) and
/// runs its migrations.
pub async fn open(url: &str) -> StoreResult<std::sync::Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(PostgresStore::connect(url).await?))
    } else {
        Ok(std::sync::Arc::new(SqliteStore::connect(url).await?))
    }
}
