//! The order of operations of the metering writes, written once for both backends (as
//! `commit.rs` is for [`super::Store::commit`]).
//!
//! Each backend implements [`UsageSteps`] over its open write transaction (plain SQL, no
//! decisions); [`record`] and [`close`] decide. Both start by taking the instance's usage lock,
//! which is what keeps a report from slipping in between the moment a window's sum is taken and
//! the moment the window is stored: once [`close`] has run, [`record`] sees the window and
//! refuses, and until then [`close`] sees every report [`record`] committed.

use chrono::{DateTime, Utc};

use super::rows::{UsageEventRow, pkg_column, to_ms};
use super::{NewUsageEvent, RecordUsageOutcome, StoreError, StoreResult, UsageGroup, UsageWindow};

/// A window's identity as stored: what `usage_windows` is unique on and what the events of one
/// group share.
#[derive(Debug, Clone, Copy)]
pub(super) struct WindowKey<'a> {
    pub(super) instance_id: &'a str,
    pub(super) start_ms: i64,
    pub(super) end_ms: i64,
    /// `''` for "no package" (see [`pkg_column`]).
    pub(super) pkg: &'a str,
}

impl<'a> WindowKey<'a> {
    fn of_event(event: &'a NewUsageEvent) -> Self {
        Self {
            instance_id: &event.instance_id,
            start_ms: to_ms(event.window_start),
            end_ms: to_ms(event.window_end),
            pkg: pkg_column(event.relate_pkg_instance.as_deref()),
        }
    }

    fn of_group(group: &'a UsageGroup) -> Self {
        Self {
            instance_id: &group.instance_id,
            start_ms: to_ms(group.window_start),
            end_ms: to_ms(group.window_end),
            pkg: pkg_column(group.relate_pkg_instance.as_deref()),
        }
    }
}

/// The SQL a backend runs inside one open write transaction.
pub(super) trait UsageSteps {
    /// Serialises this transaction with every other usage write of `instance_id` until it ends.
    async fn lock_usage_of(&mut self, instance_id: &str) -> StoreResult<()>;
    async fn usage_event(&mut self, event_id: &str) -> StoreResult<Option<UsageEventRow>>;
    async fn window_exists(&mut self, key: WindowKey<'_>) -> StoreResult<bool>;
    /// Inserts unless `event_id` is taken; `false` when nothing was inserted.
    async fn insert_usage_event(
        &mut self,
        event: &NewUsageEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// How many events of `key` no window holds yet, and the sum of their values.
    async fn unassigned_usage(&mut self, key: WindowKey<'_>) -> StoreResult<(i64, i64)>;
    /// Inserts a pending window due at `now`; a taken key or `metering_sn` is a
    /// [`StoreError::Conflict`].
    async fn insert_window(
        &mut self,
        key: WindowKey<'_>,
        metering_sn: &str,
        value_e4: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<UsageWindow>;
    /// Points the unassigned events of `key` at `window_id`; returns how many.
    async fn assign_usage(&mut self, key: WindowKey<'_>, window_id: i64) -> StoreResult<u64>;
}

/// See [`super::Store::record_usage`]. Writes only when the outcome is `Recorded`.
pub(super) async fn record<S: UsageSteps>(
    steps: &mut S,
    event: &NewUsageEvent,
    now: DateTime<Utc>,
) -> StoreResult<RecordUsageOutcome> {
    steps.lock_usage_of(&event.instance_id).await?;
    // Known ids are answered before the window is looked at: a retry of a report that was
    // counted must hear "duplicate", not "window closed", which would tell the vendor its usage
    // was lost.
    if let Some(earlier) = steps.usage_event(&event.event_id).await? {
        return Ok(duplicate(&earlier, event));
    }
    // Past its closing time a window takes nothing, even before a pass has closed it (or when
    // it never had a report to close): KooGallery would refuse usage pushed that late.
    if now >= event.closes_at || steps.window_exists(WindowKey::of_event(event)).await? {
        return Ok(RecordUsageOutcome::WindowClosed);
    }
    if steps.insert_usage_event(event, now).await? {
        return Ok(RecordUsageOutcome::Recorded);
    }
    // The id was taken after the lookup by a report of another instance (another lock).
    match steps.usage_event(&event.event_id).await? {
        Some(earlier) => Ok(duplicate(&earlier, event)),
        None => Err(StoreError::Conflict(format!(
            "usage event {} conflicted with a report that is gone",
            event.event_id
        ))),
    }
}

fn duplicate(earlier: &UsageEventRow, event: &NewUsageEvent) -> RecordUsageOutcome {
    let same = earlier.instance_id == event.instance_id
        && earlier.value_e4 == event.value_e4
        && earlier.occurred_at_ms == to_ms(event.occurred_at)
        && earlier.relate_pkg_instance == pkg_column(event.relate_pkg_instance.as_deref());
    RecordUsageOutcome::Duplicate { same }
}

/// See [`super::Store::close_usage_window`]. Writes only when it returns a window.
///
/// A window already stored for the group while some of its events are unassigned would mean a
/// report got in after the close, which the lock rules out. Should it happen anyway, the insert
/// fails with [`StoreError::Conflict`] and nothing changes: adding the stragglers to a total that
/// may already be billed, or silently dropping them, would both make the ledger lie.
pub(super) async fn close<S: UsageSteps>(
    steps: &mut S,
    group: &UsageGroup,
    metering_sn: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<UsageWindow>> {
    steps.lock_usage_of(&group.instance_id).await?;
    let key = WindowKey::of_group(group);
    let (count, sum) = steps.unassigned_usage(key).await?;
    if count == 0 {
        return Ok(None);
    }
    let window = steps.insert_window(key, metering_sn, sum, now).await?;
    let assigned = steps.assign_usage(key, window.id).await?;
    // Same lock, same transaction: the events summed are the events assigned. A mismatch means
    // the serialisation is broken, and a total that disagrees with its events must not be pushed.
    if u64::try_from(count).ok() != Some(assigned) {
        return Err(StoreError::Conflict(format!(
            "usage window of {} at {}: summed {count} events but assigned {assigned}",
            group.instance_id, group.window_start
        )));
    }
    Ok(Some(window))
}
