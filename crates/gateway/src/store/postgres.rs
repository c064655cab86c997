//! PostgreSQL backend: for several `koogate serve` replicas sharing one database.
//!
//! Concurrency choices:
//! - Transactions run at READ COMMITTED. Idempotency and uniqueness rest on `INSERT ... ON
//!   CONFLICT DO NOTHING`, which waits for a concurrent transaction holding the same key and then
//!   sees its outcome, so of N concurrent commits with one response key exactly one wins.
//! - Claims use `FOR UPDATE SKIP LOCKED`: replicas skip rows another replica is leasing right
//!   now instead of queueing behind it, and the lease columns are re-checked on the locked row.
//! - Enqueuers take a transaction-scoped advisory lock per ordering key before inserting events.
//!   Sequence values are handed out at insert time, not at commit, so without it two concurrent
//!   commits for one key could become visible out of id order and a claimer could deliver the
//!   later event first.
//! - Usage reports and window closes of one instance take another class of advisory lock on the
//!   instance (`postgres/usage.rs`), so a report is either summed into its window or refused,
//!   never inserted after the sum was taken.
//! - 联营 Kit writes take their event's ordering-key lock before touching any record, so the
//!   writes of one tenant queue rather than deadlock on records they touch in different orders
//!   (`store/kit.rs`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use super::commit;

use super::rows::{
    EventRow, InstanceRow, OrderRow, ResponseRow, age_secs, convert_all, event_columns,
    instance_columns, non_negative, to_ms,
};
use super::{
    Commit, CommitOutcome, Instance, KitFilter, KitKind, KitRecord, KitWrite, LicenseCode,
    NewFinding, NewUsageEvent, OrderRecord, OutboxEvent, OutboxStats, PackageUsage,
    ReconcileFinding, RecordUsageOutcome, Store, StoreResult, StoredResponse, UsageGroup,
    UsageSettlement, UsageTotal, UsageWindow,
};

mod kit;
mod license_codes;
mod reconcile;
mod steps;
mod usage;

use steps::COMPLETE_EVENT;

// `sqlx::migrate!` is only exported with sqlx's `macros` feature (compile-time checked queries),
// which we do not enable; the `derive` + `migrate` features provide the same proc macro here.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::sqlx_macros::migrate!("migrations/postgres");

const MAX_CONNECTIONS: u32 = 10;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
const NONCE_CONNECTIONS: u32 = 4;

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Nonces only, on sessions with `synchronous_commit = off`: the commit returns before the
    /// server flushes its WAL (see `Store::remember_nonce` for why that is safe). A crash of
    /// koogate loses nothing the server has; a crash of the server can lose its last fraction of
    /// a second of nonces, all of them inside the replay window it takes the server to return.
    nonce_pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://...`) and runs pending migrations. Migrations take an
    /// advisory lock, so replicas starting together apply them once.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        let nonce_pool = PgPoolOptions::new()
            .max_connections(NONCE_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("SET synchronous_commit = off")
                        .execute(conn)
                        .await
                        .map(|_| ())
                })
            })
            .connect(url)
            .await?;
        Ok(Self { pool, nonce_pool })
    }
}

/// `SKIP LOCKED` passes over rows another replica is claiming at this moment. A row whose lease
/// another replica committed after this statement's snapshot is re-checked on its newest version
/// (READ COMMITTED), so that lease is honoured. The ordering check does not depend on locks: an
/// earlier pending event of the key blocks whether or not it is leased. `attempts` counts claims
/// (see `Store::claim_event`); the event reports the count from before this claim.
const CLAIM_EVENT: &str = concat!(
    "WITH next AS ( \
         SELECT o.id AS next_id FROM outbox o \
         WHERE o.delivered_at_ms IS NULL AND NOT o.dead AND o.next_attempt_at_ms <= $1 \
           AND (o.locked_until_ms IS NULL OR o.locked_until_ms <= $1) \
           AND NOT EXISTS (SELECT 1 FROM outbox p \
               WHERE p.ordering_key = o.ordering_key AND p.id < o.id \
                 AND p.delivered_at_ms IS NULL AND NOT p.dead) \
         ORDER BY o.id LIMIT 1 \
         FOR UPDATE OF o SKIP LOCKED) \
     UPDATE outbox SET locked_until_ms = $2, attempts = outbox.attempts + 1 FROM next \
     WHERE outbox.id = next.next_id \
     RETURNING outbox.attempts - 1 AS attempts, ",
    event_columns!()
);

const LIST_EVENTS: &str = concat!(
    "SELECT attempts, ",
    event_columns!(),
    " FROM outbox ORDER BY id DESC LIMIT $1"
);
const LIST_KEY_EVENTS: &str = concat!(
    "SELECT attempts, ",
    event_columns!(),
    " FROM outbox WHERE ordering_key = $1 ORDER BY id DESC LIMIT $2"
);

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    #[tracing::instrument(skip_all)]
    async fn remember_nonce(&self, nonce: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO nonces (nonce, seen_at_ms) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING",
        )
        .bind(nonce)
        .bind(to_ms(now))
        .execute(&self.nonce_pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    #[tracing::instrument(skip_all)]
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> StoreResult<bool> {
        let won: Option<(String,)> = sqlx::query_as(super::lease::ACQUIRE_LEASE)
            .bind(name)
            .bind(holder)
            .bind(to_ms(now + ttl))
            .bind(to_ms(now))
            .fetch_optional(&self.pool)
            .await?;
        Ok(won.is_some())
    }

    #[tracing::instrument(skip_all)]
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        sqlx::query(super::lease::RELEASE_LEASE)
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn prune_nonces(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM nonces WHERE seen_at_ms < $1")
            .bind(to_ms(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(skip_all)]
    async fn find_response(&self, key: &str) -> StoreResult<Option<StoredResponse>> {
        let row: Option<ResponseRow> =
            sqlx::query_as("SELECT key, body, created_at_ms FROM responses WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        row.map(StoredResponse::try_from).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn commit(&self, commit: Commit) -> StoreResult<CommitOutcome> {
        let mut tx = self.pool.begin().await?;
        let outcome = commit::apply(&mut tx, &commit).await?;
        if outcome == CommitOutcome::Committed {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(outcome)
    }

    #[tracing::instrument(skip_all)]
    async fn get_instance(&self, instance_id: &str) -> StoreResult<Option<Instance>> {
        let row: Option<InstanceRow> = sqlx::query_as(concat!(
            "SELECT ",
            instance_columns!(),
            " FROM instances WHERE instance_id = $1"
        ))
        .bind(instance_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Instance::try_from).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn get_instances(&self, ids: &[String]) -> StoreResult<Vec<Instance>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<InstanceRow> = sqlx::query_as(concat!(
            "SELECT ",
            instance_columns!(),
            " FROM instances WHERE instance_id = ANY($1)"
        ))
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        convert_all(rows)
    }

    #[tracing::instrument(skip_all)]
    async fn find_instance_by_key(&self, idem_key: &str) -> StoreResult<Option<Instance>> {
        let row: Option<InstanceRow> = sqlx::query_as(concat!(
            "SELECT ",
            instance_columns!(),
            " FROM instances WHERE idem_key = $1"
        ))
        .bind(idem_key)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Instance::try_from).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn list_instances(&self, limit: i64, offset: i64) -> StoreResult<Vec<Instance>> {
        let rows: Vec<InstanceRow> = sqlx::query_as(concat!(
            "SELECT ",
            instance_columns!(),
            " FROM instances ORDER BY created_at_ms DESC, instance_id DESC LIMIT $1 OFFSET $2"
        ))
        .bind(non_negative(limit))
        .bind(non_negative(offset))
        .fetch_all(&self.pool)
        .await?;
        convert_all(rows)
    }

    #[tracing::instrument(skip_all)]
    async fn get_order(
        &self,
        order_id: &str,
        order_line_id: &str,
    ) -> StoreResult<Option<OrderRecord>> {
        let row: Option<OrderRow> = sqlx::query_as(
            "SELECT order_id, order_line_id, order_type, raw, fetched_at_ms FROM orders \
             WHERE order_id = $1 AND order_line_id = $2",
        )
        .bind(order_id)
        .bind(order_line_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(OrderRecord::try_from).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn claim_event(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> StoreResult<Option<OutboxEvent>> {
        let now_ms = to_ms(now);
        let row: Option<EventRow> = sqlx::query_as(CLAIM_EVENT)
            .bind(now_ms)
            .bind(now_ms.saturating_add(lease.num_milliseconds()))
            .fetch_optional(&self.pool)
            .await?;
        row.map(OutboxEvent::try_from).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn complete_event(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(COMPLETE_EVENT)
            .bind(id)
            .bind(to_ms(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn fail_event(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET last_error = $2, locked_until_ms = NULL, \
             next_attempt_at_ms = COALESCE($3, next_attempt_at_ms), dead = ($3::BIGINT IS NULL) \
             WHERE id = $1 AND delivered_at_ms IS NULL",
        )
        .bind(id)
        .bind(error)
        .bind(next_attempt_at.map(to_ms))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn redeliver_event(&self, id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        let revived = sqlx::query(
            "UPDATE outbox SET dead = FALSE, attempts = 0, next_attempt_at_ms = $2, locked_until_ms = NULL \
             WHERE id = $1 AND dead AND delivered_at_ms IS NULL",
        )
        .bind(id)
        .bind(to_ms(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(revived == 1)
    }

    #[tracing::instrument(skip_all)]
    async fn list_events(
        &self,
        ordering_key: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEvent>> {
        let query = match ordering_key {
            Some(key) => sqlx::query_as(LIST_KEY_EVENTS).bind(key),
            None => sqlx::query_as(LIST_EVENTS),
        };
        let rows: Vec<EventRow> = query
            .bind(non_negative(limit))
            .fetch_all(&self.pool)
            .await?;
        convert_all(rows)
    }

    #[tracing::instrument(skip_all)]
    async fn outbox_stats(&self, now: DateTime<Utc>) -> StoreResult<OutboxStats> {
        let (depth, oldest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(created_at_ms) FROM outbox WHERE delivered_at_ms IS NULL AND NOT dead",
        )
        .fetch_one(&self.pool)
        .await?;
        let (dead,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE dead")
            .fetch_one(&self.pool)
            .await?;
        Ok(OutboxStats {
            depth,
            oldest_age_secs: age_secs(oldest, now),
            dead,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn record_usage(
        &self,
        event: &NewUsageEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<RecordUsageOutcome> {
        usage::record_usage(&self.pool, event, now).await
    }

    #[tracing::instrument(skip_all)]
    async fn open_usage_groups(
        &self,
        ended_by: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<UsageGroup>> {
        usage::open_usage_groups(&self.pool, ended_by, limit).await
    }

    #[tracing::instrument(skip_all)]
    async fn close_usage_window(
        &self,
        group: &UsageGroup,
        metering_sn: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UsageWindow>> {
        usage::close_usage_window(&self.pool, group, metering_sn, now).await
    }

    #[tracing::instrument(skip_all)]
    async fn due_usage_windows(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<UsageWindow>> {
        usage::due_usage_windows(&self.pool, now, limit).await
    }

    #[tracing::instrument(skip_all)]
    async fn settle_usage_windows(
        &self,
        settlements: &[UsageSettlement],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        usage::settle_usage_windows(&self.pool, settlements, now).await
    }

    #[tracing::instrument(skip_all)]
    async fn usage_totals(&self, instance_ids: &[String]) -> StoreResult<Vec<UsageTotal>> {
        usage::usage_totals(&self.pool, instance_ids).await
    }

    async fn package_usage_totals(&self, package_ids: &[String]) -> StoreResult<Vec<PackageUsage>> {
        usage::package_usage_totals(&self.pool, package_ids).await
    }

    #[tracing::instrument(skip_all)]
    async fn list_usage_windows(
        &self,
        instance_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<UsageWindow>> {
        usage::list_usage_windows(&self.pool, instance_id, limit).await
    }

    #[tracing::instrument(skip_all)]
    async fn apply_kit(&self, write: &KitWrite, now: DateTime<Utc>) -> StoreResult<bool> {
        kit::apply_kit(&self.pool, write, now).await
    }

    #[tracing::instrument(skip_all)]
    async fn list_kit_records(
        &self,
        kind: KitKind,
        filter: &KitFilter,
        limit: i64,
    ) -> StoreResult<Vec<KitRecord>> {
        kit::list_kit_records(&self.pool, kind, filter, limit).await
    }

    #[tracing::instrument(skip_all)]
    async fn get_license_code(&self, code: &str) -> StoreResult<Option<LicenseCode>> {
        license_codes::get(&self.pool, code).await
    }

    #[tracing::instrument(skip_all)]
    async fn list_license_codes(
        &self,
        instance_id: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<LicenseCode>> {
        license_codes::list(&self.pool, instance_id, limit).await
    }

    #[tracing::instrument(skip_all)]
    async fn list_unreleased_instances(
        &self,
        after: &str,
        limit: i64,
    ) -> StoreResult<Vec<Instance>> {
        reconcile::list_unreleased_instances(&self.pool, after, limit).await
    }

    #[tracing::instrument(skip_all)]
    async fn save_findings(
        &self,
        instance_id: &str,
        findings: &[NewFinding],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        reconcile::save_findings(&self.pool, instance_id, findings, now).await
    }

    #[tracing::instrument(skip_all)]
    async fn heal_finding(
        &self,
        instance_id: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        reconcile::heal_finding(&self.pool, instance_id, kind, now).await
    }

    #[tracing::instrument(skip_all)]
    async fn resolve_unseen_findings(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        reconcile::resolve_unseen_findings(&self.pool, before, now).await
    }

    #[tracing::instrument(skip_all)]
    async fn list_findings(
        &self,
        include_resolved: bool,
        limit: i64,
    ) -> StoreResult<Vec<ReconcileFinding>> {
        reconcile::list_findings(&self.pool, include_resolved, limit).await
    }

    #[tracing::instrument(skip_all)]
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
