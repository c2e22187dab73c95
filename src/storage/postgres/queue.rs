//! The queue on PostgreSQL: `FOR UPDATE SKIP LOCKED` claims, leases fenced on the attempt,
//! and LISTEN/NOTIFY to wake workers on every node.

use super::{NOTIFIED, PgStore, WRITTEN, job_from_row};
use crate::jobs::events::{CHANGES_CHANNEL, Changed, Owners, notification, parse_notification};
use crate::jobs::model::{Job, JobType, NewJob};
use crate::jobs::state::{Actor, bounded_stage};
use crate::storage::queue::{Beat, ClaimKey, Held, LEASE_EXPIRED, Listener, Queue, Signal};
use crate::storage::{ChangeFeed, Heard, StoreError, StoreResult, Written, parse_column};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::{PgListener, PgPool};
use sqlx::types::Json;
use std::time::Duration;
use uuid::Uuid;

pub(super) const NEW_JOBS_CHANNEL: &str = "jobwatch_jobs";
const CANCEL_CHANNEL: &str = "jobwatch_cancel";
/// Rows per bulk insert statement (8 arrays of this length are bound).
const INSERT_CHUNK: usize = 5_000;

fn type_names(types: &[JobType]) -> Vec<&'static str> {
    types.iter().map(|t| t.as_str()).collect()
}

#[async_trait]
impl Queue for PgStore {
    async fn insert_jobs(&self, jobs: &[NewJob]) -> StoreResult<Written> {
        let mut inserted = Written::default();
        for chunk in jobs.chunks(INSERT_CHUNK) {
            let ids: Vec<Uuid> = chunk.iter().map(|_| crate::storage::new_job_id()).collect();
            let types: Vec<&str> = chunk.iter().map(|j| j.job_type.as_str()).collect();
            let owners: Vec<Option<Uuid>> = chunk.iter().map(|j| j.created_by).collect();
            let datasets: Vec<Option<Uuid>> = chunk.iter().map(|j| j.related_dataset_id).collect();
            let metadata: Vec<String> = chunk.iter().map(|j| j.metadata.to_string()).collect();
            let created: Vec<DateTime<Utc>> = chunk.iter().map(|j| j.created_at).collect();
            let run_at: Vec<DateTime<Utc>> = chunk.iter().map(|j| j.run_at).collect();
            let priority: Vec<i32> = chunk.iter().map(|j| j.priority).collect();
            let max_retries: Vec<i32> = chunk.iter().map(|j| j.max_retries).collect();
            // One NOTIFY per statement, not per row: NOTIFY serialises commits cluster-wide.
            let write = "insert into background_jobs (id, job_type, created_by, related_dataset_id, metadata, \
                           created_at, run_at, priority, max_retries) \
                         select i, t, o, d, m::jsonb, c, r, p, x \
                         from unnest($9::uuid[], $1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], \
                                     $6::timestamptz[], $7::int[], $8::int[]) as u(i, t, o, d, m, c, r, p, x) \
                         returning created_by";
            let sql = format!(
                "{} select count(*), {NOTIFIED} from w, (select pg_notify('{NEW_JOBS_CHANNEL}', '')) wake",
                self.notifying("", write, "true")
            );
            let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(&types)
                .bind(&owners)
                .bind(&datasets)
                .bind(&metadata)
                .bind(&created)
                .bind(&run_at)
                .bind(&priority)
                .bind(&max_retries)
                .bind(&ids)
                .fetch_one(&self.pool)
                .await?;
            if count as usize != chunk.len() {
                return Err(StoreError::Database(sqlx::Error::Protocol(format!(
                    "inserted {count} of {} jobs",
                    chunk.len()
                ))));
            }
            // New jobs start at version 1 (the column's default); their ids were made here.
            let owned: Vec<Changed> = ids
                .iter()
                .zip(&owners)
                .filter(|(_, owner)| owner.is_some())
                .map(|(&id, &owner)| Changed { id, owner, version: 1 })
                .collect();
            self.events.publish(owned.iter().copied());
            inserted.count += count as u64;
            inserted.owned.extend(owned);
        }
        Ok(inserted)
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
        let mut tx = self.pool.begin().await?;
        // Statistics lag behind a burst of new jobs (until autoanalyze). Believing there are
        // few pending rows, the planner may read every due job by bitmap and sort them all, on
        // every claim (120 ms instead of 20 for 1,000 jobs behind a 100,000-job backlog). Only
        // the claim index yields them in order and stops at the limit.
        sqlx::query("select set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true)")
            .execute(&mut *tx)
            .await?;
        // started_at is the run's first sign of life (see `Job::is_stalled`). The claim is the
        // queue's hottest statement, so other nodes are told by a NOTIFY of its own in the same
        // transaction, and only when an owned job was claimed: a wrapping CTE costs every claim
        // about 10 % of throughput (bench-queue B), owned or not.
        let rows = sqlx::query(
            "with due as ( \
               select id from background_jobs \
               where status = 'pending' and run_at <= $1 and job_type = any($2) \
                 and ((-priority), run_at, id) > ($6, $7, $8) \
               order by (-priority), run_at, id \
               limit $3 \
               for update skip locked) \
             update background_jobs j set status = 'running', started_at = $1, attempt = j.attempt + 1, \
               lease_expires_at = $4, locked_by = $5, cancel_requested_at = null, version = j.version + 1 \
             from due where j.id = due.id \
             returning j.*",
        )
        .bind(now)
        .bind(type_names(types))
        .bind(i64::from(limit))
        .bind(lease_until)
        .bind(worker)
        .bind(after.priority.checked_neg().unwrap_or(i32::MIN))
        .bind(after.run_at)
        .bind(after.id)
        .fetch_all(&mut *tx)
        .await?;
        let mut jobs = rows.iter().map(job_from_row).collect::<StoreResult<Vec<_>>>()?;
        if let Some(payload) = notification(self.events.node(), jobs.iter().filter_map(|j| j.created_by)) {
            sqlx::query("select pg_notify($1, $2)").bind(CHANGES_CHANNEL).bind(payload).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.events.publish(jobs.iter().map(Changed::of));
        jobs.sort_by_key(|j| (-i64::from(j.priority), j.run_at, j.id));
        Ok(jobs)
    }

    async fn complete_jobs(&self, done: &[(Uuid, i32)], now: DateTime<Utc>) -> StoreResult<Written> {
        self.update_held(
            done,
            "status = 'completed', progress = 100, completed_at = $1, \
             lease_expires_at = null, locked_by = null, cancel_requested_at = null",
            now,
        )
        .await
    }

    async fn release_jobs(&self, jobs: &[(Uuid, i32)], now: DateTime<Utc>) -> StoreResult<Written> {
        // Old values on the right: a requested cancel decides where the job goes.
        self.update_held(
            jobs,
            "status = case when j.cancel_requested_at is null then 'pending' else 'cancelled' end, \
             run_at = case when j.cancel_requested_at is null then $1 else j.run_at end, \
             completed_at = case when j.cancel_requested_at is null then j.completed_at else $1 end, \
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
        metadata: &Value,
    ) -> StoreResult<Option<Job>> {
        let write = concat!(
            "update background_jobs set locked_by = $4, lease_expires_at = $5, progress = greatest(progress, $6), \
               metadata = metadata || $7::jsonb, version = version + 1 \
             where id = $1 and attempt = $2 and status = 'running' and locked_by = $3 \
               and cancel_requested_at is null \
             returning ",
            job_columns!()
        );
        let sql = format!("{} select w.*, {NOTIFIED} from w", self.notifying("", write, "true"));
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(attempt)
            .bind(from)
            .bind(to)
            .bind(lease_until)
            .bind(progress)
            .bind(Json(metadata));
        Ok(self.write_jobs(query).await?.pop())
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
        // Probed and locked in id order, as completions are (see `update_held`).
        let mut beats = beats.to_vec();
        beats.sort_unstable_by_key(|b| b.id);
        let ids: Vec<Uuid> = beats.iter().map(|b| b.id).collect();
        let attempts: Vec<i32> = beats.iter().map(|b| b.attempt).collect();
        let progress: Vec<Option<i32>> = beats.iter().map(|b| b.progress).collect();
        let stages: Vec<Option<String>> = beats.iter().map(|b| b.stage.as_deref().map(bounded_stage)).collect();
        // Only a beat that moves progress or stage is a change a watcher sees (and a version).
        let ctes = "held as ( \
               select j.id, b.progress, b.stage, \
                 (coalesce(b.progress > j.progress, false) \
                  or (b.stage is not null and b.stage is distinct from j.stage)) as moved \
               from unnest($3::uuid[], $4::int[], $5::int[], $7::text[]) as b(id, attempt, progress, stage) \
               cross join lateral ( \
                 select id, attempt, status, locked_by, progress, stage from background_jobs where id = b.id offset 0) j \
               where j.attempt = b.attempt and j.status = 'running' and j.locked_by = $1 \
               for update of j),";
        let write = "update background_jobs j set lease_expires_at = $2, heartbeat_at = $6, \
               progress = greatest(j.progress, coalesce(held.progress, j.progress)), \
               stage = coalesce(held.stage, j.stage), \
               version = j.version + case when held.moved then 1 else 0 end \
             from held where j.id = held.id \
             returning j.id, j.created_by, j.version, coalesce(held.moved, false) as moved, \
               j.cancel_requested_at is not null as cancel_requested";
        let sql = format!("{} select w.*, {NOTIFIED} from w", self.notifying(ctes, write, "moved"));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(worker)
            .bind(lease_until)
            .bind(&ids)
            .bind(&attempts)
            .bind(&progress)
            .bind(now)
            .bind(&stages)
            .fetch_all(&self.pool)
            .await?;
        let mut held = Vec::with_capacity(rows.len());
        let mut moved = Vec::new();
        for row in &rows {
            let changed = super::changed_from_row(row)?;
            if row.try_get("moved")? {
                moved.push(changed);
            }
            held.push(Held {
                id: changed.id,
                cancel_requested: row.try_get("cancel_requested")?,
                version: changed.version,
            });
        }
        self.events.publish(moved);
        Ok(held)
    }

    async fn rescue_expired(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Written> {
        // A job whose cancel was requested ends cancelled; others are retried while they may be.
        let ctes = "expired as ( \
               select id from background_jobs \
               where status = 'running' and lease_expires_at < $1 \
               order by lease_expires_at limit $2 \
               for update skip locked),";
        let write = "update background_jobs j set \
               status = case when j.cancel_requested_at is not null then 'cancelled' \
                             when j.retry_count < j.max_retries then 'pending' else 'failed' end, \
               retry_count = j.retry_count + \
                 case when j.cancel_requested_at is null and j.retry_count < j.max_retries then 1 else 0 end, \
               error_message = case when j.cancel_requested_at is null then $3 else j.error_message end, \
               completed_at = case when j.cancel_requested_at is null and j.retry_count < j.max_retries \
                                   then null else $1 end, \
               progress = case when j.cancel_requested_at is null and j.retry_count < j.max_retries \
                               then 0 else j.progress end, \
               stage = case when j.cancel_requested_at is null and j.retry_count < j.max_retries \
                            then null else j.stage end, \
               run_at = $1, lease_expires_at = null, locked_by = null, cancel_requested_at = null, \
               version = j.version + 1 \
             from expired where j.id = expired.id \
             returning j.id, j.created_by, j.version, j.status, j.attempt";
        // Each lost attempt is kept (a job whose cancel was requested already has its row).
        let sql = format!(
            "{}, a as (insert into job_audit (job_id, at, kind, attempt, message) \
               select id, $1, case when status = 'pending' then 'retrying' else 'failed' end, attempt, $3 \
               from w where status <> 'cancelled') \
             {WRITTEN}",
            self.notifying(ctes, write, "true")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(i64::from(limit))
            .bind(LEASE_EXPIRED)
            .fetch_one(&self.pool)
            .await?;
        let rescued = self.publish_written(&row)?;
        if rescued.count > 0 {
            self.signal_new_jobs().await?;
        }
        Ok(rescued)
    }

    async fn request_cancel(&self, id: Uuid, now: DateTime<Utc>, by: Option<Actor>) -> StoreResult<Option<Job>> {
        // Old values on the right: "held" means running under a worker's lease.
        let write = concat!(
            "update background_jobs set \
               status = case when status = 'running' and locked_by is not null then status else 'cancelled' end, \
               completed_at = case when status = 'running' and locked_by is not null then completed_at else $2 end, \
               cancel_requested_at = case when status = 'running' and locked_by is not null \
                                          then coalesce(cancel_requested_at, $2) end, \
               version = version + 1 \
             where id = $1 and status in ('pending', 'running') \
             returning ",
            job_columns!()
        );
        let sql = format!(
            "{}, a as (insert into job_audit (job_id, at, kind, actor, attempt, bulk) \
               select id, $2, case when status = 'cancelled' then 'cancelled' else 'stopping' end, $3, attempt, $4 \
               from w) \
             select w.*, {NOTIFIED} from w",
            self.notifying("", write, "true")
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(now)
            .bind(by.map(|b| b.user))
            .bind(by.is_some_and(|b| b.bulk));
        let job = self.write_jobs(query).await?.pop();
        if job.as_ref().is_some_and(|j| j.cancel_requested_at.is_some()) {
            sqlx::query("select pg_notify($1, $2)")
                .bind(CANCEL_CHANNEL)
                .bind(id.to_string())
                .execute(&self.pool)
                .await?;
        }
        Ok(job)
    }

    async fn prune_finished(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<Vec<(Uuid, JobType)>> {
        let rows = sqlx::query(
            "delete from background_jobs where id in ( \
               select id from background_jobs \
               where status in ('completed', 'failed', 'cancelled') and completed_at < $1 \
               order by completed_at limit $2) \
             returning id, job_type",
        )
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id: Uuid = r.try_get("id")?;
                let job_type: String = r.try_get("job_type")?;
                Ok((id, parse_column(&id, &job_type)?))
            })
            .collect()
    }

    async fn signal_new_jobs(&self) -> StoreResult<()> {
        sqlx::query("select pg_notify($1, '')").bind(NEW_JOBS_CHANNEL).execute(&self.pool).await?;
        Ok(())
    }

    async fn listen(&self) -> StoreResult<Box<dyn Listener>> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen_all([NEW_JOBS_CHANNEL, CANCEL_CHANNEL]).await?;
        Ok(Box::new(PgSignals(listener)))
    }
}

struct PgSignals(PgListener);

#[async_trait]
impl Listener for PgSignals {
    async fn next(&mut self) -> Signal {
        match self.0.try_recv().await {
            Ok(Some(n)) if n.channel() == CANCEL_CHANNEL => match n.payload().parse() {
                Ok(id) => Signal::CancelRequested(id),
                Err(_) => Signal::NewJobs,
            },
            Ok(Some(_)) => Signal::NewJobs,
            // The connection was lost and made again: notifications sent meanwhile are lost, so
            // answer "look for work" and let the worker poll.
            Ok(None) => Signal::NewJobs,
            Err(err) => {
                // PgListener reconnects on the next call; notifications sent meanwhile are lost,
                // so answer "look for work" and let the worker poll.
                tracing::warn!(error = %err, "lost the notification connection; reconnecting");
                tokio::time::sleep(Duration::from_millis(500)).await;
                Signal::NewJobs
            }
        }
    }
}

impl PgStore {
    /// `set` (with `$1` = `now`) on the running jobs among `jobs`, each fenced on its attempt.
    ///
    /// Each job is found by one primary-key probe, in the order given (the lateral subquery,
    /// kept apart by `offset 0`): joined plainly, stale statistics ("no running jobs") led the
    /// planner to compare every running job with every id, 90 ms instead of 15 for 700. Rows
    /// are locked in that order, so it is id order, as lease renewal's: two batches locking
    /// the same rows in different orders deadlock (for deadlock_timeout).
    async fn update_held(&self, jobs: &[(Uuid, i32)], set: &str, now: DateTime<Utc>) -> StoreResult<Written> {
        let mut jobs = jobs.to_vec();
        jobs.sort_unstable();
        let ids: Vec<Uuid> = jobs.iter().map(|d| d.0).collect();
        let attempts: Vec<i32> = jobs.iter().map(|d| d.1).collect();
        let ctes = "held as ( \
               select j.id from unnest($2::uuid[], $3::int[]) as d(id, attempt) \
               cross join lateral (select id, attempt, status from background_jobs where id = d.id offset 0) j \
               where j.attempt = d.attempt and j.status = 'running' \
               for update of j),";
        let write = format!(
            "update background_jobs j set {set}, version = j.version + 1 from held where j.id = held.id \
             returning j.id, j.created_by, j.version"
        );
        let sql = format!("{} {WRITTEN}", self.notifying(ctes, &write, "true"));
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).bind(&ids).bind(&attempts).fetch_one(&self.pool).await?;
        self.publish_written(&row)
    }
}

/// Other nodes' job changes, heard on [`CHANGES_CHANNEL`]; this node's own are skipped (its
/// bus had them when they were written).
pub(super) struct PgChangeFeed {
    listener: PgListener,
    pool: PgPool,
    node: String,
}

impl PgChangeFeed {
    pub(super) async fn connect(store: &PgStore) -> StoreResult<Self> {
        let listener = Self::listen(&store.pool).await?;
        Ok(Self { listener, pool: store.pool.clone(), node: store.events.node().to_owned() })
    }

    async fn listen(pool: &PgPool) -> StoreResult<PgListener> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANGES_CHANNEL).await?;
        Ok(listener)
    }

    /// A new listener, made once the database answers again. `Reconnected` must mean
    /// "listening again": a resync read before that could miss what is sent in between.
    async fn listen_again(&mut self) {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            match Self::listen(&self.pool).await {
                Ok(listener) => {
                    self.listener = listener;
                    return;
                }
                Err(err) => tracing::warn!(error = %err, "cannot listen for job changes yet; retrying"),
            }
        }
    }
}

#[async_trait]
impl ChangeFeed for PgChangeFeed {
    async fn next(&mut self) -> Heard {
        loop {
            match self.listener.try_recv().await {
                Ok(Some(n)) => match parse_notification(n.payload()) {
                    Some((node, _)) if node == self.node => continue,
                    Some((_, owners)) => return Heard::Changed(owners),
                    // A payload this version cannot read (a newer node?): assume anyone's jobs.
                    None => return Heard::Changed(Owners::All),
                },
                // The connection was lost and made again (PgListener reconnects eagerly): what
                // was sent meanwhile is gone.
                Ok(None) => return Heard::Reconnected,
                Err(err) => {
                    tracing::warn!(error = %err, "lost the job-changes connection; reconnecting");
                    self.listen_again().await;
                    return Heard::Reconnected;
                }
            }
        }
    }
}
