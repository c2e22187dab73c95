//! The history operations: pages of past jobs, a job's audit trail, the queue's depth. Reads only.

use super::StoreResult;
use crate::jobs::history::{HistoryFilter, QueueDepth};
use crate::jobs::model::Job;
use crate::jobs::timeline::AuditRecord;
use async_trait::async_trait;
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
}
