//! A job's timeline: its audit trail (what people did, every failed attempt) interleaved with
//! the transitions its own timestamps tell (created, started, completed). Pure: the store
//! reads the rows, this puts them in order.

use super::model::{Job, JobStatus};
use super::state::AuditKind;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// One row of `job_audit`, with its actor's email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    pub kind: AuditKind,
    pub actor: Option<Uuid>,
    pub actor_email: Option<String>,
    pub attempt: Option<i32>,
    pub message: Option<String>,
    pub bulk: bool,
}

crate::text_enum! {
    /// What happened at one point of a job's life.
    pub enum TimelineEvent as "event" {
        // It was made (by `actor`, its owner).
        Created => "created",
        // Its current attempt started (earlier attempts show as `retrying`).
        Started => "started",
        // An attempt failed; it will run again (`message` says why).
        Retrying => "retrying",
        // A person asked it to stop while it ran.
        Stopping => "stopping",
        // A person put it back in the queue.
        Retried => "retried",
        Completed => "completed",
        // It failed for good (`message` says why).
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TimelineActor {
    pub id: Uuid,
    /// Null once the user is gone.
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub event: TimelineEvent,
    /// Which run, for starts and failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<i32>,
    /// Who did it, for what people did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<TimelineActor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Done as part of a bulk action.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub bulk: bool,
}

fn entry(at: DateTime<Utc>, event: TimelineEvent) -> TimelineEntry {
    TimelineEntry { at, event, attempt: None, actor: None, message: None, bulk: false }
}

/// The job's life in order. `owner_email` names who created it.
pub fn timeline(job: &Job, audit: Vec<AuditRecord>, owner_email: Option<String>) -> Vec<TimelineEntry> {
    let mut entries = vec![TimelineEntry {
        actor: job.created_by.map(|id| TimelineActor { id, email: owner_email }),
        ..entry(job.created_at, TimelineEvent::Created)
    }];
    let recorded_end = audit.iter().any(|a| matches!(a.kind, AuditKind::Failed | AuditKind::Cancelled));
    for a in audit {
        let event = match a.kind {
            AuditKind::Cancelled => TimelineEvent::Cancelled,
            AuditKind::Stopping => TimelineEvent::Stopping,
            AuditKind::Retried => TimelineEvent::Retried,
            AuditKind::Retrying => TimelineEvent::Retrying,
            AuditKind::Failed => TimelineEvent::Failed,
        };
        entries.push(TimelineEntry {
            attempt: a.attempt.filter(|n| *n > 0),
            actor: a.actor.map(|id| TimelineActor { id, email: a.actor_email }),
            message: a.message,
            bulk: a.bulk,
            ..entry(a.at, event)
        });
    }
    if let Some(at) = job.started_at {
        entries
            .push(TimelineEntry { attempt: Some(job.attempt).filter(|n| *n > 0), ..entry(at, TimelineEvent::Started) });
    }
    // How it ended: completion has no audit row; a failure or cancel made by plain SQL neither.
    if let Some(at) = job.completed_at {
        let event = match job.status {
            JobStatus::Completed => Some(TimelineEvent::Completed),
            JobStatus::Failed if !recorded_end => Some(TimelineEvent::Failed),
            JobStatus::Cancelled if !recorded_end => Some(TimelineEvent::Cancelled),
            _ => None,
        };
        let attempt = Some(job.attempt).filter(|n| *n > 0);
        entries.extend(event.map(|e| TimelineEntry { message: job.error_message.clone(), attempt, ..entry(at, e) }));
    }
    // At one instant (clocks are coarse), a run starts before it is stopped or ends.
    entries.sort_by_key(|e| (e.at, e.attempt.unwrap_or(0), rank(e.event)));
    entries
}

fn rank(event: TimelineEvent) -> u8 {
    match event {
        TimelineEvent::Created => 0,
        TimelineEvent::Retried => 1,
        TimelineEvent::Started => 2,
        TimelineEvent::Stopping => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn record(kind: AuditKind, at: DateTime<Utc>, attempt: i32, message: Option<&str>) -> AuditRecord {
        AuditRecord {
            at,
            kind,
            actor: None,
            actor_email: None,
            attempt: Some(attempt),
            message: message.map(Into::into),
            bulk: false,
        }
    }

    #[test]
    fn a_job_that_failed_once_then_completed_tells_each_step_in_order() {
        let t0 = Utc::now();
        let mut job = crate::worker::processing::tests::sample_job(serde_json::json!({}));
        job.created_by = Some(Uuid::nil());
        job.created_at = t0;
        job.status = JobStatus::Completed;
        job.attempt = 2;
        job.started_at = Some(t0 + Duration::seconds(5));
        job.completed_at = Some(t0 + Duration::seconds(9));
        let audit = vec![record(AuditKind::Retrying, t0 + Duration::seconds(3), 1, Some("timeout"))];
        let events: Vec<_> =
            timeline(&job, audit, Some("ann@example.com".into())).into_iter().map(|e| (e.event, e.attempt)).collect();
        assert_eq!(
            events,
            vec![
                (TimelineEvent::Created, None),
                (TimelineEvent::Retrying, Some(1)),
                (TimelineEvent::Started, Some(2)),
                (TimelineEvent::Completed, Some(2)),
            ]
        );
    }

    #[test]
    fn an_end_recorded_in_the_trail_is_not_told_twice() {
        let t0 = Utc::now();
        let mut job = crate::worker::processing::tests::sample_job(serde_json::json!({}));
        job.created_at = t0;
        job.status = JobStatus::Failed;
        job.started_at = Some(t0);
        job.completed_at = Some(t0 + Duration::seconds(1));
        let audit = vec![record(AuditKind::Failed, t0 + Duration::seconds(1), 1, Some("bad row"))];
        let failed: Vec<_> =
            timeline(&job, audit, None).into_iter().filter(|e| e.event == TimelineEvent::Failed).collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].message.as_deref(), Some("bad row"));
        // Failed by plain SQL: no audit row, so the job's own fields tell it.
        job.error_message = Some("by hand".into());
        let told = timeline(&job, vec![], None);
        assert_eq!(
            told.last().map(|e| (e.event, e.message.as_deref())),
            Some((TimelineEvent::Failed, Some("by hand")))
        );
    }
}
