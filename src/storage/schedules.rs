//! Storing cron schedules, and firing a tick exactly once across nodes.

use super::StoreResult;
use crate::jobs::model::NewJob;
use crate::schedules::{NewSchedule, Schedule};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
pub trait ScheduleStore: Send + Sync {
    async fn insert_schedule(&self, schedule: &NewSchedule) -> StoreResult<Schedule>;
    async fn list_schedules(&self) -> StoreResult<Vec<Schedule>>;
    /// Delete the schedule with this id or name; its jobs stay. False when there was none.
    async fn delete_schedule(&self, id_or_name: &str) -> StoreResult<bool>;
    /// Schedules whose next tick is at or before `now`, earliest first.
    async fn due_schedules(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Schedule>>;
    /// In one transaction: move the schedule from `tick` to `next` — only if it is still at
    /// `tick` — and insert `job` for that tick. False when another node fired it first.
    async fn fire_schedule(
        &self,
        schedule: &Schedule,
        tick: DateTime<Utc>,
        next: DateTime<Utc>,
        job: &NewJob,
    ) -> StoreResult<bool>;
    /// Move the schedule from `tick` to `to` without firing — only if it is still at `tick`.
    async fn postpone_schedule(&self, id: Uuid, tick: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<bool>;
}
