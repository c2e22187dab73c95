//! The queue on SQLite: one writer at a time makes every claim atomic; workers in this
//! process are woken through an in-process broadcast.

use super::{SqliteStore, job_from_row, required, time_text, uuid_column};
use crate::jobs::model::{Job, JobType, NewJob};
use crate::storage::queue::{Beat, ClaimKey, Held, LEASE_EXPIRED, Listener, Queue, Signal};
use crate::storage::{StoreResult, parse_column};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;
use tokio::sync::broadcast;
use uuid::Uuid;

fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).expect("plain values serialise")
}

impl SqliteStore {
    pub(super) fn signal(&self, signal: Signal) {
        // No receiver just means no worker runs in this process.
        let _ = self.signals.send(signal);
    }
}

#[async_trait]
impl Queue for SqliteStore {
    async fn insert_jobs(&self, jobs: &[NewJob]) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        for job in jobs {
            super::bind_new_job(
                sqlx::query(
                    "insert into background_jobs (id, job_type, created_by, related_dataset_id, metadata, created_at, \
                 run_at, priority, max_retries) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .bind(crate::storage::new_job_id().to_string()),
                job,
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.signal(Signal::NewJobs);
        Ok(jobs.len() as u64)
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        types: &[JobType],
        limit: u32,
        after: ClaimKey,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Vec<Job>> {
        if types.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
        let rows = sqlx::query(concat!(
            "update background_jobs set status = 'running', started_at = ?1, attempt = attempt + 1, \
               lease_expires_at = ?4, locked_by = ?5, cancel_requested_at = null \
             where id in ( \
               select id from background_jobs indexed by background_jobs_claim_idx \
               where status = 'pending' and run_at <= ?1 and job_type in (select value from json_each(?2)) \
                 and ((-priority), run_at, id) > (?6, ?7, ?8) \
               order by (-priority), run_at, id limit ?3) \
             returning ",
            job_columns!()
        ))
        .bind(time_text(now))
        .bind(json_list(&names))
        .bind(i64::from(limit))
        .bind(time_text(lease_until))
        .bind(worker)
        .bind(after.priority.checked_neg().unwrap_or(i32::MIN))
        .bind(time_text(after.run_at))
        .bind(after.id.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut jobs = rows.iter().map(job_from_row).collect::<StoreResult<Vec<_>>>()?;
        jobs.sort_by_key(|j| (-i64::from(j.priority), j.run_at, j.id));
        Ok(jobs)
    }

    async fn complete_jobs(&self, done: &[(Uuid, i32)], now: DateTime<Utc>) -> StoreResult<u64> {
        self.update_held(
            done,
            "status = 'completed', progress = 100, completed_at = ?1, \
             lease_expires_at = null, locked_by = null, cancel_requested_at = null",
            now,
        )
        .await
    }

    async fn release_jobs(&self, jobs: &[(Uuid, i32)], now: DateTime<Utc>) -> StoreResult<u64> {
        // Old values on the right: a requested cancel decides where the job goes.
        self.update_held(
            jobs,
            "status = case when cancel_requested_at is null then 'pending' else 'cancelled' end, \
             run_at = case when cancel_requested_at is null then ?1 else run_at end, \
             completed_at = case when cancel_requested_at is null then completed_at else ?1 end, \
             lease_expires_at = null, locked_by = null, cancel_requested_at = null",
            now,
        )
        .await
    }

    async fn transfer_job(
        &self,
        id: Uuid,
        attempt: i32,
        from: &str,
        to: &str,
        lease_until: DateTime<Utc>,
        progress: i32,
        metadata: &serde_json::Value,
    ) -> StoreResult<Option<Job>> {
        let sql = concat!(
            "update background_jobs set locked_by = ?4, lease_expires_at = ?5, progress = max(progress, ?6), \
               metadata = json_patch(metadata, ?7) \
             where id = ?1 and attempt = ?2 and status = 'running' and locked_by = ?3 \
               and cancel_requested_at is null \
             returning ",
            job_columns!()
        );
        let row = sqlx::query(sql)
            .bind(id.to_string())
            .bind(attempt)
            .bind(from)
            .bind(to)
            .bind(time_text(lease_until))
            .bind(progress)
            .bind(metadata.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn renew_leases(&self, worker: &str, beats: &[Beat], lease_until: DateTime<Utc>) -> StoreResult<Vec<Held>> {
        if beats.is_empty() {
            return Ok(Vec::new());
        }
        let beats: Vec<_> = beats
            .iter()
            .map(|b| json!({"id": b.id.to_string(), "attempt": b.attempt, "progress": b.progress}))
            .collect();
        let rows = sqlx::query(
            "update background_jobs set lease_expires_at = ?2, \
               progress = max(background_jobs.progress, coalesce(b.progress, background_jobs.progress)) \
             from (select json_extract(value, '$.id') as id, json_extract(value, '$.attempt') as attempt, \
                          json_extract(value, '$.progress') as progress from json_each(?3)) as b \
             where background_jobs.id = b.id and background_jobs.attempt = b.attempt \
               and background_jobs.status = 'running' and background_jobs.locked_by = ?1 \
             returning background_jobs.id as id, background_jobs.cancel_requested_at is not null as cancel_requested",
        )
        .bind(worker)
        .bind(time_text(lease_until))
        .bind(json_list(&beats))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                let id = Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                Ok(Held { id, cancel_requested: r.try_get("cancel_requested")? })
            })
            .collect()
    }

    async fn rescue_expired(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<u64> {
        let rescued = sqlx::query(
            "update background_jobs set \
               status = case when cancel_requested_at is not null then 'cancelled' \
                             when retry_count < max_retries then 'pending' else 'failed' end, \
               retry_count = retry_count + \
                 case when cancel_requested_at is null and retry_count < max_retries then 1 else 0 end, \
               error_message = case when cancel_requested_at is null then ?3 else error_message end, \
               completed_at = case when cancel_requested_at is null and retry_count < max_retries \
                                   then null else ?1 end, \
               progress = case when cancel_requested_at is null and retry_count < max_retries \
                               then 0 else progress end, \
               run_at = ?1, lease_expires_at = null, locked_by = null, cancel_requested_at = null \
             where id in ( \
               select id from background_jobs where status = 'running' and lease_expires_at < ?1 \
               order by lease_expires_at limit ?2)",
        )
        .bind(time_text(now))
        .bind(i64::from(limit))
        .bind(LEASE_EXPIRED)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if rescued > 0 {
            self.signal(Signal::NewJobs);
        }
        Ok(rescued)
    }

    async fn request_cancel(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<Option<Job>> {
        let row = sqlx::query(concat!(
            "update background_jobs set \
               status = case when status = 'running' and locked_by is not null then status else 'cancelled' end, \
               completed_at = case when status = 'running' and locked_by is not null then completed_at else ?2 end, \
               cancel_requested_at = case when status = 'running' and locked_by is not null \
                                          then coalesce(cancel_requested_at, ?2) end \
             where id = ?1 and status in ('pending', 'running') \
             returning ",
            job_columns!()
        ))
        .bind(id.to_string())
        .bind(time_text(now))
        .fetch_optional(&self.pool)
        .await?;
        let job = row.as_ref().map(job_from_row).transpose()?;
        if job.as_ref().is_some_and(|j| j.cancel_requested_at.is_some()) {
            self.signal(Signal::CancelRequested(id));
        }
        Ok(job)
    }

    async fn prune_finished(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<Vec<(Uuid, JobType)>> {
        let rows = sqlx::query(
            "delete from background_jobs where id in ( \
               select id from background_jobs \
               where status in ('completed', 'failed', 'cancelled') and completed_at < ?1 \
               order by completed_at limit ?2) \
             returning id, job_type",
        )
        .bind(time_text(before))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let raw: String = r.try_get("id")?;
                let id = required(&raw, "id", uuid_column(&raw, r, "id")?)?;
                let job_type: String = r.try_get("job_type")?;
                Ok((id, parse_column(&id, &job_type)?))
            })
            .collect()
    }

    async fn signal_new_jobs(&self) -> StoreResult<()> {
        self.signal(Signal::NewJobs);
        Ok(())
    }

    async fn listen(&self) -> StoreResult<Box<dyn Listener>> {
        Ok(Box::new(LocalSignals(self.signals.subscribe())))
    }
}

struct LocalSignals(broadcast::Receiver<Signal>);

#[async_trait]
impl Listener for LocalSignals {
    async fn next(&mut self) -> Signal {
        match self.0.recv().await {
            Ok(signal) => signal,
            // Lagged: some signals were dropped, so look for work. Closed cannot happen while
            // the store lives; pend rather than spin if it ever does.
            Err(broadcast::error::RecvError::Lagged(_)) => Signal::NewJobs,
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

impl SqliteStore {
    /// `set` (with `?1` = `now`) on the running jobs among `jobs`, each fenced on its attempt.
    async fn update_held(&self, jobs: &[(Uuid, i32)], set: &str, now: DateTime<Utc>) -> StoreResult<u64> {
        let jobs: Vec<_> = jobs.iter().map(|(id, attempt)| json!({"id": id.to_string(), "attempt": attempt})).collect();
        let sql = format!(
            "update background_jobs set {set} \
             from (select json_extract(value, '$.id') as id, json_extract(value, '$.attempt') as attempt \
                   from json_each(?2)) as d \
             where background_jobs.id = d.id and background_jobs.attempt = d.attempt \
               and background_jobs.status = 'running'"
        );
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(time_text(now))
            .bind(json_list(&jobs))
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
