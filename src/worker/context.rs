//! The handler's view of its job: metadata in, progress out, cancellation in.

use super::outcome::StopReason;
use crate::jobs::Job;
use serde_json::Value;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio_util::sync::CancellationToken;

/// Progress not reported yet.
pub(super) const NO_PROGRESS: i32 = -1;

/// What a run has reported so far; the worker writes it with each lease renewal.
pub(super) struct Report {
    /// Percent, or [`NO_PROGRESS`].
    pub progress: AtomicI32,
    pub stage: Mutex<Option<String>>,
}

impl Report {
    pub fn new() -> Arc<Self> {
        Arc::new(Report { progress: AtomicI32::new(NO_PROGRESS), stage: Mutex::new(None) })
    }

    pub fn progress(&self) -> i32 {
        self.progress.load(Ordering::Relaxed)
    }

    pub fn stage(&self) -> Option<String> {
        self.stage.lock().expect("stage lock").clone()
    }

    fn raise(&self, percent: i64) {
        self.progress.fetch_max(percent.clamp(0, 100) as i32, Ordering::Relaxed);
    }

    fn set_stage(&self, stage: &str) {
        let mut current = self.stage.lock().expect("stage lock");
        if current.as_deref() != Some(stage) {
            *current = Some(crate::jobs::state::bounded_stage(stage));
        }
    }
}

pub struct JobContext {
    job: Job,
    report: Arc<Report>,
    cancel: CancellationToken,
    /// Why the job was told to stop, once it was.
    stop: Arc<OnceLock<StopReason>>,
}

impl JobContext {
    pub(super) fn new(
        job: Job,
        report: Arc<Report>,
        cancel: CancellationToken,
        stop: Arc<OnceLock<StopReason>>,
    ) -> Self {
        Self { job, report, cancel, stop }
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
        self.report.raise(percent);
    }

    /// Say what the job is doing now, in a short line shown beside its progress ("parsing rows
    /// 120 000 / 1 000 000"; cut to 200 characters). Written with the next lease renewal, like
    /// progress, so it is cheap to call often.
    pub fn stage(&self, stage: &str) {
        self.report.set_stage(stage);
    }

    /// A handle for reporting progress from elsewhere (a blocking thread, a spawned task).
    pub fn progress_reporter(&self) -> ProgressReporter {
        ProgressReporter(self.report.clone())
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

/// [`JobContext::progress`] and [`JobContext::stage`], detached from the context's lifetime.
#[derive(Clone)]
pub struct ProgressReporter(Arc<Report>);

impl ProgressReporter {
    /// As [`JobContext::progress`].
    pub fn report(&self, percent: i64) {
        self.0.raise(percent);
    }

    /// As [`JobContext::stage`].
    pub fn stage(&self, stage: &str) {
        self.0.set_stage(stage);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_clamped_and_only_rises() {
        let report = Report::new();
        let job = crate::worker::processing::tests::sample_job(serde_json::json!({}));
        let ctx = JobContext::new(job, report.clone(), CancellationToken::new(), Default::default());
        for p in [10, 50, 30, -7] {
            ctx.progress(p);
        }
        assert_eq!(report.progress(), 50);
        ctx.progress(1_000);
        assert_eq!(report.progress(), 100);
    }

    #[test]
    fn the_stage_is_the_latest_line_reported() {
        let report = Report::new();
        let job = crate::worker::processing::tests::sample_job(serde_json::json!({}));
        let ctx = JobContext::new(job, report.clone(), CancellationToken::new(), Default::default());
        assert_eq!(report.stage(), None);
        ctx.stage("reading");
        ctx.progress_reporter().stage("parsing rows 10 / 20");
        assert_eq!(report.stage().as_deref(), Some("parsing rows 10 / 20"));
    }
}
