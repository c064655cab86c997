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

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, Transaction};

use super::commit::{self, CommitSteps};
use super::rows::{
    EventRow, InstanceRow, OrderRow, ResponseRow, age_secs, convert_all, event_columns,
    instance_columns, non_negative, to_ms, unique_conflict,
};
use super::{
    Commit, CommitOutcome, Instance, NewEvent, OrderRecord, OutboxEvent, OutboxStats, Store,
    StoreResult, StoredResponse,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::sqlx_macros::migrate!("migrations/postgres");

const MAX_CONNECTIONS: u32 = 10;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// First key of the two-key advisory locks on ordering keys ("kg"). The two-key lock space is
/// separate from single-`bigint` advisory locks, which the schedulers use.
const ORDERING_LOCK_CLASS: i32 = 0x6b67;

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
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
        Ok(Self { pool })
    }
}

impl CommitSteps for Transaction<'_, Postgres> {
    async fn claim_response(
        &mut self,
        key: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<StoredResponse>> {
        let inserted = sqlx::query(
            "INSERT INTO responses (key, body, created_at_ms) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(body)
        .bind(to_ms(now))
        .execute(&mut **self)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(None);
        }
        // READ COMMITTED: this statement sees the row the conflicting transaction committed.
        let row: ResponseRow =
            sqlx::query_as("SELECT key, body, created_at_ms FROM responses WHERE key = $1")
                .bind(key)
                .fetch_one(&mut **self)
                .await?;
        Ok(Some(row.try_into()?))
    }

    async fn insert_instance(&mut self, i: &Instance) -> StoreResult<bool> {
        let inserted = sqlx::query(concat!(
            "INSERT INTO instances (",
            instance_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING"
        ))
        .bind(&i.instance_id)
        .bind(&i.idem_key)
        .bind(&i.order_id)
        .bind(&i.order_line_id)
        .bind(&i.product_id)
        .bind(&i.sku_code)
        .bind(&i.charging_mode)
        .bind(i.status.as_str())
        .bind(i.trial)
        .bind(i.expire_time.map(to_ms))
        .bind(&i.app_info_sealed)
        .bind(i.test_flag)
        .bind(i.version)
        .bind(to_ms(i.created_at))
        .bind(to_ms(i.updated_at))
        .execute(&mut **self)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    async fn instance_by_key(&mut self, idem_key: &str) -> StoreResult<Option<Instance>> {
        let row: Option<InstanceRow> = sqlx::query_as(concat!(
            "SELECT ",
            instance_columns!(),
            " FROM instances WHERE idem_key = $1"
        ))
        .bind(idem_key)
        .fetch_optional(&mut **self)
        .await?;
        row.map(Instance::try_from).transpose()
    }

    async fn update_instance(&mut self, i: &Instance, expected_version: i64) -> StoreResult<bool> {
        let updated = sqlx::query(
            "UPDATE instances SET order_id = $3, order_line_id = $4, product_id = $5, sku_code = $6, \
             charging_mode = $7, status = $8, trial = $9, expire_time_ms = $10, app_info_sealed = $11, \
             test_flag = $12, updated_at_ms = $13, version = version + 1 \
             WHERE instance_id = $1 AND version = $2",
        )
        .bind(&i.instance_id)
        .bind(expected_version)
        .bind(&i.order_id)
        .bind(&i.order_line_id)
        .bind(&i.product_id)
        .bind(&i.sku_code)
        .bind(&i.charging_mode)
        .bind(i.status.as_str())
        .bind(i.trial)
        .bind(i.expire_time.map(to_ms))
        .bind(&i.app_info_sealed)
        .bind(i.test_flag)
        .bind(to_ms(i.updated_at))
        .execute(&mut **self)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    async fn upsert_order(&mut self, order: &OrderRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO orders (order_id, order_line_id, order_type, raw, fetched_at_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id, order_line_id) DO UPDATE SET \
             order_type = excluded.order_type, raw = excluded.raw, fetched_at_ms = excluded.fetched_at_ms",
        )
        .bind(&order.order_id)
        .bind(&order.order_line_id)
        .bind(&order.order_type)
        .bind(&order.raw)
        .bind(to_ms(order.fetched_at))
        .execute(&mut **self)
        .await?;
        Ok(())
    }

    async fn lock_ordering_keys(&mut self, keys: &[&str]) -> StoreResult<()> {
        // `keys` arrive sorted, so two transactions lock shared keys in the same order and
        // cannot deadlock on them. A hash collision only serializes two unrelated keys.
        for key in keys {
            sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                .bind(ORDERING_LOCK_CLASS)
                .bind(*key)
                .execute(&mut **self)
                .await?;
        }
        Ok(())
    }

    async fn enqueue(&mut self, event: &NewEvent, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO outbox (event_id, event_type, ordering_key, payload, attempts, created_at_ms, \
             next_attempt_at_ms, dead) VALUES ($1, $2, $3, $4, 0, $5, $5, FALSE)",
        )
        .bind(&event.event_id)
        .bind(&event.event_type)
        .bind(&event.ordering_key)
        .bind(&event.payload)
        .bind(to_ms(now))
        .execute(&mut **self)
        .await
        .map_err(|err| unique_conflict(err, "event id already enqueued"))?;
        Ok(())
    }

    async fn complete_event(&mut self, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(COMPLETE_EVENT)
            .bind(id)
            .bind(to_ms(now))
            .execute(&mut **self)
            .await?;
        Ok(())
    }
}

/// Delivered wins over everything: a late success after the lease expired or after the event
/// was parked still counts. Completing twice keeps the first delivery time.
const COMPLETE_EVENT: &str = "UPDATE outbox SET delivered_at_ms = $2, locked_until_ms = NULL, dead = FALSE \
     WHERE id = $1 AND delivered_at_ms IS NULL";

/// `SKIP LOCKED` passes over rows another replica is claiming at this moment; under READ
/// COMMITTED a row locked after a wait is re-checked against the lease conditions, so a lease
/// taken meanwhile is seen. The ordering check does not depend on locks: an earlier pending
/// event of the key blocks whether or not it is leased. `attempts` counts claims (see
/// `Store::claim_event`); the event reports the count from before this claim.
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
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
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
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
