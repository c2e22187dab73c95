//! Schedules on SQLite.

use super::{SqliteStore, required, time_column, time_text, uuid_column};
use crate::jobs::events::Changed;
use crate::jobs::model::NewJob;
use crate::schedules::{NewSchedule, Schedule};
use crate::storage::schedules::ScheduleStore;
use crate::storage::{Signal, StoreError, StoreResult, parse_column};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

const COLUMNS: &str = "id, name, cron, timezone, job_type, metadata, priority, max_retries, created_by, \
                       next_run_at, last_run_at, created_at";

fn schedule_from_row(row: &SqliteRow) -> StoreResult<Schedule> {
    let raw: String = row.try_get("id")?;
    let id = required(&raw, "id", uuid_column(&raw, row, "id")?)?;
    let metadata: String = row.try_get("metadata")?;
    Ok(Schedule {
        name: row.try_get("name")?,
        cron: row.try_get("cron")?,
        timezone: row.try_get("timezone")?,
        job_type: parse_column(&id, row.try_get("job_type")?)?,
        metadata: serde_json::from_str(&metadata)
            .map_err(|e| StoreError::BadRow { id: raw.clone(), problem: format!("metadata: {e}") })?,
        priority: row.try_get("priority")?,
        max_retries: row.try_get("max_retries")?,
        created_by: uuid_column(&raw, row, "created_by")?,
        next_run_at: required(&raw, "next_run_at", time_column(&raw, row, "next_run_at")?)?,
        last_run_at: time_column(&raw, row, "last_run_at")?,
        created_at: required(&raw, "created_at", time_column(&raw, row, "created_at")?)?,
        id,
    })
}

#[async_trait]
impl ScheduleStore for SqliteStore {
    async fn insert_schedule(&self, s: &NewSchedule) -> StoreResult<Schedule> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "insert into job_schedules (id, name, cron, timezone, job_type, metadata, priority, max_retries, \
             created_by, next_run_at, created_at) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
             returning {COLUMNS}"
        )))
        .bind(Uuid::new_v4().to_string())
        .bind(&s.name)
        .bind(&s.cron)
        .bind(&s.timezone)
        .bind(s.job_type.as_str())
        .bind(s.metadata.to_string())
        .bind(s.priority)
        .bind(s.max_retries)
        .bind(s.created_by.map(|u| u.to_string()))
        .bind(time_text(s.next_run_at))
        .bind(time_text(s.created_at))
        .fetch_one(&self.pool)
        .await?;
        schedule_from_row(&row)
    }

    async fn list_schedules(&self) -> StoreResult<Vec<Schedule>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("select {COLUMNS} from job_schedules order by name")))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(schedule_from_row).collect()
    }

    async fn delete_schedule(&self, id_or_name: &str) -> StoreResult<bool> {
        // No foreign key here (see the migration): clear the jobs' reference by hand.
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "update background_jobs set schedule_id = null \
             where schedule_id in (select id from job_schedules where id = ?1 or name = ?1)",
        )
        .bind(id_or_name)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query("delete from job_schedules where id = ?1 or name = ?1")
            .bind(id_or_name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted > 0)
    }

    async fn due_schedules(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Schedule>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "select {COLUMNS} from job_schedules where next_run_at <= ?1 order by next_run_at limit ?2"
        )))
        .bind(time_text(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(schedule_from_row).collect()
    }

    async fn postpone_schedule(&self, id: Uuid, tick: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<bool> {
        let moved = sqlx::query("update job_schedules set next_run_at = ?3 where id = ?1 and next_run_at = ?2")
            .bind(id.to_string())
            .bind(time_text(tick))
            .bind(time_text(to))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(moved > 0)
    }

    async fn fire_schedule(
        &self,
        schedule: &Schedule,
        tick: DateTime<Utc>,
        next: DateTime<Utc>,
        job: &NewJob,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "update job_schedules set next_run_at = ?3, last_run_at = ?2 where id = ?1 and next_run_at = ?2",
        )
        .bind(schedule.id.to_string())
        .bind(time_text(tick))
        .bind(time_text(next))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        let id = crate::storage::new_job_id();
        super::bind_new_job(
            sqlx::query(
                "insert into background_jobs (id, job_type, created_by, related_dataset_id, metadata, created_at, \
             run_at, priority, max_retries, schedule_id) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .bind(id.to_string()),
            job,
        )
        .bind(schedule.id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.events.publish([Changed { id, owner: job.created_by, version: 1 }]);
        self.signal(Signal::NewJobs);
        Ok(true)
    }
}
