//! Schedules on PostgreSQL.

use super::NOTIFIED;
use super::PgStore;
use crate::jobs::events::Changed;
use crate::jobs::model::NewJob;
use crate::schedules::{NewSchedule, Schedule};
use crate::storage::schedules::ScheduleStore;
use crate::storage::{StoreResult, parse_column};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use uuid::Uuid;

const COLUMNS: &str = "id, name, cron, timezone, job_type, metadata, priority, max_retries, created_by, \
                       next_run_at, last_run_at, created_at";

fn schedule_from_row(row: &PgRow) -> StoreResult<Schedule> {
    let id: Uuid = row.try_get("id")?;
    Ok(Schedule {
        name: row.try_get("name")?,
        cron: row.try_get("cron")?,
        timezone: row.try_get("timezone")?,
        job_type: parse_column(&id, row.try_get("job_type")?)?,
        metadata: row.try_get::<Json<Value>, _>("metadata")?.0,
        priority: row.try_get("priority")?,
        max_retries: row.try_get("max_retries")?,
        created_by: row.try_get("created_by")?,
        next_run_at: row.try_get("next_run_at")?,
        last_run_at: row.try_get("last_run_at")?,
        created_at: row.try_get("created_at")?,
        id,
    })
}

#[async_trait]
impl ScheduleStore for PgStore {
    async fn insert_schedule(&self, s: &NewSchedule) -> StoreResult<Schedule> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "insert into job_schedules (name, cron, timezone, job_type, metadata, priority, max_retries, created_by, \
             next_run_at, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning {COLUMNS}"
        )))
        .bind(&s.name)
        .bind(&s.cron)
        .bind(&s.timezone)
        .bind(s.job_type.as_str())
        .bind(Json(&s.metadata))
        .bind(s.priority)
        .bind(s.max_retries)
        .bind(s.created_by)
        .bind(s.next_run_at)
        .bind(s.created_at)
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
        // No foreign key (see the migration): clear the jobs' reference by hand. Deleting first
        // waits for a tick being fired, so the clearing that follows sees that tick's job too.
        let mut tx = self.pool.begin().await?;
        let deleted: Vec<Uuid> =
            sqlx::query_scalar("delete from job_schedules where id::text = $1 or name = $1 returning id")
                .bind(id_or_name)
                .fetch_all(&mut *tx)
                .await?;
        sqlx::query("update background_jobs set schedule_id = null where schedule_id = any($1)")
            .bind(&deleted)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(!deleted.is_empty())
    }

    async fn due_schedules(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Schedule>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "select {COLUMNS} from job_schedules where next_run_at <= $1 order by next_run_at limit $2"
        )))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(schedule_from_row).collect()
    }

    async fn postpone_schedule(&self, id: Uuid, tick: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<bool> {
        let moved = sqlx::query("update job_schedules set next_run_at = $3 where id = $1 and next_run_at = $2")
            .bind(id)
            .bind(tick)
            .bind(to)
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
            "update job_schedules set next_run_at = $3, last_run_at = $2 where id = $1 and next_run_at = $2",
        )
        .bind(schedule.id)
        .bind(tick)
        .bind(next)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        let id = crate::storage::new_job_id();
        let write = "insert into background_jobs (job_type, created_by, related_dataset_id, metadata, created_at, \
                     run_at, priority, max_retries, schedule_id, id) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     returning created_by";
        let sql = format!(
            "{} select {NOTIFIED} from w, (select pg_notify('{}', '')) wake",
            self.notifying("", write, "true"),
            super::queue::NEW_JOBS_CHANNEL
        );
        super::bind_new_job(sqlx::query(sqlx::AssertSqlSafe(sql)), job)
            .bind(schedule.id)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        self.events.publish([Changed { id, owner: job.created_by, version: 1 }]);
        Ok(true)
    }
}
