//! Creating, listing and deleting schedules, and firing due ticks.

use super::cron::CronSpec;
use super::{NewSchedule, Schedule};
use crate::clock::Clock;
use crate::jobs::JobType;
use crate::jobs::model::NewJob;
use crate::jobs::service::job_options;
use crate::storage::{Store, StoreError, unique};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

/// Due schedules handled per pass.
const BATCH: u32 = 100;

/// How long a schedule whose cron or time zone cannot be read waits before it is read again.
const UNREADABLE_RETRY: chrono::Duration = chrono::Duration::hours(1);

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("{0}")]
    Invalid(String),
    #[error("a schedule with this name already exists")]
    NameTaken,
    #[error("schedule not found")]
    NotFound,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ScheduleError {
    fn from(err: StoreError) -> Self {
        match err {
            e if e.violates(unique::SCHEDULE_NAME) => ScheduleError::NameTaken,
            other => ScheduleError::Store(other),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CreateSchedule {
    pub name: String,
    pub cron: String,
    pub timezone: Option<String>,
    pub job_type: JobType,
    pub metadata: Option<Value>,
    pub priority: Option<i32>,
    pub max_retries: Option<i32>,
    /// Owner of the jobs it creates (they show in this user's active list).
    pub created_by: Option<Uuid>,
}

#[derive(Clone)]
pub struct ScheduleService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

fn invalid(message: impl Into<String>) -> ScheduleError {
    ScheduleError::Invalid(message.into())
}

impl ScheduleService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub async fn create(&self, req: CreateSchedule) -> Result<Schedule, ScheduleError> {
        let Some(name) = crate::names::parse(&req.name) else {
            return Err(invalid(format!(
                "name must be 1 to {} characters, not blank, without control characters",
                crate::names::MAX_CHARS
            )));
        };
        let timezone = req.timezone.unwrap_or_else(|| "UTC".into());
        let spec = CronSpec::parse(&req.cron, &timezone).map_err(invalid)?;
        let (metadata, priority, max_retries) =
            job_options(req.job_type, req.metadata, req.priority, req.max_retries).map_err(invalid)?;
        let now = self.clock.now();
        let new = NewSchedule {
            name: name.to_owned(),
            cron: req.cron.trim().to_owned(),
            timezone,
            job_type: req.job_type,
            metadata,
            priority,
            max_retries,
            created_by: req.created_by,
            next_run_at: spec.next_after(now).map_err(invalid)?,
            created_at: now,
        };
        Ok(self.store.insert_schedule(&new).await?)
    }

    pub async fn list(&self) -> Result<Vec<Schedule>, ScheduleError> {
        Ok(self.store.list_schedules().await?)
    }

    pub async fn delete(&self, id_or_name: &str) -> Result<(), ScheduleError> {
        match self.store.delete_schedule(id_or_name).await? {
            true => Ok(()),
            false => Err(ScheduleError::NotFound),
        }
    }

    /// Create the job of every due tick, once across all nodes; returns how many were made.
    /// Ticks missed while no node ran are not replayed: one job for the latest, then on.
    pub async fn fire_due(&self) -> Result<usize, ScheduleError> {
        let now = self.clock.now();
        let mut fired = 0;
        for schedule in self.store.due_schedules(now, BATCH).await? {
            let tick = schedule.next_run_at;
            let next = CronSpec::parse(&schedule.cron, &schedule.timezone)
                .and_then(|spec| spec.next_after(now.max(tick)).map_err(|e| e.to_string()));
            let next = match next {
                Ok(next) => next,
                // Written by hand, past the API's checks. Left due, it would be read again on
                // every pass and, a batch of them, keep the good schedules from firing.
                Err(err) => {
                    tracing::error!(schedule = %schedule.name, error = %err, "schedule cannot be read; postponed an hour");
                    match self.store.postpone_schedule(schedule.id, tick, now + UNREADABLE_RETRY).await {
                        Ok(_) => {}
                        Err(err @ StoreError::Unavailable(_)) => return Err(err.into()),
                        Err(err) => tracing::error!(schedule = %schedule.name, error = %err, "postponing failed"),
                    }
                    continue;
                }
            };
            let job = NewJob {
                job_type: schedule.job_type,
                created_by: schedule.created_by,
                related_dataset_id: None,
                metadata: schedule.metadata.clone(),
                created_at: now,
                run_at: tick,
                priority: schedule.priority,
                max_retries: schedule.max_retries,
            };
            // One schedule's failure (say its owner was deleted mid-pass) must not hold up the
            // rest; a database that is away ends the pass.
            match self.store.fire_schedule(&schedule, tick, next, &job).await {
                Ok(true) => fired += 1,
                Ok(false) => {}
                Err(err @ StoreError::Unavailable(_)) => return Err(err.into()),
                Err(err) => tracing::error!(schedule = %schedule.name, error = %err, "firing a schedule failed"),
            }
        }
        Ok(fired)
    }
}
