//! The history operations: pages of past jobs, a job's audit trail, the queue's depth, the
//! finished jobs of the last day. Reads only.

use super::StoreResult;
use crate::jobs::history::{HistoryFilter, QueueDepth};
use crate::jobs::model::Job;
use crate::jobs::stats::FinishedCount;
use crate::jobs::timeline::AuditRecord;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
pub trait HistoryStore: Send + Sync {
    /// Up to `limit` jobs matching `filter`, newest first (`created_at`, then `id`, descending).
    async fn job_history(&self, filter: &HistoryFilter, limit: u32) -> StoreResult<Vec<Job>>;

    /// A job's audit trail, oldest first, with each actor's email.
    async fn job_audit(&self, job: Uuid) -> StoreResult<Vec<AuditRecord>>;

    /// Every user's unfinished jobs counted by type and status (the claim and lease indexes
    /// hold exactly these rows), by type, then `pending` before `running`.
    async fn queue_depth(&self) -> StoreResult<Vec<QueueDepth>>;

    /// Jobs finished at or after `day` counted by type and status, with how many of them
    /// finished at or after `hour` (later than `day`): one range of the completion index,
    /// whose entries carry the type and status, so the table's older jobs are never read.
    async fn finished_counts(&self, day: DateTime<Utc>, hour: DateTime<Utc>) -> StoreResult<Vec<FinishedCount>>;
}
