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
//!   single transaction, so a retry never applies anything twice. The same single writer is what
//!   serialises usage reports with the closing of their window (`sqlite/usage.rs`).
//! - Group commit: `Store::commit` and `remember_nonce`, the writes of every production call, go
//!   through one writer task (`sqlite/writer.rs`) that applies whatever is queued in one
//!   transaction, each commit inside its own savepoint, and answers the callers after the one
//!   fsync of its `COMMIT`.
//! - Other single-statement writes (claim, fail, ...) run in autocommit mode, where SQLite takes
//!   the write lock at the statement's start, so they wait on the busy timeout too.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::rows::{
    EventRow, InstanceRow, OrderRow, ResponseRow, age_secs, convert_all, event_columns,
    instance_columns, non_negative, to_ms,
};
use super::{
    Commit, CommitOutcome, Instance, KitFilter, KitKind, KitRecord, KitWrite, LicenseCode,
    NewFinding, NewUsageEvent, OrderRecord, OutboxEvent, OutboxStats, PackageUsage,
    ReconcileFinding, RecordUsageOutcome, Store, StoreError, StoreResult, StoredResponse,
    UsageGroup, UsageSettlement, UsageTotal, UsageWindow,
};

mod kit;
mod license_codes;
mod reconcile;
mod steps;
mod usage;
mod writer;

use steps::COMPLETE_EVENT;

// `sqlx::migrate!` is only exported with sqlx's `macros` feature (compile-time checked queries),
// which we do not enable; the `derive` + `migrate` features provide the same proc macro here.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::sqlx_macros::migrate!("migrations/sqlite");

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts of one operation when SQLite still reports `SQLITE_BUSY` after the busy timeout.
const BUSY_ATTEMPTS: u32 = 4;
const MAX_CONNECTIONS: u32 = 8;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Commits and nonces go through one writer task, many to a transaction (group commit).
    writer: writer::GroupWriter,
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
        let file = options.get_filename();
        if !is_in_memory(file) {
            crate::private_files::private_database_file(file)
                .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        }
        // The pool opens its first connection before returning, so the switch to WAL (which
        // needs a lock the busy timeout cannot wait for) happens before there is any contention.
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            // A connection that cannot be had (every new one refused while the file cannot be
            // written) fails the call inside KooGallery's 5 s budget, as 000005, instead of
            // waiting out sqlx's default 30 s.
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _| Box::pin(refuse_read_only(conn)))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        let writer = writer::GroupWriter::start(pool.clone());
        Ok(Self { pool, writer })
    }
}

fn is_in_memory(file: &std::path::Path) -> bool {
    let name = file.to_string_lossy();
    name.is_empty() || name == ":memory:" || name.contains("mode=memory")
}

/// Refuses a connection that cannot write. When the database file cannot be opened for writing
/// (permissions, an immutable file, a read-only mount), SQLite silently opens it read-only; such
/// a connection would stay in the pool and fail every write long after the cause is gone. A
/// write that changes nothing (the header's `user_version` set to its own value) tells, once
/// per new connection; refused, the pool opens a fresh connection on the next acquire instead.
async fn refuse_read_only(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
    let (version,): (i64,) = sqlx::query_as("PRAGMA user_version")
        .fetch_one(&mut *conn)
        .await?;
    // A number read from the database itself; PRAGMA takes no bound parameters.
    let written = sqlx::query(sqlx::AssertSqlSafe(format!(
        "PRAGMA user_version = {version}"
    )))
    .execute(&mut *conn)
    .await;
    if let Err(err) = written {
        tracing::error!(error = %err, "a new SQLite connection cannot write; discarding it");
        return Err(err);
    }
    Ok(())
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

/// One statement, so the pick and the lease are atomic under SQLite's single writer. `attempts`
/// counts claims, so a worker that crashes mid-delivery still uses up an attempt; the event
/// reports the count from before this claim. Without `INDEXED BY` the planner prefers the full
/// `(ordering_key, id)` index for the blocking check and walks a key's whole delivered history on
/// every claim; the partial index holds pending rows only.
const CLAIM_EVENT: &str = concat!(
    "UPDATE outbox SET locked_until_ms = $2, attempts = attempts + 1 WHERE id = ( \
         SELECT o.id FROM outbox o \
         WHERE o.delivered_at_ms IS NULL AND o.dead = 0 AND o.next_attempt_at_ms <= $1 \
           AND (o.locked_until_ms IS NULL OR o.locked_until_ms <= $1) \
           AND NOT EXISTS (SELECT 1 FROM outbox p INDEXED BY outbox_pending_key \
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
    // Flushed like every other write (`synchronous = FULL`), but in the group commit's shared
    // transaction: concurrent calls' nonces and commits share one fsync. (A second connection
    // with `synchronous = NORMAL` made replays 1.85 times faster but fresh purchases 0.6 times as
    // fast: the extra writer competed for SQLite's one write lock through its sleeping busy
    // handler.)
    async fn remember_nonce(&self, nonce: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        self.writer.remember_nonce(nonce, now).await
    }

    #[tracing::instrument(skip_all)]
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> StoreResult<bool> {
        retry_busy(|| async {
            let won: Option<(String,)> = sqlx::query_as(super::lease::ACQUIRE_LEASE)
                .bind(name)
                .bind(holder)
                .bind(to_ms(now + ttl))
                .bind(to_ms(now))
                .fetch_optional(&self.pool)
                .await?;
            Ok(won.is_some())
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        retry_busy(|| async {
            sqlx::query(super::lease::RELEASE_LEASE)
                .bind(name)
                .bind(holder)
                .execute(&self.pool)
                .await?;
            Ok(())
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
        self.writer.commit(commit).await
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
        retry_busy(|| reconcile::save_findings(&self.pool, instance_id, findings, now)).await
    }

    #[tracing::instrument(skip_all)]
    async fn heal_finding(
        &self,
        instance_id: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        retry_busy(|| reconcile::heal_finding(&self.pool, instance_id, kind, now)).await
    }

    #[tracing::instrument(skip_all)]
    async fn resolve_unseen_findings(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        retry_busy(|| reconcile::resolve_unseen_findings(&self.pool, before, now)).await
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
