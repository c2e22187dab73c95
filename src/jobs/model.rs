//! The job as the spec defines it: a typed, owned unit of background work with progress.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

crate::text_enum! {
    /// What kind of work a job does: the spec's four types, which anyone may submit, and the
    /// notifications jobwatch sends as jobs of their own (see [`JobType::is_internal`]).
    pub enum JobType as "job_type" {
        Import => "import",
        Export => "export",
        Validation => "validation",
        Processing => "processing",
        Email => "email",
        Webhook => "webhook",
    }
}

impl JobType {
    /// The types a user or a schedule may create.
    pub const SUBMITTABLE: &'static [JobType] =
        &[JobType::Import, JobType::Export, JobType::Validation, JobType::Processing];

    /// Notifications run after users' due jobs: a slow mail server or endpoint holds a slot for
    /// its timeout at most, then users' jobs that came meanwhile go first.
    pub const NOTIFICATION_PRIORITY: i32 = -10;

    /// Notifications: created only by jobwatch, without an owner (so in nobody's list), run
    /// and retried like any job.
    pub fn is_internal(self) -> bool {
        !Self::SUBMITTABLE.contains(&self)
    }

    /// Refuses a type only jobwatch creates, saying which may be submitted.
    pub fn submittable(self) -> Result<Self, String> {
        match self.is_internal() {
            false => Ok(self),
            true => Err(format!(
                "job_type '{self}' is created by jobwatch itself; submit one of: {}",
                Self::SUBMITTABLE.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// The OpenAPI schema of a submitted `job_type`: the submittable names only.
    pub fn submittable_schema() -> utoipa::openapi::schema::Object {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Self::SUBMITTABLE.iter().map(|t| t.as_str())))
            .build()
    }
}

crate::text_enum! {
    /// Where a job is in its life: `pending → running → completed | failed | cancelled`.
    pub enum JobStatus as "status" {
        Pending => "pending",
        Running => "running",
        Completed => "completed",
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

impl JobStatus {
    /// Terminal states never change again.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled)
    }
}

/// One row of `background_jobs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: Uuid,
    pub job_type: JobType,
    pub status: JobStatus,
    pub progress: i32,
    pub related_dataset_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub error_message: Option<String>,
    pub retry_count: i32,
    pub max_retries: i32,
    pub metadata: Value,
    /// Higher runs first among due jobs.
    pub priority: i32,
    /// Not claimed before this time (delayed jobs, retry backoff).
    pub run_at: DateTime<Utc>,
    /// How many times a worker has claimed it; fences each worker's writes.
    pub attempt: i32,
    /// Set when a running job is asked to stop.
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// Grows by one with every change a watcher can see (see `jobs::events`).
    pub version: i64,
    /// Short text the handler reports with its progress.
    pub stage: Option<String>,
    /// Last sign of life while running: started or claimed, lease renewed, progress reported.
    pub heartbeat_at: Option<DateTime<Utc>>,
}

/// When a job is looked at, and how long a running job may stay quiet: what the derived
/// fields ([`Job::eta_seconds`], [`Job::is_stalled`]) depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewedAt {
    pub now: DateTime<Utc>,
    pub stalled_after: chrono::Duration,
}

/// Before this long a run's pace says little: no estimate yet.
const ETA_AFTER: chrono::Duration = chrono::Duration::seconds(2);

impl Job {
    /// Seconds until a running job is done at the pace it has kept since it started; `None`
    /// until that can be told (no progress yet, or too early) and for jobs not running.
    pub fn eta_seconds(&self, now: DateTime<Utc>) -> Option<i64> {
        let started = self.started_at.filter(|_| self.status == JobStatus::Running)?;
        let elapsed = now - started;
        if !(1..100).contains(&self.progress) || elapsed < ETA_AFTER {
            return None;
        }
        let millis = elapsed.num_milliseconds() * i64::from(100 - self.progress) / i64::from(self.progress);
        Some((millis + 999) / 1000)
    }

    /// A running job that has shown no sign of life (no progress, no stage, no lease renewal,
    /// no start) for `after`: its worker may be stuck or gone.
    pub fn is_stalled(&self, now: DateTime<Utc>, after: chrono::Duration) -> bool {
        self.stalls_at(after).is_some_and(|at| now >= at)
    }

    /// When a running job becomes stalled (see [`Job::is_stalled`]) if it shows no further
    /// sign of life; `None` for a job not running.
    pub fn stalls_at(&self, after: chrono::Duration) -> Option<DateTime<Utc>> {
        // A claim stamps started_at only; heartbeat_at may be from an earlier run.
        let last_seen = self.heartbeat_at.max(self.started_at);
        last_seen.filter(|_| self.status == JobStatus::Running).map(|at| at + after)
    }
}

/// A job about to be inserted.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub job_type: JobType,
    pub created_by: Option<Uuid>,
    pub related_dataset_id: Option<Uuid>,
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
    pub run_at: DateTime<Utc>,
    pub priority: i32,
    pub max_retries: i32,
}

impl NewJob {
    /// One of jobwatch's own notification jobs: no owner (in nobody's list), due now, behind
    /// users' due jobs.
    pub fn internal(job_type: JobType, metadata: Value, max_retries: i32, now: DateTime<Utc>) -> Self {
        debug_assert!(job_type.is_internal(), "{job_type} is a user's type");
        NewJob {
            job_type,
            created_by: None,
            related_dataset_id: None,
            metadata,
            created_at: now,
            run_at: now,
            priority: JobType::NOTIFICATION_PRIORITY,
            max_retries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_type_parse_error_lists_allowed_values() {
        let err = "upload".parse::<JobType>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown job_type 'upload'; expected one of: import, export, validation, processing, email, webhook"
        );
    }

    #[test]
    fn only_the_spec_types_may_be_submitted() {
        assert_eq!(JobType::Export.submittable(), Ok(JobType::Export));
        let err = JobType::Email.submittable().unwrap_err();
        assert!(err.contains("submit one of: import, export, validation, processing"), "{err}");
        assert!(JobType::Webhook.is_internal() && !JobType::Processing.is_internal());
    }

    #[test]
    fn names_round_trip() {
        for t in JobType::ALL {
            assert_eq!(t.as_str().parse::<JobType>().unwrap(), *t);
            // The OpenAPI schema spells variants as their lowercase names.
            assert_eq!(format!("{t:?}").to_lowercase(), t.as_str());
        }
        for s in JobStatus::ALL {
            assert_eq!(s.as_str().parse::<JobStatus>().unwrap(), *s);
            assert_eq!(format!("{s:?}").to_lowercase(), s.as_str());
        }
    }

    #[test]
    fn serde_uses_lowercase_names() {
        assert_eq!(serde_json::to_string(&JobStatus::Cancelled).unwrap(), "\"cancelled\"");
        let t: JobType = serde_json::from_str("\"export\"").unwrap();
        assert_eq!(t, JobType::Export);
        let err = serde_json::from_str::<JobType>("\"EXPORT\"").unwrap_err();
        assert!(err.to_string().contains("expected one of: import, export"), "{err}");
    }

    #[test]
    fn long_unknown_values_are_truncated_in_messages() {
        let long = "x".repeat(10_000);
        let msg = long.parse::<JobType>().unwrap_err().to_string();
        assert!(msg.len() < 200, "{msg}");
    }

    fn running(progress: i32, started_secs_ago: i64, heartbeat_secs_ago: Option<i64>) -> (Job, DateTime<Utc>) {
        let now = Utc::now();
        let mut job = crate::worker::processing::tests::sample_job(serde_json::json!({}));
        job.status = JobStatus::Running;
        job.progress = progress;
        job.started_at = Some(now - chrono::Duration::seconds(started_secs_ago));
        job.heartbeat_at = heartbeat_secs_ago.map(|s| now - chrono::Duration::seconds(s));
        (job, now)
    }

    #[test]
    fn eta_follows_the_pace_so_far_once_it_can_be_told() {
        let (job, now) = running(25, 30, None);
        assert_eq!(job.eta_seconds(now), Some(90), "a quarter in 30 s: three quarters in 90 s");
        assert_eq!(running(0, 30, None).0.eta_seconds(now), None, "no progress, no pace");
        assert_eq!(running(50, 1, None).0.eta_seconds(now), None, "too early to tell");
        assert_eq!(running(100, 30, None).0.eta_seconds(now), None);
        let done = Job { status: JobStatus::Completed, ..job };
        assert_eq!(done.eta_seconds(now), None, "only running jobs have an eta");
    }

    #[test]
    fn a_running_job_quiet_for_too_long_is_stalled() {
        let after = chrono::Duration::seconds(20);
        let (job, now) = running(10, 60, Some(5));
        assert!(!job.is_stalled(now, after), "a heartbeat 5 s ago");
        let (job, now) = running(10, 60, Some(20));
        assert!(job.is_stalled(now, after));
        let (job, now) = running(10, 25, None);
        assert!(job.is_stalled(now, after), "started 25 s ago, never heard of since");
        let pending = Job { status: JobStatus::Pending, ..job };
        assert!(!pending.is_stalled(now, after));
    }

    #[test]
    fn only_finished_states_are_terminal() {
        let terminal: Vec<_> = JobStatus::ALL.iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(terminal, [&JobStatus::Completed, &JobStatus::Failed, &JobStatus::Cancelled]);
    }
}
