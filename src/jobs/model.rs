//! The job as the spec defines it: a typed, owned unit of background work with progress.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

crate::text_enum! {
    /// What kind of work a job does (the spec's four types).
    pub enum JobType as "job_type" {
        Import => "import",
        Export => "export",
        Validation => "validation",
        Processing => "processing",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_type_parse_error_lists_allowed_values() {
        let err = "upload".parse::<JobType>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown job_type 'upload'; expected one of: import, export, validation, processing"
        );
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

    #[test]
    fn only_finished_states_are_terminal() {
        let terminal: Vec<_> = JobStatus::ALL.iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(terminal, [&JobStatus::Completed, &JobStatus::Failed, &JobStatus::Cancelled]);
    }
}
