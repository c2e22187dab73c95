//! The queue on SQLite: one writer at a time makes every claim atomic; workers in this
//! process are woken through an in-process broadcast.

use super::{SqliteStore, changed_from_row, insert_audit, job_from_row, json_list, required, time_text, uuid_column};
use crate::jobs::events::Changed;
use crate::jobs::model::JobStatus;
use crate::jobs::model::{Job, JobType, NewJob};
use crate::jobs::state::{Actor, AuditKind, bounded_stage};
use crate::storage::queue::{Beat, ClaimKey, Held, LEASE_EXPIRED, Listener, Queue, Signal};
use crate::storage::{StoreResult, Written, parse_column};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;
use tokio::sync::broadcast;
use uuid::Uuid;

impl SqliteStore {
    pub(super) fn signal(&self, signal: Signal) {
        // No receiver just means no worker runs in this process.
        let _ = self.signals.send(signal);
    }
}

#[async_trait]
impl Queue for SqliteStore {
    async fn insert_jobs(&self, jobs: &[NewJob]) -> StoreResult<Written> {
        let mut tx = self.pool.begin().await?;
        let mut owned = Vec::new();
        for job in jobs {
            let id = crate::storage::new_job_id();
            super::bind_new_job(
                sqlx::query(
                    "insert into background_jobs (id, job_type, created_by, related_dataset_id, metadata, created_at, \
                 run_at, priority, max_retries) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .bind(id.to_string()),
                job,
            )
            .execute(&mut *tx)
            .await?;
            // New jobs start at version 1 (the column's default).
            if job.created_by.is_some() {
                owned.push(Changed { id, owner: job.created_by, version: 1 });
            }
        }
        tx.commit().await?;
        self.events.publish(owned.iter().copied());
        self.signal(Signal::NewJobs);
        Ok(Written { count: jobs.len() as u64, owned })
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
               lease_expires_at = ?4, locked_by = ?5, cancel_requested_at = null, version = version + 1 \
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
        self.events.publish(jobs.iter().map(Changed::of));
        jobs.sort_by_key(|j| (-i64::from(j.priority), j.run_at, j.id));
        Ok(jobs)
    }

    async fn complete_jobs(&self, done: &[(Uuid, i32)], now: DateTime<Utc>) -> StoreResult<Written> {
        self.update_held(
            done,
            "status = 'completed', progress = 100, completed_at = ?1, \
             lease_expires_at = null, locked_by = null, cancel_requested_at = null",
            now,
        )
        .await
    }

    async fn release_jobs(&self, jobs: &[(Uuid, i32)], now: DateTime<Utc>) -> StoreResult<Written> {
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
        // Each top-level key takes the value given, as PostgreSQL's `||` does (json_patch would
        // merge nested objects and delete keys given as null).
        let keys: Vec<(String, String)> = metadata
            .as_object()
            .map(|o| o.iter().map(|(k, v)| (format!("$.\"{}\"", k.replace('"', "\\\"")), v.to_string())).collect())
            .unwrap_or_default();
        let set: String = (0..keys.len()).map(|i| format!(", ?{}, json(?{})", 7 + 2 * i, 8 + 2 * i)).collect();
        let sql = format!(
            "update background_jobs set locked_by = ?4, lease_expires_at = ?5, progress = max(progress, ?6), \
               metadata = json_set(metadata{set}), version = version + 1 \
             where id = ?1 and attempt = ?2 and status = 'running' and locked_by = ?3 \
               and cancel_requested_at is null \
             returning {}",
            job_columns!()
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .bind(attempt)
            .bind(from)
            .bind(to)
            .bind(time_text(lease_until))
            .bind(progress);
        for (path, value) in keys {
            query = query.bind(path).bind(value);
        }
        let row = query.fetch_optional(&self.pool).await?;
        self.published(row.as_ref().map(job_from_row).transpose()?)
    }

    async fn renew_leases(
        &self,
        worker: &str,
        beats: &[Beat],
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Vec<Held>> {
        if beats.is_empty() {
            return Ok(Vec::new());
        }
        let beats: Vec<_> = beats
            .iter()
            .map(|b| {
                json!({"id": b.id.to_string(), "attempt": b.attempt, "progress": b.progress,
                       "stage": b.stage.as_deref().map(bounded_stage)})
            })
            .collect();
        // Only a beat that moves progress or stage is a change a watcher sees (and a version).
        // RETURNING sees only new values, so the versions before are read first, in the same
        // transaction, which takes the write lock first (a read could not upgrade to a write if
        // another writer committed in between).
        let mut tx = self.pool.begin_with("begin immediate").await?;
        let before: std::collections::HashMap<String, i64> = sqlx::query_as(
            "select id, version from background_jobs \
             where id in (select json_extract(value, '$.id') from json_each(?1))",
        )
        .bind(json_list(&beats))
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        let rows = sqlx::query(
            "update background_jobs set lease_expires_at = ?2, heartbeat_at = ?4, \
               progress = max(background_jobs.progress, coalesce(b.progress, background_jobs.progress)), \
               stage = coalesce(b.stage, background_jobs.stage), \
               version = background_jobs.version + \
                 (coalesce(b.progress > background_jobs.progress, 0) \
                  or (b.stage is not null and b.stage is not background_jobs.stage)) \
             from (select json_extract(value, '$.id') as id, json_extract(value, '$.attempt') as attempt, \
                          json_extract(value, '$.progress') as progress, json_extract(value, '$.stage') as stage \
                   from json_each(?3)) as b \
             where background_jobs.id = b.id and background_jobs.attempt = b.attempt \
               and background_jobs.status = 'running' and background_jobs.locked_by = ?1 \
             returning id, created_by, version, cancel_requested_at is not null as cancel_requested",
        )
        .bind(worker)
        .bind(time_text(lease_until))
        .bind(json_list(&beats))
        .bind(time_text(now))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut held = Vec::with_capacity(rows.len());
        let mut moved = Vec::new();
        for row in &rows {
            let changed = changed_from_row(row)?;
            held.push(Held {
                id: changed.id,
                cancel_requested: row.try_get("cancel_requested")?,
                version: changed.version,
            });
            if before.get(&changed.id.to_string()).is_some_and(|&v| v < changed.version) {
                moved.push(changed);
            }
        }
        self.events.publish(moved);
        Ok(held)
    }

    async fn rescue_expired(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Written> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
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
               stage = case when cancel_requested_at is null and retry_count < max_retries \
                            then null else stage end, \
               run_at = ?1, lease_expires_at = null, locked_by = null, cancel_requested_at = null, \
               version = version + 1 \
             where id in ( \
               select id from background_jobs where status = 'running' and lease_expires_at < ?1 \
               order by lease_expires_at limit ?2) \
             returning id, created_by, version, status, attempt",
        )
        .bind(time_text(now))
        .bind(i64::from(limit))
        .bind(LEASE_EXPIRED)
        .fetch_all(&mut *tx)
        .await?;
        // Each lost attempt is kept (a job whose cancel was requested already has its row).
        for row in &rows {
            let status: String = row.try_get("status")?;
            let kind = match status.as_str() {
                "pending" => AuditKind::Retrying,
                "failed" => AuditKind::Failed,
                _ => continue,
            };
            let id = changed_from_row(row)?.id;
            insert_audit(&mut tx, id, now, kind, None, row.try_get("attempt")?, Some(LEASE_EXPIRED)).await?;
        }
        tx.commit().await?;
        let rescued = self.publish_rows(&rows)?;
        if rescued.count > 0 {
            self.signal(Signal::NewJobs);
        }
        Ok(rescued)
    }

    async fn request_cancel(&self, id: Uuid, now: DateTime<Utc>, by: Option<Actor>) -> StoreResult<Option<Job>> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(concat!(
            "update background_jobs set \
               status = case when status = 'running' and locked_by is not null then status else 'cancelled' end, \
               completed_at = case when status = 'running' and locked_by is not null then completed_at else ?2 end, \
               cancel_requested_at = case when status = 'running' and locked_by is not null \
                                          then coalesce(cancel_requested_at, ?2) end, \
               version = version + 1 \
             where id = ?1 and status in ('pending', 'running') \
             returning ",
            job_columns!()
        ))
        .bind(id.to_string())
        .bind(time_text(now))
        .fetch_optional(&mut *tx)
        .await?;
        let job = row.as_ref().map(job_from_row).transpose()?;
        if let Some(job) = &job {
            let kind = if job.status == JobStatus::Cancelled { AuditKind::Cancelled } else { AuditKind::Stopping };
            insert_audit(&mut tx, job.id, now, kind, by, job.attempt, None).await?;
        }
        tx.commit().await?;
        let job = self.published(job)?;
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
    async fn update_held(&self, jobs: &[(Uuid, i32)], set: &str, now: DateTime<Utc>) -> StoreResult<Written> {
        let jobs: Vec<_> = jobs.iter().map(|(id, attempt)| json!({"id": id.to_string(), "attempt": attempt})).collect();
        let sql = format!(
            "update background_jobs set {set}, version = background_jobs.version + 1 \
             from (select json_extract(value, '$.id') as id, json_extract(value, '$.attempt') as attempt \
                   from json_each(?2)) as d \
             where background_jobs.id = d.id and background_jobs.attempt = d.attempt \
               and background_jobs.status = 'running' \
             returning background_jobs.id as id, background_jobs.created_by as created_by, \
               background_jobs.version as version"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(time_text(now))
            .bind(json_list(&jobs))
            .fetch_all(&self.pool)
            .await?;
        self.publish_rows(&rows)
    }
}
