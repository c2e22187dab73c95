//! The store conformance suite: the `Store` trait called directly, on both backends, in the
//! spirit of river's `riverdrivertest`. The worker and the API are built on these promises;
//! here each is stated once, below anything that could mask a backend's difference.
//!
//! Time only moves when a test moves it: store methods get explicit `now` values, mostly
//! `app.clock_now()` after an `app.clock.advance(..)`.

mod cancel;
mod claims;
mod events;
mod fencing;
mod leases;
mod rescue;
mod transfer;
mod unique;
mod webhooks;

use crate::helpers::TestApp;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use jobwatch::jobs::JobType;
use jobwatch::jobs::model::{Job, NewJob};
use jobwatch::storage::{Beat, ClaimKey};
use serde_json::json;
use uuid::Uuid;

/// The worker most tests claim as.
pub const WORKER: &str = "worker-a";

/// How long a claim or renewal holds a job in these tests.
pub fn lease() -> Duration {
    Duration::seconds(30)
}

/// A due-at-`run_at` processing job with `priority`, created now, three retries allowed.
pub fn new_job(app: &TestApp, priority: i32, run_at: DateTime<Utc>) -> NewJob {
    NewJob {
        job_type: JobType::Processing,
        created_by: None,
        related_dataset_id: None,
        metadata: json!({}),
        created_at: app.clock_now(),
        run_at,
        priority,
        max_retries: 3,
    }
}

pub async fn insert(app: &TestApp, job: NewJob) -> Job {
    app.store.insert_job(&job).await.unwrap()
}

/// A processing job due now, priority 0.
pub async fn insert_due(app: &TestApp) -> Job {
    insert(app, new_job(app, 0, app.clock_now())).await
}

pub async fn find(app: &TestApp, id: Uuid) -> Job {
    app.store.find_job(id).await.unwrap().expect("job exists")
}

/// Claim processing jobs from the top of the queue at the clock's now, leased for [`lease`].
pub async fn claim(app: &TestApp, worker: &str, limit: u32) -> Vec<Job> {
    let now = app.clock_now();
    app.store.claim_jobs(worker, &[JobType::Processing], limit, ClaimKey::start(), now, now + lease()).await.unwrap()
}

/// Claim exactly `job` (the only due one) as `worker`.
pub async fn claim_only(app: &TestApp, worker: &str, job: &Job) -> Job {
    let claimed = claim(app, worker, 10).await;
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![job.id], "claimed exactly the job");
    claimed.into_iter().next().unwrap()
}

/// A job due now, claimed by `worker`.
pub async fn running(app: &TestApp, worker: &str) -> Job {
    let job = insert_due(app).await;
    claim_only(app, worker, &job).await
}

/// Let `job`'s lease run out, rescue it and claim it again as `by`: the attempt the first
/// holder still believes in is now stale.
pub async fn rescue_and_reclaim(app: &TestApp, job: &Job, by: &str) -> Job {
    app.clock.advance(lease() + Duration::seconds(1));
    assert_eq!(rescue_at(app, app.clock_now(), 100).await, 1);
    let again = claim_only(app, by, job).await;
    assert_eq!(again.attempt, job.attempt + 1);
    again
}

// The store calls whose answers tests count or compare, in one place: what the answers
// carry besides (versions, changed ids) is not what this suite is about.

/// `complete_jobs`: how many of `jobs` were completed.
pub async fn complete(app: &TestApp, jobs: &[(Uuid, i32)], now: DateTime<Utc>) -> usize {
    app.store.complete_jobs(jobs, now).await.unwrap().count as usize
}

/// `release_jobs`: how many of `jobs` were given back.
pub async fn release(app: &TestApp, jobs: &[(Uuid, i32)], now: DateTime<Utc>) -> usize {
    app.store.release_jobs(jobs, now).await.unwrap().count as usize
}

/// `rescue_expired`: how many jobs were rescued.
pub async fn rescue_at(app: &TestApp, now: DateTime<Utc>, limit: u32) -> usize {
    app.store.rescue_expired(now, limit).await.unwrap().count as usize
}

/// `renew_leases` at the clock's now: the jobs `worker` still holds, as `(id, cancel
/// requested)` in id order.
pub async fn renew(app: &TestApp, worker: &str, beats: &[Beat], lease_until: DateTime<Utc>) -> Vec<(Uuid, bool)> {
    let held = app.store.renew_leases(worker, beats, app.clock_now(), lease_until).await.unwrap();
    let mut held: Vec<_> = held.iter().map(|h| (h.id, h.cancel_requested)).collect();
    held.sort();
    held
}

pub fn beat(job: &Job, progress: Option<i32>) -> Beat {
    Beat { id: job.id, attempt: job.attempt, progress, stage: None }
}

/// A timestamp as both backends compare it in plain SQL (SQLite keeps this exact text).
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Whether `worker` holds `job`'s lease until exactly `until` (neither is on `Job`).
pub async fn leased_to(app: &TestApp, job: Uuid, worker: &str, until: DateTime<Utc>) -> bool {
    let condition = format!("id = '{job}' and locked_by = '{worker}' and lease_expires_at = '{}'", ts(until));
    app.count_jobs(&condition).await == 1
}

/// Whether nobody holds `job`: no holder, no lease.
pub async fn unleased(app: &TestApp, job: Uuid) -> bool {
    app.count_jobs(&format!("id = '{job}' and locked_by is null and lease_expires_at is null")).await == 1
}
