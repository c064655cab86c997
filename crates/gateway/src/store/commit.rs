//! The order of operations inside [`super::Store::commit`], written once for both backends.
//!
//! Each backend implements [`CommitSteps`] over its open transaction (plain SQL, no decisions);
//! [`apply`] decides what the outcome is. The backend commits the transaction only on
//! [`CommitOutcome::Committed`] and rolls back otherwise, so "nothing applied" holds for every
//! other outcome and for every error.

use chrono::{DateTime, Utc};

use super::{
    Commit, CommitOutcome, Instance, InstanceWrite, LicenseCodeWrite, NewEvent, OrderRecord,
    StoreError, StoreResult, StoredResponse,
};

/// The SQL a backend runs inside one open write transaction.
pub(super) trait CommitSteps {
    /// Stores `body` under `key` unless the key exists; returns the earlier response if it does.
    async fn claim_response(
        &mut self,
        key: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<StoredResponse>>;
    /// Inserts unless `instance_id` or `idem_key` is taken; `false` when nothing was inserted.
    async fn insert_instance(&mut self, instance: &Instance) -> StoreResult<bool>;
    async fn instance_by_key(&mut self, idem_key: &str) -> StoreResult<Option<Instance>>;
    /// Replaces the mutable columns when the version matches; `false` when it did not.
    async fn update_instance(
        &mut self,
        instance: &Instance,
        expected_version: i64,
    ) -> StoreResult<bool>;
    async fn upsert_order(&mut self, order: &OrderRecord) -> StoreResult<()>;
    /// Applies a license-code change to its row (inserting the row when the code is new).
    async fn write_license_code(
        &mut self,
        write: &LicenseCodeWrite,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Called once, before the events are inserted, with the distinct keys in sorted order.
    async fn lock_ordering_keys(&mut self, keys: &[&str]) -> StoreResult<()>;
    async fn enqueue(&mut self, event: &NewEvent, now: DateTime<Utc>) -> StoreResult<()>;
    async fn complete_event(&mut self, id: i64, now: DateTime<Utc>) -> StoreResult<()>;
    /// Stores `body` under `key`, replacing an earlier body.
    async fn replace_response(
        &mut self,
        key: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// Runs the steps of `commit` in the documented order and reports the outcome. Any outcome
/// other than `Committed` means the caller must roll back.
pub(super) async fn apply<S: CommitSteps>(
    steps: &mut S,
    commit: &Commit,
) -> StoreResult<CommitOutcome> {
    if let Some((key, body)) = &commit.response
        && let Some(earlier) = steps.claim_response(key, body, commit.now).await?
    {
        return Ok(CommitOutcome::Replayed(earlier));
    }
    if let Some(write) = &commit.instance
        && let Some(outcome) = write_instance(steps, write).await?
    {
        return Ok(outcome);
    }
    if let Some(order) = &commit.order {
        steps.upsert_order(order).await?;
    }
    if let Some(write) = &commit.license_code {
        steps.write_license_code(write, commit.now).await?;
    }
    enqueue_all(steps, &commit.events, commit.now).await?;
    if let Some(id) = commit.complete_event {
        steps.complete_event(id, commit.now).await?;
    }
    for (key, body) in &commit.replace_responses {
        steps.replace_response(key, body, commit.now).await?;
    }
    Ok(CommitOutcome::Committed)
}

/// `Some(outcome)` when the write could not be applied.
async fn write_instance<S: CommitSteps>(
    steps: &mut S,
    write: &InstanceWrite,
) -> StoreResult<Option<CommitOutcome>> {
    match write {
        InstanceWrite::Insert(instance) => {
            if steps.insert_instance(instance).await? {
                return Ok(None);
            }
            match steps.instance_by_key(&instance.idem_key).await? {
                Some(existing) => Ok(Some(CommitOutcome::InstanceExists(existing))),
                // The idem_key is free, so the clash was on instance_id: a caller bug (ids are
                // generated), not a repeat of an earlier purchase.
                None => Err(StoreError::Conflict(format!(
                    "instance id {} is taken by another purchase",
                    instance.instance_id
                ))),
            }
        }
        InstanceWrite::Update {
            instance,
            expected_version,
        } => {
            let applied = steps.update_instance(instance, *expected_version).await?;
            Ok((!applied).then_some(CommitOutcome::StaleInstance))
        }
    }
}

async fn enqueue_all<S: CommitSteps>(
    steps: &mut S,
    events: &[NewEvent],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut keys: Vec<&str> = events.iter().map(|e| e.ordering_key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    steps.lock_ordering_keys(&keys).await?;
    for event in events {
        steps.enqueue(event, now).await?;
    }
    Ok(())
}
