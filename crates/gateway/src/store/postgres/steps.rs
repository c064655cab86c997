//! The SQL steps of [`Store::commit`](crate::store::Store::commit) on PostgreSQL, run inside a
//! READ COMMITTED transaction opened by the parent module.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};

use crate::store::commit::CommitSteps;
use crate::store::rows::{
    InstanceRow, ResponseRow, instance_columns, to_ms, unique_conflict, vanished_response,
};
use crate::store::{
    Instance, LicenseCodeWrite, NewEvent, OrderRecord, StoreResult, StoredResponse,
};

/// First key of the two-key advisory locks on ordering keys ("kg"). The two-key lock space is
/// separate from single-`bigint` advisory locks, which the schedulers use.
pub(super) const ORDERING_LOCK_CLASS: i32 = 0x6b67;

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
        let row: Option<ResponseRow> =
            sqlx::query_as("SELECT key, body, created_at_ms FROM responses WHERE key = $1")
                .bind(key)
                .fetch_optional(&mut **self)
                .await?;
        match row {
            Some(row) => Ok(Some(row.try_into()?)),
            None => Err(vanished_response(key)),
        }
    }

    async fn insert_instance(&mut self, i: &Instance) -> StoreResult<bool> {
        let inserted = sqlx::query(concat!(
            "INSERT INTO instances (",
            instance_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT DO NOTHING"
        ))
        .bind(&i.instance_id)
        .bind(&i.idem_key)
        .bind(&i.order_id)
        .bind(&i.order_line_id)
        .bind(&i.product_id)
        .bind(&i.sku_code)
        .bind(i.charging_mode.as_str())
        .bind(i.status.as_str())
        .bind(i.trial)
        .bind(i.expire_time.map(to_ms))
        .bind(&i.app_info_sealed)
        .bind(i.test_flag)
        .bind(i.version)
        .bind(to_ms(i.created_at))
        .bind(to_ms(i.updated_at))
        .bind(i.released_at.map(to_ms))
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
             test_flag = $12, updated_at_ms = $13, version = version + 1, \
             released_at_ms = COALESCE(released_at_ms, $14) \
             WHERE instance_id = $1 AND version = $2",
        )
        .bind(&i.instance_id)
        .bind(expected_version)
        .bind(&i.order_id)
        .bind(&i.order_line_id)
        .bind(&i.product_id)
        .bind(&i.sku_code)
        .bind(i.charging_mode.as_str())
        .bind(i.status.as_str())
        .bind(i.trial)
        .bind(i.expire_time.map(to_ms))
        .bind(&i.app_info_sealed)
        .bind(i.test_flag)
        .bind(to_ms(i.updated_at))
        .bind(i.released_at.map(to_ms))
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

    async fn write_license_code(
        &mut self,
        write: &LicenseCodeWrite,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        crate::store::license_code::write_license_code!(&mut **self, write, now)
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

    async fn replace_response(
        &mut self,
        key: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO responses (key, body, created_at_ms) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET body = excluded.body",
        )
        .bind(key)
        .bind(body)
        .bind(to_ms(now))
        .execute(&mut **self)
        .await?;
        Ok(())
    }
}

/// Delivered wins over everything: a late success after the lease expired or after the event
/// was parked still counts. Completing twice keeps the first delivery time.
pub(super) const COMPLETE_EVENT: &str = "UPDATE outbox SET delivered_at_ms = $2, locked_until_ms = NULL, dead = FALSE \
     WHERE id = $1 AND delivered_at_ms IS NULL";
