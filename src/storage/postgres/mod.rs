//! The PostgreSQL backend: the production engine, many nodes on one database.

mod finished;
mod history;
mod imports;
mod live;
mod notify;
mod queue;
mod schedules;
mod webhooks;

use super::{ChangeFeed, PoolSettings, Store, StoreError, StoreResult, Written, parse_column, version_diff};
use crate::jobs::events::{Changed, JobEvents};
use crate::jobs::model::{Job, NewJob};
use crate::jobs::state::JobChange;
use crate::users::{NewUser, User};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{ConnectOptions, Connection, Row};
use std::str::FromStr;
use std::sync::Arc;
use uuid::Uuid;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// Idle time after which a pooled connection is checked before use.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    events: Arc<JobEvents>,
}

impl PgStore {
    pub async fn connect(url: &str, settings: &PoolSettings) -> StoreResult<Self> {
        let options = sqlx::postgres::PgConnectOptions::from_str(url)?.log_statements(tracing::log::LevelFilter::Trace);
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            // sqlx pings every connection it hands out by default: a round trip per query.
            // Ping only connections idle long enough to have gone stale (e.g. a server restart).
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= STALE_AFTER {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self::from_pool(pool))
    }

    /// Wrap an existing pool (tests point it at their own schema).
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool, events: Arc::new(JobEvents::new()) }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The last column of every statement made by [`PgStore::notifying`]: referencing the NOTIFY
/// is what makes it run.
pub(super) const NOTIFIED: &str = "(select count(*) from n) as notified";

/// The final select of a many-job write returning `id, created_by, version`: one row, with the
/// count and the owned jobs as arrays (see [`Written`]).
pub(super) const WRITTEN: &str = "select count(*) as count, \
       coalesce(array_agg(w.id) filter (where w.created_by is not null), '{}') as ids, \
       coalesce(array_agg(w.created_by) filter (where w.created_by is not null), '{}') as owners, \
       coalesce(array_agg(w.version) filter (where w.created_by is not null), '{}') as versions, \
       (select count(*) from n) as notified \
     from w";

impl PgStore {
    /// The start of a job-writing statement that also tells other nodes, when it commits, which
    /// owners' jobs it touched: one NOTIFY per statement, never one per row (NOTIFY serialises
    /// commits cluster-wide), none when no owned job changed. `write` must return `created_by`;
    /// only rows where `touched` holds count. `ctes` (ending in a comma) come first. The caller
    /// adds the final `select … from w` with [`NOTIFIED`].
    pub(super) fn notifying(&self, ctes: &str, write: &str, touched: &str) -> String {
        format!(
            "with {ctes} w as ({write}), \
             n as (select pg_notify('{channel}', '{node} ' || \
                     case when count(distinct created_by) > {max} then '*' \
                          else string_agg(distinct created_by::text, ' ') end) \
                   from w where created_by is not null and ({touched}) having count(*) > 0) ",
            channel = crate::jobs::events::CHANGES_CHANNEL,
            node = self.events.node(),
            max = crate::jobs::events::MAX_NOTIFIED_OWNERS,
        )
    }

    /// A job-writing statement returning whole jobs, which notifies (see [`PgStore::notifying`])
    /// and publishes what it changed on this process's bus.
    pub(super) async fn write_jobs<'q>(&self, query: PgQuery<'q>) -> StoreResult<Vec<Job>> {
        let rows = query.fetch_all(&self.pool).await?;
        let jobs = rows.iter().map(job_from_row).collect::<StoreResult<Vec<_>>>()?;
        self.events.publish(jobs.iter().map(Changed::of));
        Ok(jobs)
    }

    /// Reads a [`WRITTEN`] row and publishes its owned jobs.
    pub(super) fn publish_written(&self, row: &PgRow) -> StoreResult<Written> {
        let ids: Vec<Uuid> = row.try_get("ids")?;
        let owners: Vec<Uuid> = row.try_get("owners")?;
        let versions: Vec<i64> = row.try_get("versions")?;
        let owned: Vec<Changed> = ids
            .into_iter()
            .zip(owners)
            .zip(versions)
            .map(|((id, owner), version)| Changed { id, owner: Some(owner), version })
            .collect();
        self.events.publish(owned.iter().copied());
        Ok(Written { count: row.try_get::<i64, _>("count")? as u64, owned })
    }
}

pub(super) fn changed_from_row(row: &PgRow) -> StoreResult<Changed> {
    Ok(Changed { id: row.try_get("id")?, owner: row.try_get("created_by")?, version: row.try_get("version")? })
}

fn job_from_row(row: &PgRow) -> StoreResult<Job> {
    let id: Uuid = row.try_get("id")?;
    Ok(Job {
        job_type: parse_column(&id, row.try_get("job_type")?)?,
        status: parse_column(&id, row.try_get("status")?)?,
        progress: row.try_get("progress")?,
        related_dataset_id: row.try_get("related_dataset_id")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        completed_at: row.try_get("completed_at")?,
        error_message: row.try_get("error_message")?,
        retry_count: row.try_get("retry_count")?,
        max_retries: row.try_get("max_retries")?,
        metadata: row.try_get::<Json<Value>, _>("metadata")?.0,
        priority: row.try_get("priority")?,
        run_at: row.try_get("run_at")?,
        attempt: row.try_get("attempt")?,
        cancel_requested_at: row.try_get("cancel_requested_at")?,
        version: row.try_get("version")?,
        stage: row.try_get("stage")?,
        heartbeat_at: row.try_get("heartbeat_at")?,
        id,
    })
}

pub(super) type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, <sqlx::Postgres as sqlx::Database>::Arguments>;

/// Binds a new job's columns in the order every job insert lists them: job_type, created_by,
/// related_dataset_id, metadata, created_at, run_at, priority, max_retries.
fn bind_new_job<'q>(query: PgQuery<'q>, job: &'q NewJob) -> PgQuery<'q> {
    query
        .bind(job.job_type.as_str())
        .bind(job.created_by)
        .bind(job.related_dataset_id)
        .bind(Json(&job.metadata))
        .bind(job.created_at)
        .bind(job.run_at)
        .bind(job.priority)
        .bind(job.max_retries)
}

fn user_from_row(row: &PgRow) -> StoreResult<User> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        is_admin: row.try_get("is_admin")?,
        disabled: row.try_get("disabled")?,
        created_at: row.try_get("created_at")?,
    })
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn events(&self) -> &JobEvents {
        &self.events
    }

    async fn listen_changes(&self) -> StoreResult<Option<Box<dyn ChangeFeed>>> {
        Ok(Some(Box::new(queue::PgChangeFeed::connect(self).await?)))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn migrate_up(&self) -> StoreResult<Vec<i64>> {
        let before = self.applied_migrations().await?;
        MIGRATOR.run(&self.pool).await?;
        Ok(version_diff(&before, &self.applied_migrations().await?))
    }

    async fn migrate_down(&self, target: i64) -> StoreResult<Vec<i64>> {
        let before = self.applied_migrations().await?;
        MIGRATOR.undo(&self.pool, target).await?;
        Ok(version_diff(&before, &self.applied_migrations().await?))
    }

    async fn applied_migrations(&self) -> StoreResult<Vec<i64>> {
        let exists: bool =
            sqlx::query_scalar("select to_regclass('_sqlx_migrations') is not null").fetch_one(&self.pool).await?;
        if !exists {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_scalar("select version from _sqlx_migrations where success order by version")
            .fetch_all(&self.pool)
            .await?)
    }

    async fn insert_user(&self, user: &NewUser) -> StoreResult<User> {
        let row = sqlx::query(
            "insert into users (email, password_hash, is_admin, created_at) values ($1, $2, $3, $4) \
             returning id, email, is_admin, disabled_at is not null as disabled, created_at",
        )
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.is_admin)
        .bind(user.created_at)
        .fetch_one(&self.pool)
        .await?;
        user_from_row(&row)
    }

    async fn any_user_exists(&self) -> StoreResult<bool> {
        Ok(sqlx::query_scalar("select exists (select 1 from users)").fetch_one(&self.pool).await?)
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>> {
        let row = sqlx::query(
            "select id, email, is_admin, disabled_at is not null as disabled, created_at, password_hash from users where lower(email) = lower($1)",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((user_from_row(&row)?, row.try_get("password_hash")?))).transpose()
    }

    async fn insert_token(
        &self,
        token_hash: &[u8],
        user_id: Uuid,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("insert into auth_tokens (token_hash, user_id, created_at, expires_at) values ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(now)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn find_user_by_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "select u.id, u.email, u.is_admin, u.disabled_at is not null as disabled, u.created_at \
             from auth_tokens t join users u on u.id = t.user_id \
             where t.token_hash = $1 and t.expires_at > $2 and u.disabled_at is null",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn set_user_disabled(&self, id: Uuid, disabled_at: Option<DateTime<Utc>>) -> StoreResult<Option<User>> {
        // The user and their sessions change together: no token outlives the disabling.
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "update users set disabled_at = $2 where id = $1 \
             returning id, email, is_admin, disabled_at is not null as disabled, created_at",
        )
        .bind(id)
        .bind(disabled_at)
        .fetch_optional(&mut *tx)
        .await?;
        if row.is_some() && disabled_at.is_some() {
            sqlx::query("delete from auth_tokens where user_id = $1").bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn delete_token(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("delete from auth_tokens where token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    async fn delete_expired_tokens(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("delete from auth_tokens where user_id = $1 and expires_at <= $2")
            .bind(user_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn dataset_owner(&self, id: Uuid) -> StoreResult<Option<Option<Uuid>>> {
        Ok(sqlx::query_scalar("select created_by from datasets where id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn insert_job(&self, job: &NewJob) -> StoreResult<Job> {
        let write = concat!(
            "insert into background_jobs (job_type, created_by, related_dataset_id, metadata, created_at, run_at, \
             priority, max_retries, id) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning ",
            job_columns!()
        );
        // The jobwatch_jobs NOTIFY wakes a worker on any node at once.
        let sql = format!(
            "{} select w.*, {NOTIFIED} from w, (select pg_notify('{}', '')) wake",
            self.notifying("", write, "true"),
            queue::NEW_JOBS_CHANNEL
        );
        let query = bind_new_job(sqlx::query(sqlx::AssertSqlSafe(sql)), job).bind(super::new_job_id());
        self.write_jobs(query).await?.pop().ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    async fn find_job(&self, id: Uuid) -> StoreResult<Option<Job>> {
        let sql = concat!("select ", job_columns!(), " from background_jobs where id = $1");
        let row = sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn active_jobs(&self, user_id: Uuid, finished_since: DateTime<Utc>) -> StoreResult<Vec<Job>> {
        // Two short index range scans (see the migration's partial indexes), merged and sorted.
        let sql = concat!(
            "select ",
            job_columns!(),
            " from background_jobs \
             where created_by = $1 and status in ('pending', 'running') \
             union all \
             select ",
            job_columns!(),
            " from background_jobs \
             where created_by = $1 and completed_at >= $2 and status in ('completed', 'failed', 'cancelled') \
             order by created_at desc"
        );
        let rows = sqlx::query(sql).bind(user_id).bind(finished_since).fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn active_jobs_for_token(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
        finished_since: DateTime<Utc>,
    ) -> StoreResult<Option<(Uuid, Vec<Job>)>> {
        // Token check and both index range scans in one round trip. No row: bad token;
        // one row of nulls: a valid token whose owner has no active jobs.
        let sql = concat!(
            "select t.user_id as token_owner, j.* from auth_tokens t left join lateral ( \
               select ",
            job_columns!(),
            " from background_jobs \
               where created_by = t.user_id and status in ('pending', 'running') \
               union all \
               select ",
            job_columns!(),
            " from background_jobs \
               where created_by = t.user_id and completed_at >= $3 \
                 and status in ('completed', 'failed', 'cancelled') \
             ) j on true \
             where t.token_hash = $1 and t.expires_at > $2 \
             order by j.created_at desc"
        );
        let rows = sqlx::query(sql).bind(token_hash).bind(now).bind(finished_since).fetch_all(&self.pool).await?;
        let Some(first) = rows.first() else { return Ok(None) };
        let owner: Uuid = first.try_get("token_owner")?;
        let mut jobs = Vec::with_capacity(rows.len());
        for row in &rows {
            if row.try_get::<Option<Uuid>, _>("id")?.is_some() {
                jobs.push(job_from_row(row)?);
            }
        }
        Ok(Some((owner, jobs)))
    }

    async fn change_job(&self, id: Uuid, change: &JobChange) -> StoreResult<Option<Job>> {
        let from: Vec<&str> = change.from.iter().map(|s| s.as_str()).collect();
        // Leaving `running` drops the lease and any cancel request with it; a restart clears the
        // stage with the progress.
        let write = concat!(
            "update background_jobs set \
               status = $2, \
               progress = case when $7 then 0 else greatest(progress, coalesce($3, progress)) end, \
               started_at = coalesce($4, started_at), \
               completed_at = case when $7 then null else coalesce($5, completed_at) end, \
               error_message = coalesce($6, error_message), \
               run_at = coalesce($8, run_at), \
               retry_count = retry_count + case when $9 then 1 else 0 end, \
               lease_expires_at = case when $2 = 'running' then lease_expires_at end, \
               locked_by = case when $2 = 'running' then locked_by end, \
               cancel_requested_at = case when $2 = 'running' then cancel_requested_at end, \
               stage = case when $7 then null else coalesce($12, stage) end, \
               heartbeat_at = coalesce($13, heartbeat_at), \
               version = version + 1 \
             where id = $1 and status = any($10) and ($11::int is null or attempt = $11) \
             returning ",
            job_columns!()
        );
        // The audit row, when the change has one, is written by the same statement.
        let sql = format!(
            "{}, a as (insert into job_audit (job_id, at, kind, actor, attempt, message, bulk) \
               select id, $14, $15, $16, attempt, $17, $18 from w where $15::text is not null) \
             select w.*, {NOTIFIED} from w",
            self.notifying("", write, "true")
        );
        let audit = change.audit.as_ref();
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(change.status.as_str())
            .bind(change.progress_at_least)
            .bind(change.started_at)
            .bind(change.completed_at)
            .bind(change.error_message.as_deref())
            .bind(change.restart)
            .bind(change.run_at)
            .bind(change.count_retry)
            .bind(&from)
            .bind(change.fence_attempt)
            .bind(change.stage.as_deref())
            .bind(change.heartbeat_at)
            .bind(audit.map(|a| a.at))
            .bind(audit.map(|a| a.kind.as_str()))
            .bind(audit.and_then(|a| a.by).map(|by| by.user))
            .bind(audit.and_then(|a| a.message.as_deref()))
            .bind(audit.and_then(|a| a.by).is_some_and(|by| by.bulk));
        Ok(self.write_jobs(query).await?.pop())
    }

    async fn user_email(&self, id: Uuid) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("select email from users where id = $1").bind(id).fetch_optional(&self.pool).await?)
    }
}
