//! The 联营 Kit directory, written once for both backends (as `commit.rs` is for
//! [`super::Store::commit`]): the order of operations of [`super::Store::apply_kit`] and the
//! listing query.
//!
//! Each backend implements [`KitSteps`] over its open write transaction (plain SQL, no
//! decisions) and reuses its [`CommitSteps`] for the outbox, so a Kit event is enqueued exactly
//! as a commit's events are. Every step reports whether it wrote a row, and "changed" is decided
//! by the database in the same statement that writes: there is no read-then-write window in
//! which two concurrent identical calls could both see a difference.
//!
//! [`apply`] takes the ordering-key lock of the event *before* touching any record, not just
//! before enqueuing. On PostgreSQL that serialises the Kit writes of one key (the domain keys
//! them by tenant, and every record a call touches belongs to that tenant), so two calls that
//! touch the same records in different orders (an `authSync` listing users b, a after one
//! listing a, b; an `allOrgSync` next to a `singleOrgSync`) queue instead of deadlocking. It
//! also keeps the event order of one key the order in which the records changed. On SQLite the
//! lock is a no-op: `BEGIN IMMEDIATE` already serialises every writer.

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::commit::CommitSteps;
use super::rows::{kit_columns, non_negative};
use super::{KitChange, KitFilter, KitKey, KitKind, KitWrite, StoreResult};

/// The SQL a backend runs inside one open write transaction. Each step returns whether it
/// wrote anything.
pub(super) trait KitSteps {
    /// Inserts the record live, or replaces its data and revives it when the stored data
    /// differs or it is deleted; `false` when the live record already holds `data`.
    async fn upsert_kit(
        &mut self,
        key: &KitKey,
        data: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Marks the record deleted; `false` when it is missing or already deleted.
    async fn delete_kit(&mut self, key: &KitKey, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Marks deleted every live record of `scope`'s kind, instance, tenant and app whose item
    /// is not in `keep`; returns how many.
    async fn delete_other_kit(
        &mut self,
        scope: &KitKey,
        keep: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
}

/// See [`super::Store::apply_kit`]. The caller commits whatever the result: when nothing
/// changed, nothing was written.
pub(super) async fn apply<S: KitSteps + CommitSteps>(
    steps: &mut S,
    write: &KitWrite,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    steps
        .lock_ordering_keys(&[write.event.ordering_key.as_str()])
        .await?;
    let mut changed = false;
    for change in &write.changes {
        // Every change runs, even after one has changed something: each is part of the call.
        changed |= apply_change(steps, change, now).await?;
    }
    if changed {
        steps.enqueue(&write.event, now).await?;
    }
    Ok(changed)
}

async fn apply_change<S: KitSteps>(
    steps: &mut S,
    change: &KitChange,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    match change {
        KitChange::Upsert { key, data } => steps.upsert_kit(key, data, now).await,
        KitChange::Delete { key } => steps.delete_kit(key, now).await,
        KitChange::DeleteOthers { scope, keep } => {
            Ok(steps.delete_other_kit(scope, keep, now).await? > 0)
        }
    }
}

/// The query of [`super::Store::list_kit_records`], valid SQL on both backends (`NOT deleted`
/// reads SQLite's 0/1 as well as PostgreSQL's boolean).
///
/// Only the parts of the filter that are set become conditions, rather than one fixed text with
/// `($n IS NULL OR col = $n)`: PostgreSQL may plan a prepared statement once for every value,
/// and such a plan cannot use the key index for a condition that might be switched off. There
/// are at most sixteen texts, so the prepared-statement cache still holds them all.
pub(super) fn list_query<DB>(kind: KitKind, filter: &KitFilter, limit: i64) -> QueryBuilder<DB>
where
    DB: Database,
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    let mut query = QueryBuilder::new(concat!(
        "SELECT ",
        kit_columns!(),
        " FROM kit_records WHERE kind = "
    ));
    query.push_bind(kind.as_str().to_owned());
    let parts = [
        ("instance_id", &filter.instance_id),
        ("tenant_id", &filter.tenant_id),
        ("app_id", &filter.app_id),
    ];
    for (column, value) in parts {
        if let Some(value) = value {
            query.push(format_args!(" AND {column} = "));
            query.push_bind(value.clone());
        }
    }
    if !filter.include_deleted {
        query.push(" AND NOT deleted");
    }
    query.push(" ORDER BY instance_id, tenant_id, app_id, item LIMIT ");
    query.push_bind(non_negative(limit));
    query
}
