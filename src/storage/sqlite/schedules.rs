//! Schedules on SQLite.

use super::{SqliteStore, time_text};
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

fn bad(id: &str, problem: impl std::fmt::Display) -> StoreError {
    StoreError::BadRow { id: id.to_owned(), problem: problem.to_string() }
}

fn time(id: &str, text: Option<String>) -> StoreResult<Option<DateTime<Utc>>> {
    text.map(|t| DateTime::parse_from_rfc3339(&t).map(|t| t.with_timezone(&Utc)).map_err(|e| bad(id, e))).transpose()
}

fn schedule_from_row(row: &SqliteRow) -> StoreResult<Schedule> {
    let raw: String = row.try_get("id")?;
    let id = Uuid::parse_str(&raw).map_err(|e| bad(&raw, e))?;
    let created_by: Option<String> = row.try_get("created_by")?;
    let metadata: String = row.try_get("metadata")?;
    Ok(Schedule {
        name: row.try_get("name")?,
        cron: row.try_get("cron")?,
        timezone: row.try_get("timezone")?,
        job_type: parse_column(&id, row.try_get("job_type")?)?,
        metadata: serde_json::from_str(&metadata).map_err(|e| bad(&raw, e))?,
        priority: row.try_get("priority")?,
        max_retries: row.try_get("max_retries")?,
        created_by: created_by.map(|u| Uuid::parse_str(&u).map_err(|e| bad(&raw, e))).transpose()?,
        next_run_at: time(&raw, row.try_get("next_run_at")?)?.ok_or_else(|| bad(&raw, "next_run_at is null"))?,
        last_run_at: time(&raw, row.try_get("last_run_at")?)?,
        created_at: time(&raw, row.try_get("created_at")?)?.ok_or_else(|| bad(&raw, "created_at is null"))?,
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
        sqlx::query(
            "insert into background_jobs (id, job_type, created_by, related_dataset_id, metadata, created_at, \
             run_at, priority, max_retries, schedule_id) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .bind(crate::storage::new_job_id().to_string())
        .bind(job.job_type.as_str())
        .bind(job.created_by.map(|u| u.to_string()))
        .bind(job.related_dataset_id.map(|u| u.to_string()))
        .bind(job.metadata.to_string())
        .bind(time_text(job.created_at))
        .bind(time_text(job.run_at))
        .bind(job.priority)
        .bind(job.max_retries)
        .bind(schedule.id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.signal(Signal::NewJobs);
        Ok(true)
    }
}
