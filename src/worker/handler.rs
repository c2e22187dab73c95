//! What application code implements: one handler per job type.

use super::context::JobContext;
use crate::jobs::JobType;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

/// How a handler failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// Worth another try (a timeout, a busy service): retried with backoff while retries last.
    #[error("{0}")]
    Retryable(String),
    /// Will fail again (bad input): the job ends `failed` at once.
    #[error("{0}")]
    Permanent(String),
}

impl HandlerError {
    /// A transient failure of what the job runs on (storage, the database): the cause goes to
    /// the log — it may name paths or endpoints — and the job's message says it will be retried.
    pub fn retryable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "a job failed on temporary trouble; it will be retried");
        HandlerError::Retryable("temporary trouble with storage or the database; the job will be retried".into())
    }
}

#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// Do the job. Report progress through `ctx`. Soon after `ctx.cancelled()` resolves, return
    /// an error (the work is not done): the worker then records the cancel, or hands the job
    /// back if it is shutting down.
    async fn run(&self, ctx: &JobContext) -> Result<(), HandlerError>;

    /// Whether a person may put this failed or cancelled job back in the queue: `Err` says
    /// why not (an import whose file was rejected or removed has nothing to run on).
    async fn can_run_again(&self, _job: &crate::jobs::Job) -> Result<(), String> {
        Ok(())
    }

    /// The job was deleted (pruned past retention): remove what its runs left behind, if
    /// anything. Failures are the handler's to log.
    async fn forget(&self, _job: Uuid) {}

    /// The job was cancelled before any run of it could see the cancel (it waited in the
    /// queue): remove what was prepared for it, if anything. A running job's handler sees its
    /// cancel itself. Failures are the handler's to log.
    async fn cancelled(&self, _job: Uuid) {}
}

/// The handlers a worker runs; a job type without one is never claimed by it.
#[derive(Clone, Default)]
pub struct Handlers(BTreeMap<JobType, Arc<dyn JobHandler>>);

impl Handlers {
    pub fn new() -> Self {
        Self::default()
    }

    /// The handlers jobwatch ships: `processing` (see [`super::processing`]).
    pub fn builtin() -> Self {
        Self::new().register(JobType::Processing, super::processing::ProcessingHandler)
    }

    pub fn register(mut self, job_type: JobType, handler: impl JobHandler) -> Self {
        self.0.insert(job_type, Arc::new(handler));
        self
    }

    pub fn get(&self, job_type: JobType) -> Option<Arc<dyn JobHandler>> {
        self.0.get(&job_type).cloned()
    }

    pub fn types(&self) -> Vec<JobType> {
        self.0.keys().copied().collect()
    }
}
