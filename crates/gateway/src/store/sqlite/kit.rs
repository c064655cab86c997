//! The 联营 Kit directory on SQLite: the [`KitSteps`] of the shared Kit logic and its listing.
//!
//! `apply_kit` runs in a `BEGIN IMMEDIATE` transaction like every other write, so concurrent
//! calls are applied one after the other and each sees what the one before committed.

use chrono::{DateTime, Utc};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::retry_busy;
use crate::store::kit::{self, KitSteps};
use crate::store::rows::{KitRow, convert_all, to_ms};
use crate::store::{KitFilter, KitKey, KitKind, KitRecord, KitWrite, StoreError, StoreResult};

impl KitSteps for Transaction<'_, Sqlite> {
    async fn upsert_kit(
        &mut self,
        key: &KitKey,
        data: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        // A conflicting row whose update `WHERE` is false counts as no change in
        // `rows_affected`, so the same statement that writes also tells whether it did.
        let written = sqlx::query(
            "INSERT INTO kit_records (kind, instance_id, tenant_id, app_id, item, data, deleted, \
             created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7) \
             ON CONFLICT (kind, instance_id, tenant_id, app_id, item) DO UPDATE SET \
             data = excluded.data, deleted = 0, updated_at_ms = excluded.updated_at_ms \
             WHERE kit_records.data <> excluded.data OR kit_records.deleted = 1",
        )
        .bind(key.kind.as_str())
        .bind(&key.instance_id)
        .bind(&key.tenant_id)
        .bind(&key.app_id)
        .bind(&key.item)
        .bind(data)
        .bind(to_ms(now))
        .execute(&mut **self)
        .await?
        .rows_affected();
        Ok(written == 1)
    }

    async fn delete_kit(&mut self, key: &KitKey, now: DateTime<Utc>) -> StoreResult<bool> {
        let deleted = sqlx::query(
            "UPDATE kit_records SET deleted = 1, updated_at_ms = $6 \
             WHERE kind = $1 AND instance_id = $2 AND tenant_id = $3 AND app_id = $4 \
             AND item = $5 AND deleted = 0",
        )
        .bind(key.kind.as_str())
        .bind(&key.instance_id)
        .bind(&key.tenant_id)
        .bind(&key.app_id)
        .bind(&key.item)
        .bind(to_ms(now))
        .execute(&mut **self)
        .await?
        .rows_affected();
        Ok(deleted == 1)
    }

    async fn delete_other_kit(
        &mut self,
        scope: &KitKey,
        keep: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        // One bound JSON array instead of a variable-length list keeps the SQL text fixed
        // however large the department tree; an empty array keeps nothing.
        let keep =
            serde_json::to_string(keep).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let done = sqlx::query(
            "UPDATE kit_records SET deleted = 1, updated_at_ms = $6 \
             WHERE kind = $1 AND instance_id = $2 AND tenant_id = $3 AND app_id = $4 \
             AND deleted = 0 AND item NOT IN (SELECT value FROM json_each($5))",
        )
        .bind(scope.kind.as_str())
        .bind(&scope.instance_id)
        .bind(&scope.tenant_id)
        .bind(&scope.app_id)
        .bind(keep)
        .bind(to_ms(now))
        .execute(&mut **self)
        .await?;
        Ok(done.rows_affected())
    }
}

pub(super) async fn apply_kit(
    pool: &SqlitePool,
    write: &KitWrite,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    retry_busy(|| async {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let changed = kit::apply(&mut tx, write, now).await?;
        tx.commit().await?;
        Ok(changed)
    })
    .await
}

pub(super) async fn list_kit_records(
    pool: &SqlitePool,
    kind: KitKind,
    filter: &KitFilter,
    limit: i64,
) -> StoreResult<Vec<KitRecord>> {
    let mut query = kit::list_query::<Sqlite>(kind, filter, limit);
    let rows: Vec<KitRow> = query.build_query_as().fetch_all(pool).await?;
    convert_all(rows)
}
