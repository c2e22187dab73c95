//! The job state machine as pure data: which action is legal from which state, and what it
//! writes. Storage applies a [`JobChange`] atomically, guarded by [`JobChange::from`] (and,
//! for a worker's writes, by the attempt it holds).
//!
//! `pending → running → completed | failed | cancelled`, `pending → cancelled`;
//! `running → pending` when a worker requeues (retry with backoff, shutdown);
//! `failed | cancelled → pending` by hand (retry). Completed is final.

use super::model::JobStatus;
use chrono::{DateTime, Utc};
use uuid::Uuid;

crate::text_enum! {
    /// What the audit trail records: what people did to a job, and every failed attempt.
    pub enum AuditKind as "kind" {
        // A person cancelled it (it was pending, or running with nobody holding it).
        Cancelled => "cancelled",
        // A person asked it to stop while a worker ran it.
        Stopping => "stopping",
        // A person put it back in the queue.
        Retried => "retried",
        // An attempt failed; it will run again.
        Retrying => "retrying",
        // It failed for good.
        Failed => "failed",
    }
}

/// Who did something to a job by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user: Uuid,
    /// As part of a bulk action.
    pub bulk: bool,
}

/// The audit row a change writes with itself (its attempt is the job's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub kind: AuditKind,
    pub at: DateTime<Utc>,
    pub by: Option<Actor>,
    pub message: Option<String>,
}

/// Something that can happen to a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Start,
    /// Report progress in percent; clamped to 0..=100 and never lowered within a run.
    Progress(i64),
    Complete,
    Fail(String),
    Cancel,
    /// By hand: a failed or cancelled job goes back to the queue, due now, progress 0.
    Retry,
    /// A worker gives a running job back to the queue, due at `run_at`: after a retryable
    /// failure (`count_retry`, with its error kept) or on shutdown (not counted).
    Requeue {
        run_at: DateTime<Utc>,
        error: Option<String>,
        count_retry: bool,
    },
}

/// The write one action makes, applied only while the job is in one of `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobChange {
    pub from: &'static [JobStatus],
    pub status: JobStatus,
    /// Raise progress to at least this value (progress never goes backwards).
    pub progress_at_least: Option<i32>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub error_message: Option<String>,
    /// Back to the start: progress 0, no completion time.
    pub restart: bool,
    /// New due time.
    pub run_at: Option<DateTime<Utc>>,
    /// Count one more retry.
    pub count_retry: bool,
    /// Only if the job is still in this attempt: a worker writes only for the run it holds.
    pub fence_attempt: Option<i32>,
    /// New stage text (see [`JobChange::with_stage`]).
    pub stage: Option<String>,
    /// A sign of life: the job started or reported progress.
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// The audit row written with the change, for the changes the trail keeps.
    pub audit: Option<Audit>,
}

impl JobChange {
    /// The same write, applied only while the job is in `attempt` (see [`JobChange::fence_attempt`]).
    pub fn fenced(self, attempt: i32) -> Self {
        JobChange { fence_attempt: Some(attempt), ..self }
    }

    /// The same write, done by `actor` (recorded in its audit row, if it has one).
    pub fn by(mut self, actor: Actor) -> Self {
        if let Some(audit) = &mut self.audit {
            audit.by = Some(actor);
        }
        self
    }

    /// The same write, also setting the stage text (cut to [`MAX_STAGE_CHARS`]).
    pub fn with_stage(self, stage: Option<&str>) -> Self {
        JobChange { stage: stage.map(bounded_stage), ..self }
    }
}

/// A stage is a short line for a progress bar, not a log.
pub const MAX_STAGE_CHARS: usize = 200;

pub fn bounded_stage(stage: &str) -> String {
    stage.chars().filter(|c| !c.is_control()).take(MAX_STAGE_CHARS).collect()
}

/// A count as people read it in a stage line: `1 234 567` (groups of three, thin-spaced).
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// Error messages are for people; an unbounded one is a log dump, not a message.
pub const MAX_ERROR_MESSAGE_CHARS: usize = 10_000;

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Progress(_) => "progress",
            Action::Complete => "complete",
            Action::Fail(_) => "fail",
            Action::Cancel => "cancel",
            Action::Retry => "retry",
            Action::Requeue { .. } => "requeue",
        }
    }

    /// The states this action may be taken from.
    pub fn allowed_from(&self) -> &'static [JobStatus] {
        use JobStatus::*;
        match self {
            Action::Start => &[Pending],
            Action::Progress(_) | Action::Complete | Action::Fail(_) | Action::Requeue { .. } => &[Running],
            Action::Cancel => &[Pending, Running],
            Action::Retry => &[Failed, Cancelled],
        }
    }

    pub fn is_allowed_from(&self, status: JobStatus) -> bool {
        self.allowed_from().contains(&status)
    }

    /// The write this action makes at time `now`.
    pub fn change(self, now: DateTime<Utc>) -> JobChange {
        let from = self.allowed_from();
        let base = JobChange {
            from,
            status: JobStatus::Running,
            progress_at_least: None,
            started_at: None,
            completed_at: None,
            error_message: None,
            restart: false,
            run_at: None,
            count_retry: false,
            fence_attempt: None,
            stage: None,
            heartbeat_at: None,
            audit: None,
        };
        let audit =
            |kind, message: Option<&str>| Some(Audit { kind, at: now, by: None, message: message.map(bounded) });
        match self {
            Action::Start => JobChange { started_at: Some(now), heartbeat_at: Some(now), ..base },
            Action::Progress(p) => {
                JobChange { progress_at_least: Some(p.clamp(0, 100) as i32), heartbeat_at: Some(now), ..base }
            }
            Action::Complete => JobChange {
                status: JobStatus::Completed,
                progress_at_least: Some(100),
                completed_at: Some(now),
                ..base
            },
            Action::Fail(message) => JobChange {
                status: JobStatus::Failed,
                completed_at: Some(now),
                error_message: Some(bounded(&message)),
                audit: audit(AuditKind::Failed, Some(&message)),
                ..base
            },
            Action::Retry => JobChange {
                status: JobStatus::Pending,
                restart: true,
                run_at: Some(now),
                audit: audit(AuditKind::Retried, None),
                ..base
            },
            Action::Requeue { run_at, error, count_retry } => JobChange {
                status: JobStatus::Pending,
                run_at: Some(run_at),
                error_message: error.as_deref().map(bounded),
                count_retry,
                // A retry is a new run from the start; a job handed back keeps what it showed.
                restart: count_retry,
                // A failed attempt is kept; a job handed back on shutdown did not fail.
                audit: if count_retry { audit(AuditKind::Retrying, error.as_deref()) } else { None },
                ..base
            },
            Action::Cancel => JobChange {
                status: JobStatus::Cancelled,
                completed_at: Some(now),
                audit: audit(AuditKind::Cancelled, None),
                ..base
            },
        }
    }
}

fn bounded(message: &str) -> String {
    message.chars().take(MAX_ERROR_MESSAGE_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use JobStatus::*;

    fn all_actions() -> Vec<Action> {
        vec![
            Action::Start,
            Action::Progress(50),
            Action::Complete,
            Action::Fail("boom".into()),
            Action::Cancel,
            Action::Retry,
            Action::Requeue { run_at: Utc::now(), error: None, count_retry: true },
        ]
    }

    #[test]
    fn transition_table_matches_the_spec() {
        let legal: Vec<(JobStatus, &str, JobStatus)> = JobStatus::ALL
            .iter()
            .flat_map(|&from| {
                all_actions()
                    .into_iter()
                    .filter(move |a| a.is_allowed_from(from))
                    .map(move |a| (from, a.name(), a.change(Utc::now()).status))
            })
            .collect();
        assert_eq!(
            legal,
            vec![
                (Pending, "start", Running),
                (Pending, "cancel", Cancelled),
                (Running, "progress", Running),
                (Running, "complete", Completed),
                (Running, "fail", Failed),
                (Running, "cancel", Cancelled),
                (Running, "requeue", Pending),
                (Failed, "retry", Pending),
                (Cancelled, "retry", Pending),
            ]
        );
    }

    #[test]
    fn finished_states_allow_only_a_retry_by_hand() {
        for status in JobStatus::ALL.iter().filter(|s| s.is_terminal()) {
            for action in all_actions().into_iter().filter(|a| *a != Action::Retry) {
                assert!(!action.is_allowed_from(*status), "{} from {status}", action.name());
            }
        }
        assert!(!Action::Retry.is_allowed_from(Completed), "a completed job is done");
    }

    #[test]
    fn retry_by_hand_restarts_the_job_now() {
        let now = Utc::now();
        let change = Action::Retry.change(now);
        assert!(change.restart);
        assert_eq!(change.run_at, Some(now));
        assert!(!change.count_retry);
    }

    #[test]
    fn requeue_after_failure_counts_a_retry_and_keeps_the_error() {
        let at = Utc::now();
        let change = Action::Requeue { run_at: at, error: Some("timeout".into()), count_retry: true }.change(at);
        assert_eq!((change.status, change.run_at, change.count_retry), (Pending, Some(at), true));
        assert_eq!(change.error_message.as_deref(), Some("timeout"));
        assert_eq!(change.fenced(3).fence_attempt, Some(3));
    }

    #[test]
    fn progress_is_clamped() {
        let now = Utc::now();
        assert_eq!(Action::Progress(-5).change(now).progress_at_least, Some(0));
        assert_eq!(Action::Progress(250).change(now).progress_at_least, Some(100));
        assert_eq!(Action::Progress(i64::MAX).change(now).progress_at_least, Some(100));
    }

    #[test]
    fn complete_sets_full_progress_and_completion_time() {
        let now = Utc::now();
        let change = Action::Complete.change(now);
        assert_eq!(change.progress_at_least, Some(100));
        assert_eq!(change.completed_at, Some(now));
    }

    #[test]
    fn fail_keeps_a_bounded_message() {
        let change = Action::Fail("x".repeat(50_000)).change(Utc::now());
        assert_eq!(change.error_message.unwrap().chars().count(), MAX_ERROR_MESSAGE_CHARS);
    }

    #[test]
    fn stage_text_is_one_short_line() {
        let change = Action::Progress(5).change(Utc::now()).with_stage(Some(&format!("a\nb{}", "x".repeat(500))));
        let stage = change.stage.unwrap();
        assert!(stage.starts_with("abx") && stage.chars().count() == MAX_STAGE_CHARS, "{stage}");
    }

    #[test]
    fn counts_are_grouped_in_threes() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1\u{2009}000");
        assert_eq!(grouped(1_234_567), "1\u{2009}234\u{2009}567");
    }

    #[test]
    fn failures_retries_and_cancels_are_kept_in_the_audit_trail() {
        let now = Utc::now();
        let kind = |a: Action| a.change(now).audit.map(|a| a.kind);
        assert_eq!(kind(Action::Fail("boom".into())), Some(AuditKind::Failed));
        assert_eq!(kind(Action::Retry), Some(AuditKind::Retried));
        assert_eq!(kind(Action::Cancel), Some(AuditKind::Cancelled));
        let failed_try = Action::Requeue { run_at: now, error: Some("timeout".into()), count_retry: true };
        assert_eq!(failed_try.change(now).audit.unwrap().message.as_deref(), Some("timeout"));
        assert_eq!(
            kind(Action::Requeue { run_at: now, error: None, count_retry: false }),
            None,
            "a shutdown is no failure"
        );
        for quiet in [Action::Start, Action::Progress(5), Action::Complete] {
            assert_eq!(kind(quiet), None, "the job's own timestamps tell these");
        }
        let actor = Actor { user: Uuid::nil(), bulk: true };
        assert_eq!(Action::Retry.change(now).by(actor).audit.unwrap().by, Some(actor));
        assert_eq!(Action::Start.change(now).by(actor).audit, None);
    }

    #[test]
    fn cancel_freezes_progress() {
        assert_eq!(Action::Cancel.change(Utc::now()).progress_at_least, None);
    }
}
