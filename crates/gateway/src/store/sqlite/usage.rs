//! Metering on SQLite: the [`UsageSteps`] of the shared usage logic and the ledger's reads.
//!
//! Serialisation needs no lock of its own: `record_usage` and `close_usage_window` run in
//! `BEGIN IMMEDIATE` transactions, which take SQLite's single write lock up front, so each sees
//! everything the other committed and nothing in between.

use chrono::{DateTime, Utc};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::retry_busy;
use crate::store::rows::{
    PackageUsageRow, UsageEventRow, UsageGroupRow, UsageTotalRow, UsageWindowRow, convert_all,
    non_negative, pkg_column, to_ms, unique_conflict, usage_window_columns,
};
use crate::store::usage::{self, UsageSteps, WindowKey};
use crate::store::{
    NewUsageEvent, PackageUsage, RecordUsageOutcome, StoreError, StoreResult, UsageGroup,
    UsageSettlement, UsageTotal, UsageWindow,
};

impl UsageSteps for Transaction<'_, Sqlite> {
    async fn lock_usage_of(&mut self, _instance_id: &str) -> StoreResult<()> {
        // BEGIN IMMEDIATE already holds the database's only write lock.
        Ok(())
    }

    async fn usage_event(&mut self, event_id: &str) -> StoreResult<Option<UsageEventRow>> {
        Ok(sqlx::query_as(
            "SELECT instance_id, value_e4, occurred_at_ms, relate_pkg_instance FROM usage_events \
             WHERE event_id = $1",
        )
        .bind(event_id)
        .fetch_optional(&mut **self)
        .await?)
    }

    async fn window_exists(&mut self, key: WindowKey<'_>) -> StoreResult<bool> {
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM usage_windows WHERE instance_id = $1 AND window_start_ms = $2 \
             AND window_end_ms = $3 AND relate_pkg_instance = $4",
        )
        .bind(key.instance_id)
        .bind(key.start_ms)
        .bind(key.end_ms)
        .bind(key.pkg)
        .fetch_optional(&mut **self)
        .await?;
        Ok(found.is_some())
    }

    async fn insert_usage_event(
        &mut self,
        e: &NewUsageEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO usage_events (event_id, instance_id, value_e4, occurred_at_ms, \
             window_start_ms, window_end_ms, relate_pkg_instance, received_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(&e.event_id)
        .bind(&e.instance_id)
        .bind(e.value_e4)
        .bind(to_ms(e.occurred_at))
        .bind(to_ms(e.window_start))
        .bind(to_ms(e.window_end))
        .bind(pkg_column(e.relate_pkg_instance.as_deref()))
        .bind(to_ms(now))
        .execute(&mut **self)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    async fn unassigned_usage(&mut self, key: WindowKey<'_>) -> StoreResult<(i64, i64)> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(value_e4), 0) FROM usage_events \
             WHERE instance_id = $1 AND window_start_ms = $2 AND window_end_ms = $3 \
             AND relate_pkg_instance = $4 AND window_id IS NULL",
        )
        .bind(key.instance_id)
        .bind(key.start_ms)
        .bind(key.end_ms)
        .bind(key.pkg)
        .fetch_one(&mut **self)
        .await?)
    }

    async fn insert_window(
        &mut self,
        key: WindowKey<'_>,
        metering_sn: &str,
        value_e4: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<UsageWindow> {
        let row: UsageWindowRow = sqlx::query_as(concat!(
            "INSERT INTO usage_windows (instance_id, window_start_ms, window_end_ms, \
             relate_pkg_instance, value_e4, metering_sn, status, attempts, next_attempt_at_ms, \
             closed_at_ms) VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7) RETURNING ",
            usage_window_columns!()
        ))
        .bind(key.instance_id)
        .bind(key.start_ms)
        .bind(key.end_ms)
        .bind(key.pkg)
        .bind(value_e4)
        .bind(metering_sn)
        .bind(to_ms(now))
        .fetch_one(&mut **self)
        .await
        .map_err(|err| unique_conflict(err, "usage window already closed"))?;
        row.try_into()
    }

    async fn assign_usage(&mut self, key: WindowKey<'_>, window_id: i64) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE usage_events SET window_id = $5 WHERE instance_id = $1 AND window_start_ms = $2 \
             AND window_end_ms = $3 AND relate_pkg_instance = $4 AND window_id IS NULL",
        )
        .bind(key.instance_id)
        .bind(key.start_ms)
        .bind(key.end_ms)
        .bind(key.pkg)
        .bind(window_id)
        .execute(&mut **self)
        .await?;
        Ok(done.rows_affected())
    }
}

/// Only windows still pending change: a late or repeated outcome cannot undo a final one.
async fn settle_one(
    tx: &mut Transaction<'_, Sqlite>,
    settlement: &UsageSettlement,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let query = match settlement {
        UsageSettlement::Pushed { id, result_code } => sqlx::query(
            "UPDATE usage_windows SET status = 'pushed', pushed_at_ms = $2, result_code = $3, \
             attempts = attempts + 1 WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(to_ms(now))
        .bind(result_code),
        UsageSettlement::Rejected {
            id,
            result_code,
            message,
        } => sqlx::query(
            "UPDATE usage_windows SET status = 'rejected', result_code = $2, last_error = $3, \
             attempts = attempts + 1 WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(result_code)
        .bind(message),
        UsageSettlement::Retry {
            id,
            error,
            next_attempt_at,
            push_alone,
        } => sqlx::query(
            "UPDATE usage_windows SET last_error = $2, next_attempt_at_ms = $3, \
             push_alone = (push_alone OR $4), attempts = attempts + 1 \
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(error)
        .bind(to_ms(*next_attempt_at))
        .bind(push_alone),
    };
    query.execute(&mut **tx).await?;
    Ok(())
}

pub(super) async fn record_usage(
    pool: &SqlitePool,
    event: &NewUsageEvent,
    now: DateTime<Utc>,
) -> StoreResult<RecordUsageOutcome> {
    retry_busy(|| async {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let outcome = usage::record(&mut tx, event, now).await?;
        tx.commit().await?;
        Ok(outcome)
    })
    .await
}

pub(super) async fn close_usage_window(
    pool: &SqlitePool,
    group: &UsageGroup,
    metering_sn: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<UsageWindow>> {
    retry_busy(|| async {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let window = usage::close(&mut tx, group, metering_sn, now).await?;
        tx.commit().await?;
        Ok(window)
    })
    .await
}

pub(super) async fn settle_usage_windows(
    pool: &SqlitePool,
    settlements: &[UsageSettlement],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    retry_busy(|| async {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        for settlement in settlements {
            settle_one(&mut tx, settlement, now).await?;
        }
        tx.commit().await?;
        Ok(())
    })
    .await
}

pub(super) async fn open_usage_groups(
    pool: &SqlitePool,
    ended_by: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<UsageGroup>> {
    let rows: Vec<UsageGroupRow> = sqlx::query_as(
        "SELECT instance_id, window_start_ms, window_end_ms, relate_pkg_instance FROM usage_events \
         WHERE window_id IS NULL AND window_end_ms <= $1 \
         GROUP BY instance_id, window_start_ms, window_end_ms, relate_pkg_instance \
         ORDER BY window_start_ms, window_end_ms, instance_id, relate_pkg_instance LIMIT $2",
    )
    .bind(to_ms(ended_by))
    .bind(non_negative(limit))
    .fetch_all(pool)
    .await?;
    convert_all(rows)
}

pub(super) async fn due_usage_windows(
    pool: &SqlitePool,
    now: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<UsageWindow>> {
    let rows: Vec<UsageWindowRow> = sqlx::query_as(concat!(
        "SELECT ",
        usage_window_columns!(),
        " FROM usage_windows WHERE status = 'pending' AND next_attempt_at_ms <= $1 \
         ORDER BY window_start_ms, id LIMIT $2"
    ))
    .bind(to_ms(now))
    .bind(non_negative(limit))
    .fetch_all(pool)
    .await?;
    convert_all(rows)
}

pub(super) async fn usage_totals(
    pool: &SqlitePool,
    instance_ids: &[String],
) -> StoreResult<Vec<UsageTotal>> {
    if instance_ids.is_empty() {
        return Ok(Vec::new());
    }
    // One bound JSON array instead of a variable-length IN list keeps the SQL text fixed.
    let ids =
        serde_json::to_string(instance_ids).map_err(|err| StoreError::Corrupt(err.to_string()))?;
    let rows: Vec<UsageTotalRow> = sqlx::query_as(
        "SELECT instance_id, SUM(value_e4) AS value_e4, MAX(occurred_at_ms) AS last_occurred_at_ms \
         FROM usage_events WHERE instance_id IN (SELECT value FROM json_each($1)) \
         GROUP BY instance_id",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    convert_all(rows)
}

pub(super) async fn package_usage_totals(
    pool: &SqlitePool,
    package_ids: &[String],
) -> StoreResult<Vec<PackageUsage>> {
    if package_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids =
        serde_json::to_string(package_ids).map_err(|err| StoreError::Corrupt(err.to_string()))?;
    let rows: Vec<PackageUsageRow> = sqlx::query_as(
        "SELECT relate_pkg_instance AS package_id, instance_id AS related_instance_id, \
         SUM(value_e4) AS value_e4 FROM usage_events \
         WHERE relate_pkg_instance IN (SELECT value FROM json_each($1)) \
         GROUP BY relate_pkg_instance, instance_id ORDER BY relate_pkg_instance, instance_id",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(PackageUsage::from).collect())
}

pub(super) async fn list_usage_windows(
    pool: &SqlitePool,
    instance_id: &str,
    limit: i64,
) -> StoreResult<Vec<UsageWindow>> {
    let rows: Vec<UsageWindowRow> = sqlx::query_as(concat!(
        "SELECT ",
        usage_window_columns!(),
        " FROM usage_windows WHERE instance_id = $1 ORDER BY window_start_ms DESC, id DESC LIMIT $2"
    ))
    .bind(instance_id)
    .bind(non_negative(limit))
    .fetch_all(pool)
    .await?;
    convert_all(rows)
}
