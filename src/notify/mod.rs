//! Telling users how their jobs ended. Email: a user opts in (`PATCH /api/v2/auth/me`); when a
//! job of theirs ends, a trigger records the outcome in the same transaction
//! (`storage::NotifyStore`); a maintenance pass ([`digest::start_due`]) turns a user's waiting
//! outcomes into one digest job once the burst is over; the digest job ([`EmailHandler`])
//! renders and sends them, retried with backoff like any job. See docs/notifications.md.

pub mod digest;
mod email_job;
mod mailer;
mod message;
pub mod routes;

pub use email_job::{EmailHandler, Mail};
pub use mailer::Mailer;

use crate::jobs::{JobStatus, JobType};
use chrono::{DateTime, Utc};
use std::time::Duration;
use uuid::Uuid;

crate::text_enum! {
    /// Which outcomes of their own jobs a user is mailed about.
    pub enum EmailNotify as "email" {
        Off => "off",
        Failures => "failures",
        All => "all",
    }
}

/// Who a user's digest goes to, as the user is now.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    pub email: String,
    pub notify: EmailNotify,
    /// Disabled users are sent nothing.
    pub disabled: bool,
}

/// One finished job in a digest.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestLine {
    pub job_id: Uuid,
    pub job_type: JobType,
    pub status: JobStatus,
    pub finished_at: DateTime<Utc>,
    /// The file an import read, when the job is still kept.
    pub file_name: Option<String>,
    pub error_message: Option<String>,
}

/// When a user's waiting outcomes become a digest: once no new one came for `quiet`, or once
/// the oldest has waited `max_wait`, whichever is first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestTiming {
    pub quiet: Duration,
    pub max_wait: Duration,
}

impl Default for DigestTiming {
    fn default() -> Self {
        Self { quiet: Duration::from_secs(10), max_wait: Duration::from_secs(60) }
    }
}

/// How mail is written and sent.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `From:` of every email.
    pub from: String,
    /// Where the page is served, for links to jobs (`JOBWATCH_PUBLIC_URL`).
    pub public_url: String,
}
