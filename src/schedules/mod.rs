//! Cron schedules that create jobs: at each tick, exactly one job, however many nodes run.
//! `cron.rs` reads patterns and finds ticks (pure); `service.rs` creates schedules and fires
//! due ticks; `routes.rs` is the admin API.

pub mod cron;
pub mod routes;
pub mod service;

use crate::jobs::JobType;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

pub use service::{CreateSchedule, ScheduleError, ScheduleService};

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Schedule {
    pub id: Uuid,
    pub name: String,
    /// Standard cron (5 fields, or 6 with seconds first).
    pub cron: String,
    /// IANA time zone the pattern is read in.
    pub timezone: String,
    pub job_type: JobType,
    pub metadata: Value,
    pub priority: i32,
    pub max_retries: i32,
    pub created_by: Option<Uuid>,
    /// The next tick.
    pub next_run_at: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A schedule about to be inserted.
#[derive(Debug, Clone)]
pub struct NewSchedule {
    pub name: String,
    pub cron: String,
    pub timezone: String,
    pub job_type: JobType,
    pub metadata: Value,
    pub priority: i32,
    pub max_retries: i32,
    pub created_by: Option<Uuid>,
    pub next_run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}
