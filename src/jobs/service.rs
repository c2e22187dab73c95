//! The spec's job operations (create, start, progress, complete, fail, cancel, and the
//! active list), with who-may-see-what enforced in one place.

use super::JobStatus;
use super::events::Owners;
use super::finished;
use super::history::{HistoryError, HistoryFilter, MAX_PAGE, Owner, Position, QueueDepth};
use super::model::{Job, JobType, NewJob, ViewedAt};
use super::state::{Action, Actor, JobChange};
use super::stats::{self, AdminStats};
use super::timeline::{TimelineEntry, timeline};
use crate::clock::Clock;
use crate::storage::{Beat, Held, Store, StoreError};
use crate::users::User;
use crate::worker::Handlers;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

/// How long a running job may show no sign of life before it is shown as stalled
/// (`JOBWATCH_STALLED_AFTER`).
pub const DEFAULT_STALLED_AFTER: Duration = Duration::seconds(20);

/// How long a finished job stays in the active list, so the user sees how it ended.
pub const FINISHED_VISIBLE_FOR: Duration = Duration::minutes(5);

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Also what another user's job looks like: existence is never revealed.
    #[error("job not found")]
    NotFound,
    #[error("cannot {action} a job that is {status}")]
    Conflict { action: &'static str, status: JobStatus },
    /// Also what another user's dataset looks like (404, as everywhere).
    #[error("dataset not found")]
    UnknownDataset,
    #[error("{0}")]
    InvalidField(String),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("only admins may see other users' jobs")]
    Forbidden,
    /// The job's handler says it cannot run again (an import whose file is gone).
    #[error("{0}")]
    CannotRetry(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a caller asks for when creating a job.
#[derive(Debug, Clone)]
pub struct CreateJob {
    pub job_type: JobType,
    pub related_dataset_id: Option<Uuid>,
    pub metadata: Option<Value>,
    /// Not before this time (default: now).
    pub run_at: Option<DateTime<Utc>>,
    /// Higher runs first (default 0).
    pub priority: Option<i32>,
    /// Retries after a retryable failure (default 3).
    pub max_retries: Option<i32>,
}

impl CreateJob {
    /// A job of this type with every option at its default.
    pub fn new(job_type: JobType) -> Self {
        Self { job_type, related_dataset_id: None, metadata: None, run_at: None, priority: None, max_retries: None }
    }
}

/// The options a job (or a schedule's jobs) may carry, checked and defaulted: a type anyone may
/// submit, metadata an object (default `{}`), priority and max_retries within their ranges.
pub fn job_options(
    job_type: JobType,
    metadata: Option<Value>,
    priority: Option<i32>,
    max_retries: Option<i32>,
) -> Result<(Value, i32, i32), String> {
    job_type.submittable()?;
    let metadata = match metadata {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(object @ Value::Object(_)) => object,
        Some(_) => return Err("metadata must be a JSON object".into()),
    };
    let priority = priority.unwrap_or(0);
    if !PRIORITY_RANGE.contains(&priority) {
        return Err(format!("priority must be within {PRIORITY_RANGE:?}"));
    }
    let max_retries = max_retries.unwrap_or(DEFAULT_MAX_RETRIES);
    if !MAX_RETRIES_RANGE.contains(&max_retries) {
        return Err(format!("max_retries must be within {MAX_RETRIES_RANGE:?}"));
    }
    Ok((metadata, priority, max_retries))
}

/// What a bulk action does to each job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BulkAction {
    Retry,
    Cancel,
}

/// Most ids one bulk action takes.
pub const MAX_BULK_IDS: usize = 1_000;
/// Jobs a bulk action changes at once.
const BULK_CONCURRENCY: usize = 8;

pub const PRIORITY_RANGE: std::ops::RangeInclusive<i32> = -100..=100;
pub const MAX_RETRIES_RANGE: std::ops::RangeInclusive<i32> = 0..=100;
pub const DEFAULT_MAX_RETRIES: i32 = 3;

#[derive(Clone)]
pub struct JobService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// A running job quiet for this long is shown as stalled.
    stalled_after: Duration,
    /// Told when a job is cancelled before a run could see it (see [`crate::worker::JobHandler::cancelled`]).
    handlers: Handlers,
}

fn can_see(viewer: &User, job: &Job) -> bool {
    viewer.is_admin || job.created_by == Some(viewer.id)
}

impl JobService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock, stalled_after: DEFAULT_STALLED_AFTER, handlers: Handlers::new() }
    }

    /// A running job that shows no sign of life for `after` is shown as stalled.
    pub fn with_stalled_after(self, after: Duration) -> Self {
        Self { stalled_after: after, ..self }
    }

    /// Now, and what makes a job stalled: what a view of a job is rendered against.
    pub fn viewed_at(&self) -> ViewedAt {
        ViewedAt { now: self.clock.now(), stalled_after: self.stalled_after }
    }

    /// Cancels of jobs no run has seen are passed to their type's handler, which removes what
    /// was prepared for them (an upload's file).
    pub fn with_handlers(self, handlers: Handlers) -> Self {
        Self { handlers, ..self }
    }

    /// A new `pending` job owned by `owner`, progress 0.
    pub async fn create(&self, owner: &User, req: CreateJob) -> Result<Job, JobError> {
        let (metadata, priority, max_retries) =
            job_options(req.job_type, req.metadata, req.priority, req.max_retries).map_err(JobError::InvalidField)?;
        if let Some(dataset) = req.related_dataset_id {
            match self.store.dataset_owner(dataset).await? {
                Some(Some(o)) if o == owner.id => {}
                Some(_) if owner.is_admin => {}
                _ => return Err(JobError::UnknownDataset),
            }
        }
        let now = self.clock.now();
        let new = NewJob {
            job_type: req.job_type,
            created_by: Some(owner.id),
            related_dataset_id: req.related_dataset_id,
            metadata,
            created_at: now,
            // A time in the past means "now": it must not jump the queue.
            run_at: req.run_at.map_or(now, |at| at.max(now)),
            priority,
            max_retries,
        };
        self.store.insert_job(&new).await.map_err(|e| match e {
            // The dataset was deleted between the check and the insert.
            StoreError::ForeignKey(_) => JobError::UnknownDataset,
            other => other.into(),
        })
    }

    /// A job that is `running` from the start, held by `holder` under a lease until
    /// `lease_until` (see [`crate::storage::ImportStore::insert_held_job`]).
    pub async fn create_held(&self, new: &NewJob, holder: &str, lease_until: DateTime<Utc>) -> Result<Job, JobError> {
        Ok(self.store.insert_held_job(new, holder, self.clock.now(), lease_until).await?)
    }

    /// Renew a held job's lease and record its progress; `None` once `holder` lost it.
    pub async fn renew(&self, holder: &str, beat: Beat, lease_until: DateTime<Utc>) -> Result<Option<Held>, JobError> {
        let held = self.store.renew_leases(holder, &[beat], self.clock.now(), lease_until).await?;
        Ok(held.into_iter().next())
    }

    /// A job as it stands, whoever owns it (for code acting on the owner's behalf).
    pub async fn get_any(&self, id: Uuid) -> Result<Job, JobError> {
        self.store.find_job(id).await?.ok_or(JobError::NotFound)
    }

    /// One job, if `viewer` owns it or is an admin.
    pub async fn get(&self, viewer: &User, id: Uuid) -> Result<Job, JobError> {
        match self.store.find_job(id).await? {
            Some(job) if can_see(viewer, &job) => Ok(job),
            _ => Err(JobError::NotFound),
        }
    }

    /// The user's unfinished jobs, whatever their age, plus those finished in the last
    /// [`FINISHED_VISIBLE_FOR`], newest first.
    pub async fn active(&self, user: &User) -> Result<Vec<Job>, JobError> {
        let since = self.clock.now() - FINISHED_VISIBLE_FOR;
        Ok(self.store.active_jobs(user.id, since).await?)
    }

    /// [`JobService::active`] for the owner of a bearer token (given as its digest), checking
    /// the token in the same database round trip: the hot path of every polling browser tab.
    /// `None` when the token is unknown or expired.
    pub async fn active_for_token(&self, token_digest: &[u8]) -> Result<Option<(Uuid, Vec<Job>)>, JobError> {
        let now = self.clock.now();
        Ok(self.store.active_jobs_for_token(token_digest, now, now - FINISHED_VISIBLE_FOR).await?)
    }

    /// The active jobs (as [`JobService::active`]) of `owners`, newest first, at most `limit`.
    pub async fn active_of(&self, owners: &Owners, limit: u32) -> Result<Vec<Job>, JobError> {
        let since = self.clock.now() - FINISHED_VISIBLE_FOR;
        Ok(self.store.active_jobs_of(owners, since, limit).await?)
    }

    /// These jobs as they stand, whoever owns them; missing ids are left out.
    pub async fn by_ids(&self, ids: &[Uuid]) -> Result<Vec<Job>, JobError> {
        Ok(self.store.jobs_by_ids(ids).await?)
    }

    /// A page of history for `viewer`: their own jobs, or with `user` (admins only) another
    /// user's or everyone's. `cursor` continues after the page that gave it out. Returns the
    /// jobs and the cursor for the next page, if there may be one.
    pub async fn history(
        &self,
        viewer: &User,
        mut filter: HistoryFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<Job>, Option<String>), JobError> {
        if filter.owner != Owner::One(viewer.id) && !viewer.is_admin {
            return Err(JobError::Forbidden);
        }
        filter.after = cursor.map(|c| filter.read_cursor(c)).transpose()?;
        let limit = limit.clamp(1, MAX_PAGE);
        let jobs = self.store.job_history(&filter, limit).await?;
        let next = match jobs.last() {
            Some(last) if jobs.len() == limit as usize => {
                Some(filter.cursor_after(Position { created_at: last.created_at, id: last.id }))
            }
            _ => None,
        };
        Ok((jobs, next))
    }

    /// `action` on a job `viewer` may see. Cancel and retry go through [`JobService::cancel`]
    /// and [`JobService::retry`], which also reach the workers.
    pub async fn act(&self, viewer: &User, id: Uuid, action: Action) -> Result<Job, JobError> {
        let job = self.get(viewer, id).await?;
        let by = Actor { user: viewer.id, bulk: false };
        match action {
            Action::Cancel => self.cancel(id, Some(by)).await,
            Action::Retry => self.retry(&job, by).await,
            other => {
                let name = other.name();
                self.apply_change(id, name, other.change(self.clock.now()).by(by)).await
            }
        }
    }

    /// Every user's unfinished jobs by type and status (for admins: the caller checks).
    pub async fn queue_depth(&self) -> Result<Vec<QueueDepth>, JobError> {
        Ok(self.store.queue_depth().await?)
    }

    /// The queue now and the last hour's and day's finished jobs (for admins: the caller checks).
    pub async fn admin_stats(&self) -> Result<AdminStats, JobError> {
        let now = self.clock.now();
        let queue = self.store.queue_depth().await?;
        let (day, hour) = (now - stats::DAY, now - stats::HOUR);
        // Whole folded minutes where they answer exactly, the completion index for the rest.
        let (mut done, mut minutes) = self.store.finished_minutes(day).await?;
        if done.is_none_or(|done| done < now - finished::ROLLUP_STALE) {
            let (until, oldest) = finished::fold_bounds(now);
            if self.store.roll_up_finished(until, oldest).await?.is_some() {
                (done, minutes) = self.store.finished_minutes(day).await?;
            }
        }
        let reads = finished::plan(day, hour, done);
        let index = self.store.finished_counts(&reads.index, hour).await?;
        let finished = finished::combine(&reads, hour, &minutes, &index);
        Ok(AdminStats::new(now, queue, &finished))
    }

    /// A job's timeline, if `viewer` may see the job: see [`super::timeline`].
    pub async fn timeline(&self, viewer: &User, id: Uuid) -> Result<Vec<TimelineEntry>, JobError> {
        let job = self.get(viewer, id).await?;
        let audit = self.store.job_audit(id).await?;
        let owner_email = match job.created_by {
            Some(owner) => self.store.user_email(owner).await?,
            None => None,
        };
        Ok(timeline(&job, audit, owner_email))
    }

    /// `action` on any job, atomically: it changes nothing unless the job's state allows it.
    pub async fn apply(&self, id: Uuid, action: Action) -> Result<Job, JobError> {
        let name = action.name();
        self.apply_change(id, name, action.change(self.clock.now())).await
    }

    /// A prepared change (e.g. fenced on a worker's attempt); `action` names it in a conflict.
    pub async fn apply_change(&self, id: Uuid, action: &'static str, change: JobChange) -> Result<Job, JobError> {
        if let Some(job) = self.store.change_job(id, &change).await? {
            return Ok(job);
        }
        match self.store.find_job(id).await? {
            Some(job) => Err(JobError::Conflict { action, status: job.status }),
            None => Err(JobError::NotFound),
        }
    }

    pub async fn start(&self, id: Uuid) -> Result<Job, JobError> {
        self.apply(id, Action::Start).await
    }

    pub async fn update_progress(&self, id: Uuid, progress: i64) -> Result<Job, JobError> {
        self.apply(id, Action::Progress(progress)).await
    }

    /// Progress, and the stage text when given, of a job `viewer` may see.
    pub async fn report(&self, viewer: &User, id: Uuid, progress: i64, stage: Option<&str>) -> Result<Job, JobError> {
        self.get(viewer, id).await?;
        let change = Action::Progress(progress).change(self.clock.now()).with_stage(stage);
        self.apply_change(id, "progress", change).await
    }

    pub async fn complete(&self, id: Uuid) -> Result<Job, JobError> {
        self.apply(id, Action::Complete).await
    }

    pub async fn fail(&self, id: Uuid, message: impl Into<String>) -> Result<Job, JobError> {
        self.apply(id, Action::Fail(message.into())).await
    }

    /// A pending job (or a running one no worker holds) is cancelled at once; a running job
    /// under a worker's lease is asked to stop — its worker is told, and the job ends
    /// `cancelled` when the handler returns.
    pub async fn cancel(&self, id: Uuid, by: Option<Actor>) -> Result<Job, JobError> {
        if let Some(job) = self.store.request_cancel(id, self.clock.now(), by).await? {
            if job.status == JobStatus::Cancelled
                && let Some(handler) = self.handlers.get(job.job_type)
            {
                handler.cancelled(job.id).await;
            }
            return Ok(job);
        }
        match self.store.find_job(id).await? {
            Some(job) => Err(JobError::Conflict { action: "cancel", status: job.status }),
            None => Err(JobError::NotFound),
        }
    }

    /// `action` (cancel or retry) on each of `ids` that `viewer` may see, each atomically and
    /// on its own: one that cannot be changed never stops the others. Each id is answered once,
    /// in the order given; workers are woken once for all the retries.
    pub async fn bulk(&self, viewer: &User, action: BulkAction, ids: &[Uuid]) -> Vec<(Uuid, Result<Job, JobError>)> {
        use futures_util::StreamExt;
        let mut seen = std::collections::HashSet::new();
        let unique: Vec<Uuid> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
        let results: Vec<(Uuid, Result<Job, JobError>)> = futures_util::stream::iter(unique)
            .map(|id| async move {
                let by = Actor { user: viewer.id, bulk: true };
                let result = match self.get(viewer, id).await {
                    Ok(job) => match action {
                        BulkAction::Cancel => self.cancel(id, Some(by)).await,
                        BulkAction::Retry => self.requeue_by_hand(&job, by).await,
                    },
                    Err(e) => Err(e),
                };
                (id, result)
            })
            // A few at a time: 1,000 ids take a handful of round trips' time, not 1,000.
            .buffered(BULK_CONCURRENCY)
            .collect()
            .await;
        if action == BulkAction::Retry
            && results.iter().any(|(_, r)| r.is_ok())
            && let Err(err) = self.store.signal_new_jobs().await
        {
            tracing::warn!(error = %err, "could not wake workers after a bulk retry; they will poll");
        }
        results
    }

    /// Put a failed or cancelled job back in the queue, due now; its retry count and last
    /// error stay as history.
    pub async fn retry(&self, job: &Job, by: Actor) -> Result<Job, JobError> {
        let job = self.requeue_by_hand(job, by).await?;
        self.store.signal_new_jobs().await?;
        Ok(job)
    }

    /// [`JobService::retry`] without waking the workers (a bulk retry wakes them once). `job`
    /// as its caller read it: the change itself checks the state again, atomically.
    async fn requeue_by_hand(&self, job: &Job, by: Actor) -> Result<Job, JobError> {
        let finished_badly = matches!(job.status, JobStatus::Failed | JobStatus::Cancelled);
        if finished_badly
            && let Some(handler) = self.handlers.get(job.job_type)
            && let Err(reason) = handler.can_run_again(job).await
        {
            return Err(JobError::CannotRetry(reason));
        }
        self.apply_change(job.id, "retry", Action::Retry.change(self.clock.now()).by(by)).await
    }
}
