//! License codes (`license_codes`, migration 0007), written once for both backends: the SQL of
//! the [`CommitSteps::write_license_code`](super::commit::CommitSteps::write_license_code) step
//! and of the two reads, and the row shape. The statements are valid on SQLite and PostgreSQL
//! alike; each backend only binds and runs them.

use chrono::{DateTime, Utc};

use super::rows::from_ms;
use super::{LicenseCode, LicenseCodeStatus, StoreError, StoreResult};

/// The columns every read selects, in [`LicenseCodeRow`]'s order.
macro_rules! columns {
    () => {
        "SELECT code, instance_id, order_id, order_line_id, product_id, status, expire_time_ms, \
         activated_at_ms, last_checked_at_ms, last_answer, version, created_at_ms, updated_at_ms \
         FROM license_codes"
    };
}

/// `$1` is the code.
pub(super) const SELECT_ONE: &str = concat!(columns!(), " WHERE code = $1");
/// `$1` is the limit.
pub(super) const LIST_ALL: &str = concat!(columns!(), " ORDER BY code LIMIT $1");
/// `$1` is the limit, `$2` the instance.
pub(super) const LIST_BY_INSTANCE: &str =
    concat!(columns!(), " WHERE instance_id = $2 ORDER BY code LIMIT $1");

/// A refresh: `$1` code, `$2` instance, `$3` order, `$4` line, `$5` product, `$6` status of a new
/// row, `$7` expiry, `$8` now.
pub(super) const REFRESH: &str = "INSERT INTO license_codes (code, instance_id, order_id, \
     order_line_id, product_id, status, expire_time_ms, version, created_at_ms, updated_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8) ON CONFLICT (code) DO UPDATE SET \
     instance_id = COALESCE(excluded.instance_id, license_codes.instance_id), \
     order_id = excluded.order_id, order_line_id = excluded.order_line_id, \
     product_id = COALESCE(excluded.product_id, license_codes.product_id), \
     expire_time_ms = excluded.expire_time_ms, version = license_codes.version + 1, \
     updated_at_ms = excluded.updated_at_ms";

/// A status change: `$1` code, `$2` status, `$3` now. A released row keeps its status: release
/// is terminal whatever order concurrent calls commit in.
pub(super) const STATUS: &str = "INSERT INTO license_codes (code, status, version, \
     created_at_ms, updated_at_ms) VALUES ($1, $2, 1, $3, $3) ON CONFLICT (code) DO UPDATE SET \
     status = excluded.status, version = license_codes.version + 1, \
     updated_at_ms = excluded.updated_at_ms WHERE license_codes.status <> 'released'";

/// A release: `$1` code, `$2` order, `$3` line, `$4` the released status, `$5` now.
pub(super) const RELEASE: &str = "INSERT INTO license_codes (code, order_id, order_line_id, \
     status, version, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, 1, $5, $5) \
     ON CONFLICT (code) DO UPDATE SET status = excluded.status, \
     order_id = COALESCE(excluded.order_id, license_codes.order_id), \
     order_line_id = COALESCE(excluded.order_line_id, license_codes.order_line_id), \
     version = license_codes.version + 1, updated_at_ms = excluded.updated_at_ms";

/// Runs `$write` on `$conn` (a backend's open transaction) with the statements above. A macro
/// rather than a generic function: the two backends' bind bounds differ, the binds do not.
macro_rules! write_license_code {
    ($conn:expr, $write:expr, $now:expr) => {{
        use $crate::store::license_code as lc;
        use $crate::store::{LicenseCodeStatus, LicenseCodeWrite};
        let now = $crate::store::rows::to_ms($now);
        let query = match $write {
            LicenseCodeWrite::Refresh {
                code,
                instance_id,
                order_id,
                order_line_id,
                product_id,
                expire_time,
            } => sqlx::query(lc::REFRESH)
                .bind(code)
                .bind(instance_id)
                .bind(order_id)
                .bind(order_line_id)
                .bind(product_id)
                // A code first heard of in a renewal is in use.
                .bind(LicenseCodeStatus::Alive.as_str())
                .bind($crate::store::rows::to_ms(*expire_time))
                .bind(now),
            LicenseCodeWrite::Status { code, status } => sqlx::query(lc::STATUS)
                .bind(code)
                .bind(status.as_str())
                .bind(now),
            LicenseCodeWrite::Release {
                code,
                order_id,
                order_line_id,
            } => sqlx::query(lc::RELEASE)
                .bind(code)
                .bind(order_id)
                .bind(order_line_id)
                .bind(LicenseCodeStatus::Released.as_str())
                .bind(now),
        };
        query.execute($conn).await?;
        Ok(())
    }};
}
pub(super) use write_license_code;

/// The reads of the table over one pool type: the SQL is the same text on both backends, so
/// only the pool differs (as for `reconcile_queries`).
macro_rules! license_code_queries {
    ($pool:ty) => {
        use crate::store::license_code::{LIST_ALL, LIST_BY_INSTANCE, LicenseCodeRow, SELECT_ONE};
        use crate::store::rows::{convert_all, non_negative};
        use crate::store::{LicenseCode, StoreResult};

        pub(in crate::store) async fn get(
            pool: &$pool,
            code: &str,
        ) -> StoreResult<Option<LicenseCode>> {
            let row: Option<LicenseCodeRow> = sqlx::query_as(SELECT_ONE)
                .bind(code)
                .fetch_optional(pool)
                .await?;
            row.map(LicenseCode::try_from).transpose()
        }

        pub(in crate::store) async fn list(
            pool: &$pool,
            instance_id: Option<&str>,
            limit: i64,
        ) -> StoreResult<Vec<LicenseCode>> {
            let limit = non_negative(limit);
            let rows: Vec<LicenseCodeRow> = match instance_id {
                Some(instance) => {
                    sqlx::query_as(LIST_BY_INSTANCE)
                        .bind(limit)
                        .bind(instance)
                        .fetch_all(pool)
                        .await?
                }
                None => sqlx::query_as(LIST_ALL).bind(limit).fetch_all(pool).await?,
            };
            convert_all(rows)
        }
    };
}
pub(super) use license_code_queries;

#[derive(Debug, sqlx::FromRow)]
pub(super) struct LicenseCodeRow {
    code: String,
    instance_id: Option<String>,
    order_id: Option<String>,
    order_line_id: Option<String>,
    product_id: Option<String>,
    status: String,
    expire_time_ms: Option<i64>,
    activated_at_ms: Option<i64>,
    last_checked_at_ms: Option<i64>,
    last_answer: Option<String>,
    version: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
}

fn opt_ms(ms: Option<i64>, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    ms.map(|ms| from_ms(ms, column)).transpose()
}

impl TryFrom<LicenseCodeRow> for LicenseCode {
    type Error = StoreError;

    fn try_from(row: LicenseCodeRow) -> StoreResult<Self> {
        let status = LicenseCodeStatus::parse(&row.status)
            .ok_or_else(|| StoreError::Corrupt(format!("license code status `{}`", row.status)))?;
        Ok(Self {
            code: row.code,
            instance_id: row.instance_id,
            order_id: row.order_id,
            order_line_id: row.order_line_id,
            product_id: row.product_id,
            status,
            expire_time: opt_ms(row.expire_time_ms, "expire_time_ms")?,
            activated_at: opt_ms(row.activated_at_ms, "activated_at_ms")?,
            last_checked_at: opt_ms(row.last_checked_at_ms, "last_checked_at_ms")?,
            last_answer: row.last_answer,
            version: row.version,
            created_at: from_ms(row.created_at_ms, "created_at_ms")?,
            updated_at: from_ms(row.updated_at_ms, "updated_at_ms")?,
        })
    }
}
