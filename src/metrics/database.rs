//! The gauges that describe the shared database rather than this node: pending and running
//! jobs by type, and the age of each type's oldest pending job. Read when scraped, from the
//! admins' queue depth (the claim and lease partial indexes: only unfinished jobs, whatever
//! the table's size), and reused for `database_cache` so many scrapers cost one read.
//!
//! Finished jobs are not counted here: that would read every finished row of the table. Their
//! rates come from the per-node `jobwatch_job_runs_total` (summed over nodes by Prometheus),
//! and `GET /api/v2/admin/stats` counts the last hour and day from an index.

use super::Metrics;
use super::series::{StateLabels, TypeLabels};
use crate::jobs::history::QueueDepth;
use crate::jobs::{JobService, JobStatus, JobType};
use chrono::{DateTime, Utc};

impl Metrics {
    /// Refresh the database's gauges unless they were read within `database_cache`. A failed
    /// read is counted and logged; the gauges keep their last values.
    pub(super) async fn read_database(&self, jobs: &JobService) {
        let mut last = self.inner.database_read.lock().await;
        let ttl = self.inner.settings.database_cache;
        if last.is_some_and(|at| at.elapsed() < ttl) {
            return;
        }
        match jobs.queue_depth().await {
            Ok(depth) => {
                self.set_queue(&depth, jobs.viewed_at().now);
                *last = Some(std::time::Instant::now());
            }
            Err(err) => {
                tracing::warn!(error = %err, "reading the queue for /metrics failed");
                self.inner.scrape_errors.inc();
            }
        }
    }

    /// Every type and unfinished status gets a value, zero when absent, so a queue that
    /// empties reads 0 instead of its last count.
    fn set_queue(&self, depth: &[QueueDepth], now: DateTime<Utc>) {
        for &job_type in JobType::ALL {
            for status in [JobStatus::Pending, JobStatus::Running] {
                let row = depth.iter().find(|d| d.job_type == job_type && d.status == status);
                let labels = StateLabels { job_type: job_type.as_str(), status: status.as_str() };
                self.inner.jobs.get_or_create(&labels).set(row.map_or(0, |d| d.count));
                if status == JobStatus::Pending {
                    let age =
                        row.map_or(0.0, |d| (now - d.oldest_created_at).to_std().unwrap_or_default().as_secs_f64());
                    self.inner.oldest_pending.get_or_create(&TypeLabels { job_type: job_type.as_str() }).set(age);
                }
            }
        }
    }
}
