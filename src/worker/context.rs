//! The handler's view of its job: metadata in, progress out, cancellation in.

use super::outcome::StopReason;
use crate::jobs::Job;
use serde_json::Value;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, OnceLock};
use tokio_util::sync::CancellationToken;

/// Progress not reported yet.
pub(super) const NO_PROGRESS: i32 = -1;

pub struct JobContext {
    job: Job,
    progress: Arc<AtomicI32>,
    cancel: CancellationToken,
    /// Why the job was told to stop, once it was.
    stop: Arc<OnceLock<StopReason>>,
}

impl JobContext {
    pub(super) fn new(
        job: Job,
        progress: Arc<AtomicI32>,
        cancel: CancellationToken,
        stop: Arc<OnceLock<StopReason>>,
    ) -> Self {
        Self { job, progress, cancel, stop }
    }

    /// True once a user cancelled the job (not a shutdown, not a lost lease): the job ends
    /// `cancelled`, so what it stored so far can go.
    pub fn cancel_requested(&self) -> bool {
        matches!(self.stop.get(), Some(StopReason::CancelRequested))
    }

    pub fn job(&self) -> &Job {
        &self.job
    }

    pub fn metadata(&self) -> &Value {
        &self.job.metadata
    }

    /// Report progress in percent (clamped to 0..=100; never lowers it). Costs an atomic
    /// store: the worker writes the latest value with its next lease renewal, so calling
    /// this in a tight loop is fine.
    pub fn progress(&self, percent: i64) {
        raise(&self.progress, percent);
    }

    /// A handle for reporting progress from elsewhere (a blocking thread, a spawned task).
    pub fn progress_reporter(&self) -> ProgressReporter {
        ProgressReporter(self.progress.clone())
    }

    /// A token that is cancelled when the job should stop, for code off this task.
    pub fn stop_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// True once the job was cancelled, its worker is shutting down, or its lease was lost.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves when the job should stop (see [`JobContext::is_cancelled`]).
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }
}

/// [`JobContext::progress`], detached from the context's lifetime.
#[derive(Clone)]
pub struct ProgressReporter(Arc<AtomicI32>);

impl ProgressReporter {
    /// As [`JobContext::progress`].
    pub fn report(&self, percent: i64) {
        raise(&self.0, percent);
    }
}

fn raise(cell: &AtomicI32, percent: i64) {
    cell.fetch_max(percent.clamp(0, 100) as i32, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_clamped_and_only_rises() {
        let cell = Arc::new(AtomicI32::new(NO_PROGRESS));
        let job = crate::worker::processing::tests::sample_job(serde_json::json!({}));
        let ctx = JobContext::new(job, cell.clone(), CancellationToken::new(), Default::default());
        for p in [10, 50, 30, -7] {
            ctx.progress(p);
        }
        assert_eq!(cell.load(Ordering::Relaxed), 50);
        ctx.progress(1_000);
        assert_eq!(cell.load(Ordering::Relaxed), 100);
    }
}
