//! The queue operations: the jobs table is the queue. Claiming, leases, rescue, cancel
//! requests, pruning and the signals that wake workers.

use super::StoreResult;
use crate::jobs::events::Changed;
use crate::jobs::model::{Job, JobType, NewJob};
use crate::jobs::state::Actor;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A running job a worker still holds, with the progress and stage to record if they changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beat {
    pub id: Uuid,
    pub attempt: i32,
    pub progress: Option<i32>,
    pub stage: Option<String>,
}

/// What a many-job write did: how many jobs it changed, and which of them have an owner, with
/// their new versions. Jobs without an owner are in nobody's view, so they are counted, not
/// listed: a batch of 1,000 of them costs no rows to send back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    pub count: u64,
    pub owned: Vec<Changed>,
}

/// A position in claim order (`priority` descending, then `run_at`, then `id`): a worker
/// resumes claiming after the last job it took instead of rescanning from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimKey {
    pub priority: i32,
    pub run_at: DateTime<Utc>,
    pub id: Uuid,
}

impl ClaimKey {
    pub fn of(job: &Job) -> Self {
        ClaimKey { priority: job.priority, run_at: job.run_at, id: job.id }
    }

    /// Before every job: the top priority, the earliest representable time, the nil id.
    pub fn start() -> Self {
        ClaimKey {
            priority: i32::MAX,
            run_at: DateTime::from_timestamp(-62_135_596_800, 0).expect("0001-01-01 is representable"),
            id: Uuid::nil(),
        }
    }
}

/// A job a worker still holds after renewing its lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub id: Uuid,
    pub cancel_requested: bool,
    /// The job's version now: moved only if the beat's progress or stage changed it.
    pub version: i64,
}

/// What wakes a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// New or re-queued jobs may be due.
    NewJobs,
    /// A running job was asked to stop.
    CancelRequested(Uuid),
}

/// A subscription to [`Signal`]s; survives lost connections (it says `NewJobs` after one,
/// so the worker polls instead of missing work).
#[async_trait]
pub trait Listener: Send {
    async fn next(&mut self) -> Signal;
}

/// Why a job came back from a lost worker.
pub const LEASE_EXPIRED: &str = "the worker running this job stopped answering (lease expired)";

#[async_trait]
pub trait Queue: Send + Sync {
    /// Insert many jobs in one statement per chunk; workers are signalled once.
    async fn insert_jobs(&self, jobs: &[NewJob]) -> StoreResult<Written>;

    /// Claim up to `limit` due pending jobs of `types` for `worker`, in claim order after
    /// `after`: they become `running` (keeping their progress: retries and rescues reset it,
    /// a job handed on keeps what it showed), their attempt goes up by one and they hold a lease
    /// until `lease_until`. Concurrent claimers never get the same job. Returned in claim
    /// order.
    async fn claim_jobs(
        &self,
        worker: &str,
        types: &[JobType],
        limit: u32,
        after: ClaimKey,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Vec<Job>>;

    /// Mark many running jobs completed (progress 100), each fenced on its attempt: the
    /// worker's hot path, one statement for a batch of `(id, attempt)`.
    async fn complete_jobs(&self, done: &[(Uuid, i32)], now: DateTime<Utc>) -> StoreResult<Written>;
    /// Give many running jobs back, each fenced on its attempt: due again at `now`, not
    /// counted as a failure — or `cancelled` at `now` if a cancel was requested meanwhile.
    async fn release_jobs(&self, jobs: &[(Uuid, i32)], now: DateTime<Utc>) -> StoreResult<Written>;

    /// Pass a running job from holder `from` to holder `to` in the same attempt, with a fresh
    /// lease, progress raised to at least `progress` and `metadata`'s keys set: an upload
    /// handing its job to a worker on the same node. `None` when `from` no longer holds it,
    /// or its cancel was requested.
    #[allow(clippy::too_many_arguments)]
    async fn transfer_job(
        &self,
        id: Uuid,
        attempt: i32,
        from: &str,
        to: &str,
        lease_until: DateTime<Utc>,
        progress: i32,
        metadata: &serde_json::Value,
    ) -> StoreResult<Option<Job>>;

    /// Extend the leases `worker` still holds (each fenced on its attempt) until `lease_until`,
    /// note the sign of life at `now`, and record progress and stage. A beat missing from the
    /// answer is a job the worker lost (rescued elsewhere, cancelled by hand): it must stop
    /// working on it.
    async fn renew_leases(
        &self,
        worker: &str,
        beats: &[Beat],
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Vec<Held>>;

    /// Running jobs whose lease expired before `now`: back to `pending` with one more retry
    /// counted, or `failed` once their retries are spent.
    async fn rescue_expired(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Written>;

    /// Ask a job to stop. A pending job, or a running one no worker holds, is cancelled at
    /// once; a running job under a lease gets `cancel_requested_at` and its worker is told.
    /// `None` when the job is in neither state (or gone).
    /// The audit trail records it (`cancelled` or `stopping`), with `by` when a person asked.
    async fn request_cancel(&self, id: Uuid, now: DateTime<Utc>, by: Option<Actor>) -> StoreResult<Option<Job>>;

    /// Delete up to `limit` jobs that finished before `before`; returns which.
    async fn prune_finished(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<Vec<(Uuid, JobType)>>;

    /// Wake the workers (e.g. after a retry by hand).
    async fn signal_new_jobs(&self) -> StoreResult<()>;

    async fn listen(&self) -> StoreResult<Box<dyn Listener>>;
}
