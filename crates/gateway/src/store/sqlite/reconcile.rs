//! Reconciliation findings on Sqlite: the shared statements of `store/reconcile.rs`.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::store::reconcile::{
    FindingRow, HEALED, LIST_FINDINGS, OPEN_FINDING, RESOLVE_UNSEEN, SEEN_AGAIN, UNRELEASED_AFTER,
};
use crate::store::rows::{InstanceRow, convert_all, non_negative, to_ms};
use crate::store::{Instance, NewFinding, ReconcileFinding, StoreResult};

pub(super) async fn list_unreleased_instances(
    pool: &SqlitePool,
    after: &str,
    limit: i64,
) -> StoreResult<Vec<Instance>> {
    let rows: Vec<InstanceRow> = sqlx::query_as(UNRELEASED_AFTER)
        .bind(after)
        .bind(non_negative(limit))
        .fetch_all(pool)
        .await?;
    convert_all(rows)
}

pub(super) async fn save_findings(
    pool: &SqlitePool,
    instance_id: &str,
    findings: &[NewFinding],
    now: DateTime<Utc>,
) -> StoreResult<Vec<String>> {
    let mut opened = Vec::new();
    for finding in findings {
        let bind = |sql| {
            sqlx::query(sql)
                .bind(instance_id)
                .bind(&finding.kind)
                .bind(&finding.detail)
                .bind(to_ms(now))
        };
        if bind(OPEN_FINDING).execute(pool).await?.rows_affected() == 1 {
            opened.push(finding.kind.clone());
        } else {
            bind(SEEN_AGAIN).execute(pool).await?;
        }
    }
    Ok(opened)
}

pub(super) async fn heal_finding(
    pool: &SqlitePool,
    instance_id: &str,
    kind: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(HEALED)
        .bind(instance_id)
        .bind(kind)
        .bind(to_ms(now))
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn resolve_unseen_findings(
    pool: &SqlitePool,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let done = sqlx::query(RESOLVE_UNSEEN)
        .bind(to_ms(before))
        .bind(to_ms(now))
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn list_findings(
    pool: &SqlitePool,
    include_resolved: bool,
    limit: i64,
) -> StoreResult<Vec<ReconcileFinding>> {
    let rows: Vec<FindingRow> = sqlx::query_as(LIST_FINDINGS)
        .bind(include_resolved)
        .bind(non_negative(limit))
        .fetch_all(pool)
        .await?;
    convert_all(rows)
}
