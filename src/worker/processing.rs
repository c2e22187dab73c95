//! The built-in `processing` handler, for demos and benchmarks: `metadata` =
//! `{"steps": N, "step_ms": M, "fail_at": K, "fail": "retryable" | "permanent"}` — N steps of
//! M ms each, reporting progress (and, when M > 0, the stage "step i of N") after each; failing
//! at step K if given.

use super::context::JobContext;
use super::handler::{HandlerError, JobHandler};
use async_trait::async_trait;
use serde_json::Value;
use std::time::Duration;

const MAX_STEPS: u64 = 1_000_000;
const MAX_STEP_MS: u64 = 3_600_000;

pub struct ProcessingHandler;

fn number(metadata: &Value, key: &str, default: u64, max: u64) -> Result<u64, HandlerError> {
    match metadata.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .filter(|n| *n <= max)
            .ok_or_else(|| HandlerError::Permanent(format!("metadata.{key} must be an integer from 0 to {max}"))),
    }
}

/// Stopping early is not success: the worker decides what the stop means (cancelled,
/// handed back on shutdown).
fn interrupted(step: u64) -> HandlerError {
    HandlerError::Retryable(format!("interrupted before step {step}"))
}

#[async_trait]
impl JobHandler for ProcessingHandler {
    async fn run(&self, ctx: &JobContext) -> Result<(), HandlerError> {
        let meta = ctx.metadata();
        let steps = number(meta, "steps", 10, MAX_STEPS)?;
        let step_ms = number(meta, "step_ms", 100, MAX_STEP_MS)?;
        let fail_at = meta.get("fail_at").and_then(Value::as_u64);
        let permanent = meta.get("fail").and_then(Value::as_str) == Some("permanent");
        for step in 1..=steps {
            if step_ms > 0 {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(step_ms)) => {}
                    () = ctx.cancelled() => return Err(interrupted(step)),
                }
            } else if ctx.is_cancelled() {
                return Err(interrupted(step));
            }
            if fail_at == Some(step) {
                let message = format!("step {step} of {steps} failed (metadata.fail_at)");
                return Err(if permanent {
                    HandlerError::Permanent(message)
                } else {
                    HandlerError::Retryable(message)
                });
            }
            ctx.progress((step * 100 / steps.max(1)) as i64);
            // Only slow steps say so: no-op benchmark jobs stay as cheap as they were.
            if step_ms > 0 {
                ctx.stage(&format!("step {step} of {steps}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::jobs::{Job, JobStatus, JobType};
    use crate::worker::context::{NO_PROGRESS, Report};
    use chrono::Utc;
    use serde_json::json;
    use tokio_util::sync::CancellationToken;

    pub(crate) fn sample_job(metadata: Value) -> Job {
        Job {
            id: uuid::Uuid::new_v4(),
            job_type: JobType::Processing,
            status: JobStatus::Running,
            progress: 0,
            related_dataset_id: None,
            created_by: None,
            created_at: Utc::now(),
            started_at: None,
            completed_at: None,
            error_message: None,
            retry_count: 0,
            max_retries: 3,
            metadata,
            priority: 0,
            run_at: Utc::now(),
            attempt: 1,
            cancel_requested_at: None,
            version: 1,
            stage: None,
            heartbeat_at: None,
        }
    }

    async fn run(metadata: Value, cancel: CancellationToken) -> (Result<(), HandlerError>, i32) {
        let report = Report::new();
        let ctx = JobContext::new(sample_job(metadata), report.clone(), cancel, Default::default());
        let result = ProcessingHandler.run(&ctx).await;
        (result, report.progress())
    }

    #[tokio::test]
    async fn runs_its_steps_to_full_progress() {
        assert_eq!(run(json!({"steps": 4, "step_ms": 0}), CancellationToken::new()).await, (Ok(()), 100));
    }

    #[tokio::test]
    async fn fails_at_the_requested_step() {
        let (result, progress) = run(json!({"steps": 4, "step_ms": 0, "fail_at": 3}), CancellationToken::new()).await;
        assert_eq!(result, Err(HandlerError::Retryable("step 3 of 4 failed (metadata.fail_at)".into())));
        assert_eq!(progress, 50);
        let (result, _) =
            run(json!({"steps": 4, "step_ms": 0, "fail_at": 1, "fail": "permanent"}), CancellationToken::new()).await;
        assert!(matches!(result, Err(HandlerError::Permanent(_))));
    }

    #[tokio::test]
    async fn stops_when_cancelled() {
        let cancel = CancellationToken::new();
        cancel.cancel();
        let (result, progress) = run(json!({"steps": 1000, "step_ms": 1000}), cancel).await;
        assert_eq!(result, Err(HandlerError::Retryable("interrupted before step 1".into())));
        assert_eq!(progress, NO_PROGRESS);
    }

    #[tokio::test]
    async fn rejects_nonsense_metadata() {
        let (result, _) = run(json!({"steps": "many"}), CancellationToken::new()).await;
        assert_eq!(result, Err(HandlerError::Permanent("metadata.steps must be an integer from 0 to 1000000".into())));
    }
}
