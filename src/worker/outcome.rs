//! What a handler's result means for its job: pure, so every case is unit-tested.

use super::{Backoff, HandlerError};
use crate::jobs::{Action, Job};
use chrono::{DateTime, Utc};

/// Why a running handler was told to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A user cancelled the job.
    CancelRequested,
    /// This worker is shutting down.
    Shutdown,
    /// The lease was lost (rescued after a stall, or taken over): someone else owns the job.
    LeaseLost,
}

/// The action a worker takes after its handler returned; `None` when the job is no longer
/// this worker's to change.
pub fn decide(
    job: &Job,
    result: Result<(), HandlerError>,
    stop: Option<StopReason>,
    now: DateTime<Utc>,
    backoff: &Backoff,
    jitter: f64,
) -> Option<Action> {
    match (stop, result) {
        (Some(StopReason::LeaseLost), _) => None,
        (Some(StopReason::CancelRequested), _) => Some(Action::Cancel),
        (_, Ok(())) => Some(Action::Complete),
        // Shutdown interrupted it: hand it back, not counted as a failed try.
        (Some(StopReason::Shutdown), Err(_)) => Some(Action::Requeue { run_at: now, error: None, count_retry: false }),
        (None, Err(HandlerError::Permanent(message))) => Some(Action::Fail(message)),
        (None, Err(HandlerError::Retryable(message))) if job.retry_count < job.max_retries => {
            let delay =
                chrono::Duration::from_std(backoff.delay(job.retry_count, jitter)).unwrap_or(chrono::Duration::MAX);
            Some(Action::Requeue { run_at: now + delay, error: Some(message), count_retry: true })
        }
        (None, Err(HandlerError::Retryable(message))) => {
            Some(Action::Fail(format!("{message} (gave up after {} retries)", job.retry_count)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::processing::tests::sample_job;
    use std::time::Duration;

    const B: Backoff = Backoff { base: Duration::from_secs(2), cap: Duration::from_secs(60) };

    fn job(retry_count: i32, max_retries: i32) -> Job {
        Job { retry_count, max_retries, ..sample_job(serde_json::json!({})) }
    }

    #[test]
    fn success_completes() {
        let now = Utc::now();
        assert_eq!(decide(&job(0, 3), Ok(()), None, now, &B, 0.0), Some(Action::Complete));
        assert_eq!(decide(&job(0, 3), Ok(()), Some(StopReason::Shutdown), now, &B, 0.0), Some(Action::Complete));
    }

    #[test]
    fn retryable_failures_back_off_until_retries_are_spent() {
        let now = Utc::now();
        let err = || Err(HandlerError::Retryable("busy".into()));
        assert_eq!(
            decide(&job(2, 3), err(), None, now, &B, 0.0),
            Some(Action::Requeue {
                run_at: now + chrono::Duration::seconds(4),
                error: Some("busy".into()),
                count_retry: true
            })
        );
        assert_eq!(
            decide(&job(3, 3), err(), None, now, &B, 0.0),
            Some(Action::Fail("busy (gave up after 3 retries)".into()))
        );
        assert!(matches!(decide(&job(0, 0), err(), None, now, &B, 0.0), Some(Action::Fail(_))));
    }

    #[test]
    fn permanent_failures_fail_at_once() {
        let result = decide(&job(0, 3), Err(HandlerError::Permanent("bad".into())), None, Utc::now(), &B, 0.0);
        assert_eq!(result, Some(Action::Fail("bad".into())));
    }

    #[test]
    fn stops_decide_before_results() {
        let now = Utc::now();
        let cancel = decide(&job(0, 3), Ok(()), Some(StopReason::CancelRequested), now, &B, 0.0);
        assert_eq!(cancel, Some(Action::Cancel));
        let lost = decide(&job(0, 3), Ok(()), Some(StopReason::LeaseLost), now, &B, 0.0);
        assert_eq!(lost, None);
        let shutdown =
            decide(&job(0, 3), Err(HandlerError::Retryable("x".into())), Some(StopReason::Shutdown), now, &B, 0.0);
        assert_eq!(shutdown, Some(Action::Requeue { run_at: now, error: None, count_retry: false }));
    }
}
