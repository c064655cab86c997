//! Reconciliation findings, SQL written once for both backends: the statements are the same in
//! both dialects, only the pool type differs (see `sqlite/reconcile.rs`, `postgres/reconcile.rs`).

use super::rows::{from_ms, instance_columns};
use super::{ReconcileFinding, StoreResult};

/// Instances not released yet, after an instance id (keyset paging: the walk needs no offset,
/// and instances created or released meanwhile do not shift the pages).
pub(super) const UNRELEASED_AFTER: &str = concat!(
    "SELECT ",
    instance_columns!(),
    " FROM instances WHERE status <> 'released' AND instance_id > $1 ORDER BY instance_id LIMIT $2"
);

/// Inserts a finding, or reopens a resolved one; affects no row when it is already open. One
/// statement, so two replicas seeing the same finding open it once.
pub(super) const OPEN_FINDING: &str = "INSERT INTO reconcile_findings \
     (instance_id, kind, detail, first_seen_ms, last_seen_ms) VALUES ($1, $2, $3, $4, $4) \
     ON CONFLICT (instance_id, kind) DO UPDATE SET detail = excluded.detail, \
     first_seen_ms = excluded.first_seen_ms, last_seen_ms = excluded.last_seen_ms, \
     healed_at_ms = NULL, resolved_at_ms = NULL \
     WHERE reconcile_findings.resolved_at_ms IS NOT NULL";

/// Refreshes an open finding seen again.
pub(super) const SEEN_AGAIN: &str = "UPDATE reconcile_findings SET detail = $3, last_seen_ms = $4 \
     WHERE instance_id = $1 AND kind = $2 AND resolved_at_ms IS NULL";

pub(super) const HEALED: &str = "UPDATE reconcile_findings SET healed_at_ms = $3, resolved_at_ms = $3 \
     WHERE instance_id = $1 AND kind = $2 AND resolved_at_ms IS NULL";

pub(super) const RESOLVE_UNSEEN: &str = "UPDATE reconcile_findings SET resolved_at_ms = $2 \
     WHERE resolved_at_ms IS NULL AND last_seen_ms < $1";

/// Newest first; `$1` = include resolved ones, `$2` = limit.
pub(super) const LIST_FINDINGS: &str = "SELECT instance_id, kind, detail, first_seen_ms, \
     last_seen_ms, healed_at_ms, resolved_at_ms FROM reconcile_findings \
     WHERE $1 OR resolved_at_ms IS NULL ORDER BY first_seen_ms DESC, instance_id, kind LIMIT $2";

#[derive(Debug, sqlx::FromRow)]
pub(super) struct FindingRow {
    instance_id: String,
    kind: String,
    detail: String,
    first_seen_ms: i64,
    last_seen_ms: i64,
    healed_at_ms: Option<i64>,
    resolved_at_ms: Option<i64>,
}

impl TryFrom<FindingRow> for ReconcileFinding {
    type Error = super::StoreError;

    fn try_from(row: FindingRow) -> StoreResult<Self> {
        let optional = |ms: Option<i64>, column: &str| ms.map(|ms| from_ms(ms, column)).transpose();
        Ok(Self {
            instance_id: row.instance_id,
            kind: row.kind,
            detail: row.detail,
            first_seen_at: from_ms(row.first_seen_ms, "first_seen_ms")?,
            last_seen_at: from_ms(row.last_seen_ms, "last_seen_ms")?,
            healed_at: optional(row.healed_at_ms, "healed_at_ms")?,
            resolved_at: optional(row.resolved_at_ms, "resolved_at_ms")?,
        })
    }
}

/// The backend functions over the shared statements above, for one pool type: the SQL is the
/// same text on both backends, so only the pool differs.
macro_rules! reconcile_queries {
    ($pool:ty) => {
        use chrono::{DateTime, Utc};

        use crate::store::reconcile::{
            FindingRow, HEALED, LIST_FINDINGS, OPEN_FINDING, RESOLVE_UNSEEN, SEEN_AGAIN,
            UNRELEASED_AFTER,
        };
        use crate::store::rows::{InstanceRow, convert_all, non_negative, to_ms};
        use crate::store::{Instance, NewFinding, ReconcileFinding, StoreResult};

        pub(in crate::store) async fn list_unreleased_instances(
            pool: &$pool,
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

        pub(in crate::store) async fn save_findings(
            pool: &$pool,
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

        pub(in crate::store) async fn heal_finding(
            pool: &$pool,
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

        pub(in crate::store) async fn resolve_unseen_findings(
            pool: &$pool,
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

        pub(in crate::store) async fn list_findings(
            pool: &$pool,
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
    };
}
pub(crate) use reconcile_queries;
