//! The 联营 Kit directory on PostgreSQL: the [`KitSteps`] of the shared Kit logic and its
//! listing.
//!
//! Whether a step changed something is decided on the newest committed row version, so two
//! concurrent identical calls cannot both report a change even without the ordering-key lock
//! `kit::apply` takes first: an `INSERT ... ON CONFLICT` that meets a row another transaction is
//! inserting waits for it and then evaluates its `DO UPDATE ... WHERE` on the committed row,
//! and an `UPDATE` that meets a locked row re-checks its `WHERE` on the new version (READ
//! COMMITTED).

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use crate::store::kit::{self, KitSteps};
use crate::store::rows::{KitRow, convert_all, to_ms};
use crate::store::{KitFilter, KitKey, KitKind, KitRecord, KitWrite, StoreResult};

impl KitSteps for Transaction<'_, Postgres> {
    async fn upsert_kit(
        &mut self,
        key: &KitKey,
        data: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        // A conflicting row whose update `WHERE` is false is locked but not updated and does
        // not count in `rows_affected`.
        let written = sqlx::query(
            "INSERT INTO kit_records (kind, instance_id, tenant_id, app_id, item, data, deleted, \
             created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7, $7) \
             ON CONFLICT (kind, instance_id, tenant_id, app_id, item) DO UPDATE SET \
             data = excluded.data, deleted = FALSE, updated_at_ms = excluded.updated_at_ms \
             WHERE kit_records.data <> excluded.data OR kit_records.deleted",
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
            "UPDATE kit_records SET deleted = TRUE, updated_at_ms = $6 \
             WHERE kind = $1 AND instance_id = $2 AND tenant_id = $3 AND app_id = $4 \
             AND item = $5 AND NOT deleted",
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
        // One bound array keeps the SQL text fixed however large the department tree;
        // `<> ALL` of an empty array is true, so an empty `keep` keeps nothing.
        let done = sqlx::query(
            "UPDATE kit_records SET deleted = TRUE, updated_at_ms = $6 \
             WHERE kind = $1 AND instance_id = $2 AND tenant_id = $3 AND app_id = $4 \
             AND NOT deleted AND item <> ALL($5)",
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
    pool: &PgPool,
    write: &KitWrite,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut tx = pool.begin().await?;
    let changed = kit::apply(&mut tx, write, now).await?;
    tx.commit().await?;
    Ok(changed)
}

pub(super) async fn list_kit_records(
    pool: &PgPool,
    kind: KitKind,
    filter: &KitFilter,
    limit: i64,
) -> StoreResult<Vec<KitRecord>> {
    let mut query = kit::list_query::<Postgres>(kind, filter, limit);
    let rows: Vec<KitRow> = query.build_query_as().fetch_all(pool).await?;
    convert_all(rows)
}
