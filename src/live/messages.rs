//! What a live socket sends: a snapshot, then one message per job change. Each job is
//! rendered once per read and the same bytes go to every socket watching it.

use crate::jobs::model::{Job, JobStatus, ViewedAt};
use crate::jobs::routes::JobResponse;
use axum::extract::ws::Utf8Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A message on `GET /api/v2/jobs/ws` (server to client; clients send nothing).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage {
    /// Every job in view, as `GET /jobs/active` would answer: replaces whatever the client
    /// holds. The first message; sent again whenever changes may have been missed.
    Snapshot {
        reason: SnapshotReason,
        /// Newest first.
        jobs: Vec<JobResponse>,
    },
    /// One job changed. A job's messages arrive in growing `version` order; when a job
    /// changes faster than 10 times a second, only its latest progress is sent.
    Job { job: JobResponse },
}

/// Why a snapshot was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotReason {
    /// The socket just opened.
    Connected,
    /// The node may have missed other nodes' changes (its database listener reconnected).
    Resync,
    /// The client read too slowly and its queued messages were dropped.
    Overflow,
}

impl SnapshotReason {
    fn as_str(self) -> &'static str {
        match self {
            SnapshotReason::Connected => "connected",
            SnapshotReason::Resync => "resync",
            SnapshotReason::Overflow => "overflow",
        }
    }
}

/// One job as read for the sockets watching it.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub id: Uuid,
    pub owner: Option<Uuid>,
    pub version: i64,
    pub status: JobStatus,
    pub stalled: bool,
    /// When it becomes stalled if nothing more is heard of it (running jobs only).
    pub stalls_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The `JobResponse` JSON.
    json: String,
    /// The whole `{"type":"job",…}` message.
    message: Utf8Bytes,
}

impl Rendered {
    pub fn new(job: Job, seen: ViewedAt) -> Self {
        let stalls_at = job.stalls_at(seen.stalled_after);
        let (id, owner, version, status, completed_at) =
            (job.id, job.created_by, job.version, job.status, job.completed_at);
        let response = JobResponse::new(job, seen);
        let stalled = response.stalled;
        let json = serde_json::to_string(&response).expect("a job response serialises");
        let message = format!(r#"{{"type":"job","job":{json}}}"#).into();
        Rendered { id, owner, version, status, stalled, stalls_at, completed_at, json, message }
    }

    pub fn message(&self) -> Utf8Bytes {
        self.message.clone()
    }
}

/// The snapshot message of `jobs` (newest first).
pub fn snapshot(reason: SnapshotReason, jobs: &[Rendered]) -> Utf8Bytes {
    let mut out = String::with_capacity(48 + jobs.iter().map(|j| j.json.len() + 1).sum::<usize>());
    out.push_str(r#"{"type":"snapshot","reason":""#);
    out.push_str(reason.as_str());
    out.push_str(r#"","jobs":["#);
    for (i, job) in jobs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&job.json);
    }
    out.push_str("]}");
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::model::JobType;
    use serde_json::json;

    fn job(status: JobStatus) -> Job {
        let now = Utc::now();
        Job {
            id: Uuid::new_v4(),
            job_type: JobType::Import,
            status,
            progress: 40,
            related_dataset_id: None,
            created_by: Some(Uuid::new_v4()),
            created_at: now,
            started_at: Some(now),
            completed_at: None,
            error_message: None,
            retry_count: 0,
            max_retries: 3,
            metadata: json!({"filename": "a.csv"}),
            priority: 0,
            run_at: now,
            attempt: 1,
            cancel_requested_at: None,
            version: 7,
            stage: Some("parsing".into()),
            heartbeat_at: None,
        }
    }

    #[test]
    fn hand_built_messages_are_what_the_documented_types_serialise_to() {
        let seen = ViewedAt { now: Utc::now(), stalled_after: chrono::Duration::seconds(20) };
        let (a, b) = (job(JobStatus::Running), job(JobStatus::Pending));
        let rendered = [Rendered::new(a.clone(), seen), Rendered::new(b.clone(), seen)];

        let parsed: LiveMessage = serde_json::from_str(rendered[0].message().as_str()).unwrap();
        let LiveMessage::Job { job } = parsed else { panic!("a job message") };
        assert_eq!(
            serde_json::to_value(&job).unwrap(),
            serde_json::to_value(JobResponse::new(a.clone(), seen)).unwrap()
        );

        let text = snapshot(SnapshotReason::Resync, &rendered);
        let value: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
        let expected = serde_json::to_value(LiveMessage::Snapshot {
            reason: SnapshotReason::Resync,
            jobs: vec![JobResponse::new(a, seen), JobResponse::new(b, seen)],
        })
        .unwrap();
        assert_eq!(value, expected);
        let empty: serde_json::Value = serde_json::from_str(snapshot(SnapshotReason::Connected, &[]).as_str()).unwrap();
        assert_eq!(empty, json!({"type": "snapshot", "reason": "connected", "jobs": []}));
    }

    #[test]
    fn a_running_job_knows_when_it_would_stall() {
        let seen = ViewedAt { now: Utc::now(), stalled_after: chrono::Duration::seconds(20) };
        let running = job(JobStatus::Running);
        let started = running.started_at.unwrap();
        let r = Rendered::new(running, seen);
        assert_eq!(r.stalls_at, Some(started + chrono::Duration::seconds(20)));
        assert!(!r.stalled);
        assert_eq!(Rendered::new(job(JobStatus::Pending), seen).stalls_at, None);
    }
}
