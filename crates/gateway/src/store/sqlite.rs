//! SQLite backend: one file, WAL journal, the default for a single `koogate serve`.
//!
//! Durability and locking choices:
//! - `journal_mode = WAL`: readers never block the writer and the writer never blocks readers.
//! - `synchronous = FULL`: every commit fsyncs the WAL, so an acknowledged commit survives power
//!   loss, not only a process crash (`NORMAL` would lose the last commits on power loss). We
//!   acknowledge KooGallery only after the commit, so this is what "nothing acknowledged is lost"
//!   requires; the cost is one fsync per write transaction.
//! - Write transactions start with `BEGIN IMMEDIATE`, taking the write lock up front. A deferred
//!   `BEGIN` that reads and then writes must upgrade its lock, and SQLite answers a contended
//!   upgrade with `SQLITE_BUSY` at once instead of waiting. Up front, the 5 s busy timeout makes
//!   concurrent writers queue instead. Should `SQLITE_BUSY` still surface (a writer held the lock
//!   longer than the timeout), the whole operation is retried a few times; every write here is a
//!   single transaction, so a retry never applies anything twice.
//! - Single-statement writes (claim, nonce, fail, ...) run in autocommit mode, where SQLite takes
//!   the write lock at the statement's start, so they wait on the busy timeout too.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::commit::{self, CommitSteps};
use super::rows::{
    EventRow, InstanceRow, OrderRow, ResponseRow, age_secs, convert_all, event_columns,
    instance_columns, non_negative, to_ms, unique_conflict,
};
use super::{
    Commit, CommitOutcome, Instance, NewEvent, OrderRecord, OutboxEvent, OutboxStats, Store,
    StoreError, StoreResult, StoredResponse,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::sqlx_macros::migrate!("migrations/sqlite");

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts of one operation when SQLite still reports `SQLITE_BUSY` after the busy timeout.
const BUSY_ATTEMPTS: u32 = 4;
const MAX_CONNECTIONS: u32 = 8;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path/to/file.db`,
    /// `sqlite:path`) and runs pending migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        // The pool opens its first connection before returning, so the switch to WAL (which
        // needs a lock the busy timeout cannot wait for) happens before there is any contention.
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    async fn commit_once(&self, commit: &Commit) -> StoreResult<CommitOutcome> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let outcome = commit::apply(&mut tx, commit).await?;
        if outcome == CommitOutcome::Committed {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(outcome)
    }
}

/// SQLite's primary result code for a lock it could not get (`SQLITE_BUSY`, `SQLITE_LOCKED`).
fn is_busy(err: &StoreError) -> bool {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    let StoreError::Database(sqlx::Error::Database(db)) = err else {
        return false;
    };
    let primary = db
        .code()
        .and_then(|code| code.parse::<i32>().ok())
        .map(|code| code & 0xff);
    matches!(primary, Some(SQLITE_BUSY | SQLITE_LOCKED))
}

/// Runs `op` again (after a short pause) while it fails with `SQLITE_BUSY`, up to
/// [`BUSY_ATTEMPTS`] times in all.
async fn retry_busy<T, F, Fut>(mut op: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Err(err) if is_busy(&err) && attempt < BUSY_ATTEMPTS => {
                tracing::warn!(attempt, error = %err, "sqlite busy; retrying");
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

impl CommitSteps for Transaction<'_, Sqlite> {
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
        let row: Option<ResponseRow> =
            sqlx::query_as("SELECT key, body, created_at_ms FROM responses WHERE key = $1")
                .bind(key)
                .fetch_optional(&mut **self)
                .await?;
        match row {
            Some(row) => Ok(Some(row.try_into()?)),
            None => Err(StoreError::Corrupt(format!(
                "response {key} neither inserted nor found"
            ))),
        }
    }

    async fn insert_instance(&mut self, i: &Instance) -> StoreResult<bool> {
        let inserted = sqlx::query(
            concat!(
                "INSERT INTO instances (",
                instance_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING"
            ),
        )
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

    async fn lock_ordering_keys(&mut self, _keys: &[&str]) -> StoreResult<()> {
        // BEGIN IMMEDIATE already serializes every writer, so ids follow commit order.
        Ok(())
    }

    async fn enqueue(&mut self, event: &NewEvent, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO outbox (event_id, event_type, ordering_key, payload, attempts, created_at_ms, \
             next_attempt_at_ms, dead) VALUES ($1, $2, $3, $4, 0, $5, $5, 0)",
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
const COMPLETE_EVENT: &str = "UPDATE outbox SET delivered_at_ms = $2, locked_until_ms = NULL, dead = 0 \
     WHERE id = $1 AND delivered_at_ms IS NULL";

/// One statement, so the pick and the lease are atomic under SQLite's single writer. `attempts`
/// counts claims, so a worker that crashes mid-delivery still uses up an attempt; the event
/// reports the count from before this claim.
const CLAIM_EVENT: &str = concat!(
    "UPDATE outbox SET locked_until_ms = $2, attempts = attempts + 1 WHERE id = ( \
         SELECT o.id FROM outbox o \
         WHERE o.delivered_at_ms IS NULL AND o.dead = 0 AND o.next_attempt_at_ms <= $1 \
           AND (o.locked_until_ms IS NULL OR o.locked_until_ms <= $1) \
           AND NOT EXISTS (SELECT 1 FROM outbox p \
               WHERE p.ordering_key = o.ordering_key AND p.id < o.id \
                 AND p.delivered_at_ms IS NULL AND p.dead = 0) \
         ORDER BY o.id LIMIT 1) \
     RETURNING attempts - 1 AS attempts, ",
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
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    #[tracing::instrument(skip_all)]
    async fn remember_nonce(&self, nonce: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        retry_busy(|| async {
            let inserted = sqlx::query(
                "INSERT INTO nonces (nonce, seen_at_ms) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING",
            )
            .bind(nonce)
            .bind(to_ms(now))
            .execute(&self.pool)
            .await?
            .rows_affected();
            Ok(inserted == 1)
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn prune_nonces(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        retry_busy(|| async {
            let done = sqlx::query("DELETE FROM nonces WHERE seen_at_ms < $1")
                .bind(to_ms(before))
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        })
        .await
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
        retry_busy(|| self.commit_once(&commit)).await
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
        // One bound JSON array instead of a variable-length IN list keeps the SQL text fixed.
        let ids = serde_json::to_string(ids).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let rows: Vec<InstanceRow> = sqlx::query_as(concat!(
            "SELECT ",
            instance_columns!(),
            " FROM instances WHERE instance_id IN (SELECT value FROM json_each($1))"
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
        let until_ms = now_ms.saturating_add(lease.num_milliseconds());
        retry_busy(|| async {
            let row: Option<EventRow> = sqlx::query_as(CLAIM_EVENT)
                .bind(now_ms)
                .bind(until_ms)
                .fetch_optional(&self.pool)
                .await?;
            row.map(OutboxEvent::try_from).transpose()
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn complete_event(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        retry_busy(|| async {
            sqlx::query(COMPLETE_EVENT)
                .bind(id)
                .bind(to_ms(now))
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn fail_event(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        let next_ms = next_attempt_at.map(to_ms);
        retry_busy(|| async {
            sqlx::query(
                "UPDATE outbox SET last_error = $2, locked_until_ms = NULL, \
                 next_attempt_at_ms = COALESCE($3, next_attempt_at_ms), dead = ($3 IS NULL) \
                 WHERE id = $1 AND delivered_at_ms IS NULL",
            )
            .bind(id)
            .bind(error)
            .bind(next_ms)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn redeliver_event(&self, id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        retry_busy(|| async {
            let revived = sqlx::query(
                "UPDATE outbox SET dead = 0, attempts = 0, next_attempt_at_ms = $2, locked_until_ms = NULL \
                 WHERE id = $1 AND dead = 1 AND delivered_at_ms IS NULL",
            )
            .bind(id)
            .bind(to_ms(now))
            .execute(&self.pool)
            .await?
            .rows_affected();
            Ok(revived == 1)
        })
        .await
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
            "SELECT COUNT(*), MIN(created_at_ms) FROM outbox WHERE delivered_at_ms IS NULL AND dead = 0",
        )
        .fetch_one(&self.pool)
        .await?;
        let (dead,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE dead = 1")
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
