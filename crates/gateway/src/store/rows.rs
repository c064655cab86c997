//! Row shapes shared by both backends and their conversion to the models.
//!
//! Both schemas use the same column names and store every time as epoch milliseconds, so one
//! `FromRow` struct per table decodes either backend. Conversion is fallible: a row that does not
//! make a valid model (unknown status text, out-of-range time) is [`StoreError::Corrupt`], never a
//! panic.

use chrono::{DateTime, Utc};
use koogate_protocol::messages::order::ChargingMode;

use super::{
    Instance, InstanceStatus, KitKey, KitKind, KitRecord, OrderRecord, OutboxEvent, StoreError,
    StoreResult, StoredResponse, UsageGroup, UsageTotal, UsageWindow, UsageWindowStatus,
};

/// Epoch milliseconds as stored. Sub-millisecond precision is dropped on the way in.
pub(super) fn to_ms(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

pub(super) fn from_ms(ms: i64, column: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("{column} = {ms} is not a valid time")))
}

fn from_opt_ms(ms: Option<i64>, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    ms.map(|ms| from_ms(ms, column)).transpose()
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct InstanceRow {
    instance_id: String,
    idem_key: String,
    order_id: String,
    order_line_id: String,
    product_id: Option<String>,
    sku_code: Option<String>,
    charging_mode: String,
    status: String,
    trial: bool,
    expire_time_ms: Option<i64>,
    app_info_sealed: Option<Vec<u8>>,
    test_flag: bool,
    version: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
    released_at_ms: Option<i64>,
}

impl TryFrom<InstanceRow> for Instance {
    type Error = StoreError;

    fn try_from(row: InstanceRow) -> StoreResult<Self> {
        let status = InstanceStatus::parse(&row.status).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "instance {}: unknown status {:?}",
                row.instance_id, row.status
            ))
        })?;
        Ok(Self {
            status,
            trial: row.trial,
            expire_time: from_opt_ms(row.expire_time_ms, "instances.expire_time_ms")?,
            app_info_sealed: row.app_info_sealed,
            test_flag: row.test_flag,
            version: row.version,
            created_at: from_ms(row.created_at_ms, "instances.created_at_ms")?,
            updated_at: from_ms(row.updated_at_ms, "instances.updated_at_ms")?,
            released_at: from_opt_ms(row.released_at_ms, "instances.released_at_ms")?,
            instance_id: row.instance_id,
            idem_key: row.idem_key,
            order_id: row.order_id,
            order_line_id: row.order_line_id,
            product_id: row.product_id,
            sku_code: row.sku_code,
            charging_mode: ChargingMode::parse(&row.charging_mode),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct OrderRow {
    order_id: String,
    order_line_id: String,
    order_type: String,
    raw: String,
    fetched_at_ms: i64,
}

impl TryFrom<OrderRow> for OrderRecord {
    type Error = StoreError;

    fn try_from(row: OrderRow) -> StoreResult<Self> {
        Ok(Self {
            fetched_at: from_ms(row.fetched_at_ms, "orders.fetched_at_ms")?,
            order_id: row.order_id,
            order_line_id: row.order_line_id,
            order_type: row.order_type,
            raw: row.raw,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct ResponseRow {
    key: String,
    body: Vec<u8>,
    created_at_ms: i64,
}

impl TryFrom<ResponseRow> for StoredResponse {
    type Error = StoreError;

    fn try_from(row: ResponseRow) -> StoreResult<Self> {
        Ok(Self {
            created_at: from_ms(row.created_at_ms, "responses.created_at_ms")?,
            key: row.key,
            body: row.body,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct EventRow {
    id: i64,
    event_id: String,
    event_type: String,
    ordering_key: String,
    payload: String,
    attempts: i32,
    created_at_ms: i64,
    next_attempt_at_ms: i64,
    delivered_at_ms: Option<i64>,
    dead: bool,
    last_error: Option<String>,
}

impl TryFrom<EventRow> for OutboxEvent {
    type Error = StoreError;

    fn try_from(row: EventRow) -> StoreResult<Self> {
        Ok(Self {
            created_at: from_ms(row.created_at_ms, "outbox.created_at_ms")?,
            next_attempt_at: from_ms(row.next_attempt_at_ms, "outbox.next_attempt_at_ms")?,
            delivered_at: from_opt_ms(row.delivered_at_ms, "outbox.delivered_at_ms")?,
            id: row.id,
            event_id: row.event_id,
            event_type: row.event_type,
            ordering_key: row.ordering_key,
            payload: row.payload,
            attempts: row.attempts,
            dead: row.dead,
            last_error: row.last_error,
        })
    }
}

/// `relate_pkg_instance` as stored: `''` stands for "no package", because the column is part of
/// a unique key and NULLs never compare equal there. `Some("")` is therefore stored as `None`.
pub(super) fn pkg_column(pkg: Option<&str>) -> &str {
    pkg.unwrap_or("")
}

fn pkg_from_column(pkg: String) -> Option<String> {
    (!pkg.is_empty()).then_some(pkg)
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct UsageWindowRow {
    id: i64,
    instance_id: String,
    window_start_ms: i64,
    window_end_ms: i64,
    relate_pkg_instance: String,
    value_e4: i64,
    metering_sn: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    result_code: Option<String>,
    next_attempt_at_ms: i64,
    closed_at_ms: i64,
    pushed_at_ms: Option<i64>,
    push_alone: bool,
}

impl TryFrom<UsageWindowRow> for UsageWindow {
    type Error = StoreError;

    fn try_from(row: UsageWindowRow) -> StoreResult<Self> {
        let status = UsageWindowStatus::parse(&row.status).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "usage window {}: unknown status {:?}",
                row.id, row.status
            ))
        })?;
        Ok(Self {
            status,
            window_start: from_ms(row.window_start_ms, "usage_windows.window_start_ms")?,
            window_end: from_ms(row.window_end_ms, "usage_windows.window_end_ms")?,
            next_attempt_at: from_ms(row.next_attempt_at_ms, "usage_windows.next_attempt_at_ms")?,
            closed_at: from_ms(row.closed_at_ms, "usage_windows.closed_at_ms")?,
            pushed_at: from_opt_ms(row.pushed_at_ms, "usage_windows.pushed_at_ms")?,
            relate_pkg_instance: pkg_from_column(row.relate_pkg_instance),
            id: row.id,
            instance_id: row.instance_id,
            value_e4: row.value_e4,
            metering_sn: row.metering_sn,
            attempts: row.attempts,
            last_error: row.last_error,
            result_code: row.result_code,
            push_alone: row.push_alone,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct UsageGroupRow {
    instance_id: String,
    window_start_ms: i64,
    window_end_ms: i64,
    relate_pkg_instance: String,
}

impl TryFrom<UsageGroupRow> for UsageGroup {
    type Error = StoreError;

    fn try_from(row: UsageGroupRow) -> StoreResult<Self> {
        Ok(Self {
            window_start: from_ms(row.window_start_ms, "usage_events.window_start_ms")?,
            window_end: from_ms(row.window_end_ms, "usage_events.window_end_ms")?,
            relate_pkg_instance: pkg_from_column(row.relate_pkg_instance),
            instance_id: row.instance_id,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct UsageTotalRow {
    instance_id: String,
    value_e4: i64,
    last_occurred_at_ms: i64,
}

impl TryFrom<UsageTotalRow> for UsageTotal {
    type Error = StoreError;

    fn try_from(row: UsageTotalRow) -> StoreResult<Self> {
        Ok(Self {
            last_occurred_at: from_ms(row.last_occurred_at_ms, "usage_events.occurred_at_ms")?,
            instance_id: row.instance_id,
            value_e4: row.value_e4,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct PackageUsageRow {
    package_id: String,
    related_instance_id: String,
    value_e4: i64,
}

impl From<PackageUsageRow> for super::PackageUsage {
    fn from(row: PackageUsageRow) -> Self {
        Self {
            package_id: row.package_id,
            related_instance_id: row.related_instance_id,
            value_e4: row.value_e4,
        }
    }
}

/// The stored fields of a usage event that decide whether a repeated `event_id` is the same
/// report.
#[derive(Debug, PartialEq, Eq, sqlx::FromRow)]
pub(super) struct UsageEventRow {
    pub(super) instance_id: String,
    pub(super) value_e4: i64,
    pub(super) occurred_at_ms: i64,
    pub(super) relate_pkg_instance: String,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct KitRow {
    kind: String,
    instance_id: String,
    tenant_id: String,
    app_id: String,
    item: String,
    data: String,
    deleted: bool,
    updated_at_ms: i64,
}

impl TryFrom<KitRow> for KitRecord {
    type Error = StoreError;

    fn try_from(row: KitRow) -> StoreResult<Self> {
        let kind = KitKind::parse(&row.kind).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "kit record of tenant {}: unknown kind {:?}",
                row.tenant_id, row.kind
            ))
        })?;
        Ok(Self {
            updated_at: from_ms(row.updated_at_ms, "kit_records.updated_at_ms")?,
            key: KitKey {
                kind,
                instance_id: row.instance_id,
                tenant_id: row.tenant_id,
                app_id: row.app_id,
                item: row.item,
            },
            data: row.data,
            deleted: row.deleted,
        })
    }
}

/// Converts a batch of rows, failing on the first corrupt one.
pub(super) fn convert_all<R, T>(rows: Vec<R>) -> StoreResult<Vec<T>>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}

/// Age in whole seconds of the oldest pending event, 0 when there is none (or clocks disagree).
pub(super) fn age_secs(oldest_created_ms: Option<i64>, now: DateTime<Utc>) -> i64 {
    oldest_created_ms.map_or(0, |created| {
        (to_ms(now).saturating_sub(created) / 1000).max(0)
    })
}

/// Negative limits and offsets mean "none" rather than SQLite's "unlimited" or a PostgreSQL error.
pub(super) fn non_negative(n: i64) -> i64 {
    n.max(0)
}

/// The response key was taken, yet its row is gone by the time it is read: it was deleted in
/// between (response pruning). Retrying the call decides afresh.
pub(super) fn vanished_response(key: &str) -> StoreError {
    StoreError::Conflict(format!("response {key} was removed while being replayed"))
}

/// A uniqueness violation becomes [`StoreError::Conflict`] naming `what`; anything else stays a
/// database error.
pub(super) fn unique_conflict(err: sqlx::Error, what: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(format!("{what}: {}", db.message()))
        }
        _ => StoreError::Database(err),
    }
}

/// Column list of [`InstanceRow`], for `concat!` into SQL text.
macro_rules! instance_columns {
    () => {
        "instance_id, idem_key, order_id, order_line_id, product_id, sku_code, charging_mode, status, \
         trial, expire_time_ms, app_info_sealed, test_flag, version, created_at_ms, updated_at_ms, released_at_ms"
    };
}
pub(super) use instance_columns;

/// Column list of [`EventRow`] except `attempts`, which claim reports as the pre-claim count.
macro_rules! event_columns {
    () => {
        "id, event_id, event_type, ordering_key, payload, created_at_ms, next_attempt_at_ms, \
         delivered_at_ms, dead, last_error"
    };
}
pub(super) use event_columns;

/// Column list of [`UsageWindowRow`], for `concat!` into SQL text.
macro_rules! usage_window_columns {
    () => {
        "id, instance_id, window_start_ms, window_end_ms, relate_pkg_instance, value_e4, metering_sn, \
         status, attempts, last_error, result_code, next_attempt_at_ms, closed_at_ms, pushed_at_ms, \
         push_alone"
    };
}
pub(super) use usage_window_columns;

/// Column list of [`KitRow`], for `concat!` into SQL text.
macro_rules! kit_columns {
    () => {
        "kind, instance_id, tenant_id, app_id, item, data, deleted, updated_at_ms"
    };
}
pub(super) use kit_columns;
