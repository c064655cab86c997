//! Group commit for SQLite: one writer task applies the commits and nonces that callers queue,
//! many to a transaction, so concurrent calls share one WAL fsync instead of taking one each.
//!
//! Why it is safe:
//! - A caller's answer is sent only after the shared transaction's `COMMIT` returned, which with
//!   `synchronous = FULL` means the WAL was flushed: an acknowledged call is as durable as it was
//!   with a transaction of its own.
//! - Each commit runs inside its own `SAVEPOINT`. An outcome other than `Committed`, or an error,
//!   rolls back to the savepoint, so it leaves nothing behind, exactly as its own rolled-back
//!   transaction did; later commits in the batch see the earlier ones' effects, as they would
//!   have seen them committed one after the other.
//! - When `COMMIT` (or anything outside a savepoint) fails, every caller of the batch gets the
//!   error: none of them was acknowledged, and none of their writes survives.
//!
//! The writer waits for nothing but work: it takes what is queued when it becomes free, so a lone
//! request is committed at once and batches form only while a flush is in progress.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{Acquire, Connection, Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::super::commit;
use super::super::rows::to_ms;
use super::{BUSY_ATTEMPTS, Commit, CommitOutcome, StoreError, StoreResult, is_busy};

/// Most jobs in one transaction: bounds how long the write lock is held at a time.
const MAX_BATCH: usize = 128;
/// Jobs waiting for the writer; callers beyond it wait to queue.
const QUEUE: usize = 4_096;

/// What a caller asks the writer to do, with where to send the result.
#[derive(Debug)]
enum Job {
    Commit(Box<Commit>, oneshot::Sender<StoreResult<CommitOutcome>>),
    Nonce {
        nonce: String,
        now: DateTime<Utc>,
        reply: oneshot::Sender<StoreResult<bool>>,
    },
}

impl Job {
    fn fail(self, err: StoreError) {
        match self {
            Self::Commit(_, reply) => drop(reply.send(Err(err))),
            Self::Nonce { reply, .. } => drop(reply.send(Err(err))),
        }
    }
}

/// What the other callers of a failed batch are told: their own writes were fine, the shared
/// transaction was not.
fn shared_failure(err: &StoreError) -> StoreError {
    StoreError::GroupCommit(err.to_string())
}

/// The queue in front of the writer task. Cloning shares the one writer.
#[derive(Debug, Clone)]
pub(super) struct GroupWriter {
    jobs: mpsc::Sender<Job>,
}

impl GroupWriter {
    /// Starts the writer task on the current Tokio runtime; it ends when every handle is gone.
    pub(super) fn start(pool: SqlitePool) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, queue));
        Self { jobs }
    }

    pub(super) async fn commit(&self, commit: Commit) -> StoreResult<CommitOutcome> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Commit(Box::new(commit), reply)).await?;
        answer.await.map_err(|_| writer_gone())?
    }

    pub(super) async fn remember_nonce(
        &self,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Nonce {
            nonce: nonce.to_owned(),
            now,
            reply,
        };
        self.send(job).await?;
        answer.await.map_err(|_| writer_gone())?
    }

    async fn send(&self, job: Job) -> StoreResult<()> {
        self.jobs.send(job).await.map_err(|_| writer_gone())
    }
}

fn writer_gone() -> StoreError {
    StoreError::Database(sqlx::Error::WorkerCrashed)
}

async fn run(pool: SqlitePool, mut queue: mpsc::Receiver<Job>) {
    loop {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let size = queue.recv_many(&mut batch, MAX_BATCH).await;
        if size == 0 {
            return;
        }
        metrics::histogram!("koogate_sqlite_group_commit_size").record(size as f64);
        // In a task of its own, so that a panic fails this batch's callers (their reply
        // channels close) instead of ending the writer and every write after it.
        if let Err(err) = tokio::spawn(write_batch(pool.clone(), batch)).await {
            tracing::error!(error = %err, "a group commit panicked; its callers got an error");
        }
    }
}

/// Applies `jobs` in one transaction and answers each caller after the commit.
async fn write_batch(pool: SqlitePool, jobs: Vec<Job>) {
    let mut conn = match pool.acquire().await {
        Ok(conn) => conn,
        Err(err) => {
            let err = StoreError::from(err);
            tracing::error!(error = %err, size = jobs.len(), "no connection for a group commit");
            jobs.into_iter()
                .for_each(|job| job.fail(shared_failure(&err)));
            return;
        }
    };
    if !write_on(&mut conn, jobs).await {
        // A connection whose transaction ended in an error may still hold it open; a fresh one
        // replaces it rather than carry that into the next batch.
        conn.close_on_drop();
    }
}

/// The batch on one connection; `false` when the transaction failed and the connection should
/// not be reused.
async fn write_on(conn: &mut SqliteConnection, jobs: Vec<Job>) -> bool {
    let size = jobs.len();
    // Waits out the busy timeout for the write lock; what still finds it busy (another writer
    // held it longer) tries again a few times, like every other write.
    let mut attempt = 1;
    let mut tx = loop {
        let err = match conn.begin_with("BEGIN IMMEDIATE").await {
            Ok(tx) => break tx,
            Err(err) => StoreError::from(err),
        };
        if is_busy(&err) && attempt < BUSY_ATTEMPTS {
            tracing::warn!(attempt, error = %err, "sqlite busy; retrying");
            tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
            attempt += 1;
            continue;
        }
        tracing::error!(error = %err, size, "cannot start a group commit");
        jobs.into_iter()
            .for_each(|job| job.fail(shared_failure(&err)));
        return false;
    };
    let mut answers = Vec::with_capacity(size);
    for job in jobs {
        match apply_job(&mut tx, job).await {
            Ok(answer) => answers.push(answer),
            Err((job, err)) => {
                // The transaction is in an unknown state: nothing of this batch may stand.
                tracing::error!(error = %err, size, "group commit abandoned");
                let shared = shared_failure(&err);
                job.fail(err);
                drop(tx.rollback().await);
                answers.into_iter().for_each(|a: Answer| a.fail(&shared));
                return false;
            }
        }
    }
    match tx.commit().await {
        Ok(()) => {
            answers.into_iter().for_each(Answer::send);
            true
        }
        Err(err) => {
            let err = StoreError::from(err);
            tracing::error!(error = %err, size, "group commit failed");
            answers.into_iter().for_each(|a| a.fail(&err));
            false
        }
    }
}

/// A result computed inside the open transaction, held until it is durable.
enum Answer {
    Commit(
        StoreResult<CommitOutcome>,
        oneshot::Sender<StoreResult<CommitOutcome>>,
    ),
    Nonce(StoreResult<bool>, oneshot::Sender<StoreResult<bool>>),
}

impl Answer {
    fn send(self) {
        // A caller that stopped waiting (its request was cancelled) needs no answer.
        match self {
            Self::Commit(result, reply) => drop(reply.send(result)),
            Self::Nonce(result, reply) => drop(reply.send(result)),
        }
    }

    fn fail(self, err: &StoreError) {
        let err = shared_failure(err);
        match self {
            Self::Commit(_, reply) => drop(reply.send(Err(err))),
            Self::Nonce(_, reply) => drop(reply.send(Err(err))),
        }
    }
}

/// Runs one job inside the batch. `Err` when the batch itself can no longer be trusted: a
/// savepoint could not be opened or undone, or a nonce could not be written (an I/O error may
/// have rolled back the whole transaction). A commit's own failure, undone by its savepoint, is
/// just its answer.
async fn apply_job(
    tx: &mut Transaction<'_, Sqlite>,
    job: Job,
) -> Result<Answer, (Job, StoreError)> {
    match job {
        Job::Commit(commit, reply) => {
            let mut savepoint = match tx.begin().await {
                Ok(savepoint) => savepoint,
                Err(err) => return Err((Job::Commit(commit, reply), err.into())),
            };
            let result = commit::apply(&mut savepoint, &commit).await;
            let kept = matches!(result, Ok(CommitOutcome::Committed));
            let closed = if kept {
                savepoint.commit().await
            } else {
                savepoint.rollback().await
            };
            match closed {
                Ok(()) => Ok(Answer::Commit(result, reply)),
                Err(err) => Err((Job::Commit(commit, reply), err.into())),
            }
        }
        Job::Nonce { nonce, now, reply } => {
            let inserted = sqlx::query(
                "INSERT INTO nonces (nonce, seen_at_ms) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING",
            )
            .bind(&nonce)
            .bind(to_ms(now))
            .execute(&mut **tx)
            .await;
            match inserted {
                Ok(done) => Ok(Answer::Nonce(Ok(done.rows_affected() == 1), reply)),
                Err(err) => Err((Job::Nonce { nonce, now, reply }, err.into())),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::*;
    use crate::store::{NewEvent, SqliteStore, Store};

    /// A store on a fresh file, removed when the test ends.
    struct TempStore {
        store: SqliteStore,
        path: std::path::PathBuf,
    }

    impl TempStore {
        async fn new() -> Self {
            let path = std::env::temp_dir().join(format!(
                "koogate-group-commit-{}.db",
                uuid::Uuid::new_v4().simple()
            ));
            let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            Self { store, path }
        }
    }

    impl Drop for TempStore {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
            }
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap()
    }

    fn event(id: &str) -> NewEvent {
        NewEvent {
            event_id: id.into(),
            event_type: "instance.provision".into(),
            ordering_key: format!("key-{id}"),
            payload: "{}".into(),
        }
    }

    fn answered(key: &str, events: Vec<NewEvent>) -> Commit {
        Commit {
            response: Some((key.into(), format!("answer to {key}").into_bytes())),
            events,
            now: now(),
            ..Commit::default()
        }
    }

    fn commit_job(commit: Commit) -> (Job, oneshot::Receiver<StoreResult<CommitOutcome>>) {
        let (reply, answer) = oneshot::channel();
        (Job::Commit(Box::new(commit), reply), answer)
    }

    fn nonce_job(nonce: &str) -> (Job, oneshot::Receiver<StoreResult<bool>>) {
        let (reply, answer) = oneshot::channel();
        let job = Job::Nonce {
            nonce: nonce.into(),
            now: now(),
            reply,
        };
        (job, answer)
    }

    /// One batch, applied directly: a commit that errors (two events with one id) and a replay
    /// leave nothing of their own behind, and the other commits and nonces of the batch stand.
    #[tokio::test]
    async fn one_failed_commit_leaves_the_rest_of_its_batch_standing() {
        let temp = TempStore::new().await;
        let store = &temp.store;
        store.commit(answered("earlier", vec![])).await.unwrap();

        let (first, first_answer) = commit_job(answered("k1", vec![event("e1")]));
        let broken = answered("k2", vec![event("dup"), event("dup")]);
        let (broken, broken_answer) = commit_job(broken);
        let (replay, replay_answer) = commit_job(answered("earlier", vec![event("e-replay")]));
        let (last, last_answer) = commit_job(answered("k3", vec![event("e3")]));
        let (fresh, fresh_answer) = nonce_job("n1");
        let (again, again_answer) = nonce_job("n1");
        let batch = vec![first, broken, replay, fresh, last, again];
        assert!(write_on(&mut store.pool.acquire().await.unwrap(), batch).await);

        assert_eq!(
            first_answer.await.unwrap().unwrap(),
            CommitOutcome::Committed
        );
        assert!(broken_answer.await.unwrap().is_err());
        assert!(matches!(
            replay_answer.await.unwrap().unwrap(),
            CommitOutcome::Replayed(_)
        ));
        assert_eq!(
            last_answer.await.unwrap().unwrap(),
            CommitOutcome::Committed
        );
        assert!(fresh_answer.await.unwrap().unwrap());
        assert!(
            !again_answer.await.unwrap().unwrap(),
            "the same nonce in one batch"
        );

        // Exactly the events of the two good commits were stored, and the broken commit's key
        // is still free.
        assert_eq!(store.outbox_stats(now()).await.unwrap().depth, 2);
        assert_eq!(
            store.commit(answered("k2", vec![])).await.unwrap(),
            CommitOutcome::Committed
        );
        assert!(matches!(
            store.commit(answered("k1", vec![])).await.unwrap(),
            CommitOutcome::Replayed(_)
        ));
    }

    /// Many concurrent callers, most repeating each other: every key is committed exactly once,
    /// every repeat sees that commit's answer, every nonce is new exactly once, and all of it is
    /// there for a store opened afresh on the same file.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_each_get_their_own_durable_outcome() {
        let temp = TempStore::new().await;
        let store = Arc::new(temp.store.clone());
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..96 {
            let store = store.clone();
            calls.spawn(async move {
                let key = format!("key-{}", i % 16);
                let outcome = store
                    .commit(answered(&key, vec![event(&format!("ev-{key}"))]))
                    .await
                    .unwrap();
                let fresh = store
                    .remember_nonce(&format!("nonce-{}", i % 32), now())
                    .await
                    .unwrap();
                (key, outcome, fresh)
            });
        }
        let results = calls.join_all().await;
        let committed = results
            .iter()
            .filter(|(_, outcome, _)| *outcome == CommitOutcome::Committed)
            .count();
        assert_eq!(committed, 16);
        for (key, outcome, _) in &results {
            if let CommitOutcome::Replayed(earlier) = outcome {
                assert_eq!(earlier.body, format!("answer to {key}").into_bytes());
            }
        }
        assert_eq!(results.iter().filter(|(_, _, fresh)| *fresh).count(), 32);

        let reopened = SqliteStore::connect(&format!("sqlite://{}", temp.path.display()))
            .await
            .unwrap();
        assert_eq!(reopened.outbox_stats(now()).await.unwrap().depth, 16);
        for i in 0..16 {
            let key = format!("key-{i}");
            assert!(matches!(
                reopened.commit(answered(&key, vec![])).await.unwrap(),
                CommitOutcome::Replayed(_)
            ));
        }
        assert!(!reopened.remember_nonce("nonce-31", now()).await.unwrap());
    }
}
