//! The admins' overview (`GET /api/v2/admin/stats`), pure: the queue as it is now, and the
//! last hour's and day's finished jobs, their throughput and failure rate.
//!
//! Finished jobs are counted only within those windows, from the completion index (whose
//! entries carry each job's type and status): the cost follows the last day's jobs, never the
//! table's size. All-time totals are what Prometheus keeps from `jobwatch_job_runs_total`.

use super::history::QueueDepth;
use super::model::{JobStatus, JobType};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// Finished jobs of one type and status: in the last day, and the part of them in the last hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedCount {
    pub job_type: JobType,
    /// `completed`, `failed` or `cancelled`.
    pub status: JobStatus,
    pub last_day: i64,
    pub last_hour: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AdminStats {
    /// The time the windows end at.
    pub generated_at: DateTime<Utc>,
    /// Every user's pending and running jobs now, by type then status (as `GET /admin/queue`).
    pub queue: Vec<QueueDepth>,
    pub last_hour: WindowStats,
    pub last_day: WindowStats,
}

/// Jobs that finished (reached `completed`, `failed` or `cancelled`) within one window.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WindowStats {
    /// The window's start; it ends at `generated_at`.
    pub since: DateTime<Utc>,
    pub completed: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// Completed jobs per hour, averaged over the window.
    pub completed_per_hour: f64,
    /// Failed among completed and failed, 0 to 1 (cancelled jobs neither succeed nor fail);
    /// `null` when none of either finished.
    pub failure_rate: Option<f64>,
    /// The same counts per job type, for the types with any.
    pub by_type: Vec<TypeWindowStats>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TypeWindowStats {
    pub job_type: JobType,
    pub completed: i64,
    pub failed: i64,
    pub cancelled: i64,
}

/// The windows' lengths.
pub const HOUR: Duration = Duration::hours(1);
pub const DAY: Duration = Duration::days(1);

impl AdminStats {
    /// From the queue depth and the finished counts since `now - DAY` (and `now - HOUR`).
    pub fn new(now: DateTime<Utc>, queue: Vec<QueueDepth>, finished: &[FinishedCount]) -> Self {
        AdminStats {
            generated_at: now,
            queue,
            last_hour: WindowStats::of(now - HOUR, HOUR, finished.iter().map(|c| (c, c.last_hour))),
            last_day: WindowStats::of(now - DAY, DAY, finished.iter().map(|c| (c, c.last_day))),
        }
    }
}

impl WindowStats {
    fn of<'a>(since: DateTime<Utc>, length: Duration, counts: impl Iterator<Item = (&'a FinishedCount, i64)>) -> Self {
        let mut by_type: Vec<TypeWindowStats> = Vec::new();
        for (count, n) in counts.filter(|(_, n)| *n > 0) {
            let entry = match by_type.iter_mut().position(|t| t.job_type == count.job_type) {
                Some(i) => &mut by_type[i],
                None => {
                    by_type.push(TypeWindowStats { job_type: count.job_type, completed: 0, failed: 0, cancelled: 0 });
                    by_type.last_mut().expect("just pushed")
                }
            };
            match count.status {
                JobStatus::Completed => entry.completed += n,
                JobStatus::Failed => entry.failed += n,
                JobStatus::Cancelled => entry.cancelled += n,
                JobStatus::Pending | JobStatus::Running => {}
            }
        }
        by_type.sort_by_key(|t| t.job_type.as_str());
        let completed = by_type.iter().map(|t| t.completed).sum();
        let failed = by_type.iter().map(|t| t.failed).sum();
        let cancelled = by_type.iter().map(|t| t.cancelled).sum();
        let hours = length.num_seconds() as f64 / 3600.0;
        WindowStats {
            since,
            completed,
            failed,
            cancelled,
            completed_per_hour: completed as f64 / hours,
            failure_rate: (completed + failed > 0).then(|| failed as f64 / (completed + failed) as f64),
            by_type,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(job_type: JobType, status: JobStatus, last_day: i64, last_hour: i64) -> FinishedCount {
        FinishedCount { job_type, status, last_day, last_hour }
    }

    #[test]
    fn windows_add_up_by_type_with_rates() {
        let now = Utc::now();
        let finished = [
            count(JobType::Import, JobStatus::Completed, 45, 3),
            count(JobType::Import, JobStatus::Failed, 5, 1),
            count(JobType::Export, JobStatus::Cancelled, 2, 0),
            count(JobType::Export, JobStatus::Completed, 3, 0),
        ];
        let stats = AdminStats::new(now, vec![], &finished);
        let day = &stats.last_day;
        assert_eq!((day.completed, day.failed, day.cancelled), (48, 5, 2));
        assert_eq!(day.completed_per_hour, 2.0);
        assert_eq!(day.failure_rate, Some(5.0 / 53.0));
        assert_eq!(day.since, now - DAY);
        assert_eq!(day.by_type.iter().map(|t| t.job_type).collect::<Vec<_>>(), [JobType::Export, JobType::Import]);
        let hour = &stats.last_hour;
        assert_eq!((hour.completed, hour.failed, hour.cancelled), (3, 1, 0));
        assert_eq!(hour.failure_rate, Some(0.25));
        // Export finished nothing in the last hour: it is not listed there.
        assert_eq!(
            hour.by_type,
            [TypeWindowStats { job_type: JobType::Import, completed: 3, failed: 1, cancelled: 0 }]
        );
    }

    #[test]
    fn no_finished_jobs_has_no_failure_rate() {
        let stats = AdminStats::new(Utc::now(), vec![], &[count(JobType::Import, JobStatus::Cancelled, 4, 4)]);
        assert_eq!(stats.last_hour.failure_rate, None);
        assert_eq!(stats.last_hour.completed_per_hour, 0.0);
        assert_eq!(stats.last_hour.cancelled, 4);
    }
}
