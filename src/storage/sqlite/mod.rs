//! The SQLite backend: the embedded default, one node. uuids are stored as hyphenated text,
//! timestamps as canonical UTC text (see the migration), so text order is time order.

mod errors;
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
use crate::jobs::state::{Actor, AuditKind};
use crate::users::{NewUser, User};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
pub(super) use errors::unique_index;
use sqlx::Row;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use std::str::FromStr;
use std::sync::Arc;
use uuid::Uuid;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    events: Arc<JobEvents>,
    /// Wakes this process's workers: SQLite has a single node.
    signals: tokio::sync::broadcast::Sender<super::Signal>,
}

impl SqliteStore {
    pub async fn connect(url: &str, settings: &PoolSettings) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(settings.acquire_timeout)
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(Self::from_pool(pool))
    }

    /// Wrap an existing pool (tests keep a second handle for plain SQL).
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self { pool, events: Arc::new(JobEvents::new()), signals: tokio::sync::broadcast::channel(1024).0 }
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// One audit row, in the transaction of the change it records.
pub(super) async fn insert_audit(
    tx: &mut sqlx::SqliteConnection,
    job: Uuid,
    at: DateTime<Utc>,
    kind: AuditKind,
    by: Option<Actor>,
    attempt: i32,
    message: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "insert into job_audit (job_id, at, kind, actor, attempt, message, bulk) values (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .bind(job.to_string())
    .bind(time_text(at))
    .bind(kind.as_str())
    .bind(by.map(|b| b.user.to_string()))
    .bind(attempt)
    .bind(message)
    .bind(by.is_some_and(|b| b.bulk))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A list bound as one JSON text, read in SQL with `json_each`.
pub(super) fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).expect("plain values serialise")
}

/// The canonical text form of a timestamp, identical to the migration's
/// `strftime('%Y-%m-%dT%H:%M:%fZ', …)`.
fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn time_column(id: &str, row: &SqliteRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        DateTime::parse_from_rfc3339(&t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| StoreError::BadRow { id: id.to_owned(), problem: format!("{column} '{t}': {e}") })
    })
    .transpose()
}

fn uuid_column(id: &str, row: &SqliteRow, column: &str) -> StoreResult<Option<Uuid>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        Uuid::parse_str(&t)
            .map_err(|e| StoreError::BadRow { id: id.to_owned(), problem: format!("{column} '{t}': {e}") })
    })
    .transpose()
}

fn required<T>(id: &str, column: &str, value: Option<T>) -> StoreResult<T> {
    value.ok_or_else(|| StoreError::BadRow { id: id.to_owned(), problem: format!("{column} is null") })
}

impl SqliteStore {
    /// Publishes a job a statement wrote, and hands it on.
    pub(super) fn published(&self, job: Option<Job>) -> StoreResult<Option<Job>> {
        if let Some(job) = &job {
            self.events.publish([Changed::of(job)]);
        }
        Ok(job)
    }

    /// Reads `id, created_by, version` rows of a job-writing statement and publishes them.
    pub(super) fn publish_rows(&self, rows: &[SqliteRow]) -> StoreResult<Written> {
        let mut owned = Vec::new();
        for row in rows {
            let changed = changed_from_row(row)?;
            if changed.owner.is_some() {
                owned.push(changed);
            }
        }
        self.events.publish(owned.iter().copied());
        Ok(Written { count: rows.len() as u64, owned })
    }
}

pub(super) fn changed_from_row(row: &SqliteRow) -> StoreResult<Changed> {
    let raw: String = row.try_get("id")?;
    Ok(Changed {
        id: required(&raw, "id", uuid_column(&raw, row, "id")?)?,
        owner: uuid_column(&raw, row, "created_by")?,
        version: row.try_get("version")?,
    })
}

fn job_from_row(row: &SqliteRow) -> StoreResult<Job> {
    let raw_id: String = row.try_get("id")?;
    let id = required(&raw_id, "id", uuid_column(&raw_id, row, "id")?)?;
    let metadata: String = row.try_get("metadata")?;
    Ok(Job {
        job_type: parse_column(&id, row.try_get("job_type")?)?,
        status: parse_column(&id, row.try_get("status")?)?,
        progress: row.try_get("progress")?,
        related_dataset_id: uuid_column(&raw_id, row, "related_dataset_id")?,
        created_by: uuid_column(&raw_id, row, "created_by")?,
        created_at: required(&raw_id, "created_at", time_column(&raw_id, row, "created_at")?)?,
        started_at: time_column(&raw_id, row, "started_at")?,
        completed_at: time_column(&raw_id, row, "completed_at")?,
        error_message: row.try_get("error_message")?,
        retry_count: row.try_get("retry_count")?,
        max_retries: row.try_get("max_retries")?,
        metadata: serde_json::from_str(&metadata)
            .map_err(|e| StoreError::BadRow { id: raw_id.clone(), problem: format!("metadata: {e}") })?,
        priority: row.try_get("priority")?,
        run_at: required(&raw_id, "run_at", time_column(&raw_id, row, "run_at")?)?,
        attempt: row.try_get("attempt")?,
        cancel_requested_at: time_column(&raw_id, row, "cancel_requested_at")?,
        version: row.try_get("version")?,
        stage: row.try_get("stage")?,
        heartbeat_at: time_column(&raw_id, row, "heartbeat_at")?,
        id,
    })
}

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, <sqlx::Sqlite as sqlx::Database>::Arguments>;

/// Binds a new job's columns in the order every job insert lists them after its id: job_type,
/// created_by, related_dataset_id, metadata, created_at, run_at, priority, max_retries.
fn bind_new_job<'q>(query: SqliteQuery<'q>, job: &'q NewJob) -> SqliteQuery<'q> {
    query
        .bind(job.job_type.as_str())
        .bind(job.created_by.map(|u| u.to_string()))
        .bind(job.related_dataset_id.map(|u| u.to_string()))
        .bind(job.metadata.to_string())
        .bind(time_text(job.created_at))
        .bind(time_text(job.run_at))
        .bind(job.priority)
        .bind(job.max_retries)
}

fn user_from_row(row: &SqliteRow) -> StoreResult<User> {
    let raw_id: String = row.try_get("id")?;
    Ok(User {
        id: required(&raw_id, "id", uuid_column(&raw_id, row, "id")?)?,
        email: row.try_get("email")?,
        is_admin: row.try_get("is_admin")?,
        disabled: row.try_get("disabled")?,
        created_at: required(&raw_id, "created_at", time_column(&raw_id, row, "created_at")?)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn events(&self) -> &JobEvents {
        &self.events
    }

    /// One node: every change is this process's own.
    async fn listen_changes(&self) -> StoreResult<Option<Box<dyn ChangeFeed>>> {
        Ok(None)
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
        let exists: bool = sqlx::query_scalar(
            "select exists (select 1 from sqlite_master where type = 'table' and name = '_sqlx_migrations')",
        )
        .fetch_one(&self.pool)
        .await?;
        if !exists {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_scalar("select version from _sqlx_migrations where success order by version")
            .fetch_all(&self.pool)
            .await?)
    }

    async fn insert_user(&self, user: &NewUser) -> StoreResult<User> {
        let row = sqlx::query(
            "insert into users (id, email, password_hash, is_admin, created_at) values (?1, ?2, ?3, ?4, ?5) \
             returning id, email, is_admin, disabled_at is not null as disabled, created_at",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.is_admin)
        .bind(time_text(user.created_at))
        .fetch_one(&self.pool)
        .await?;
        user_from_row(&row)
    }

    async fn any_user_exists(&self) -> StoreResult<bool> {
        Ok(sqlx::query_scalar("select exists (select 1 from users)").fetch_one(&self.pool).await?)
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>> {
        let row = sqlx::query(
            "select id, email, is_admin, disabled_at is not null as disabled, created_at, password_hash from users where lower(email) = lower(?1)",
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
        sqlx::query("insert into auth_tokens (token_hash, user_id, created_at, expires_at) values (?1, ?2, ?3, ?4)")
            .bind(token_hash)
            .bind(user_id.to_string())
            .bind(time_text(now))
            .bind(time_text(expires_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn find_user_by_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "select u.id, u.email, u.is_admin, u.disabled_at is not null as disabled, u.created_at \
             from auth_tokens t join users u on u.id = t.user_id \
             where t.token_hash = ?1 and t.expires_at > ?2 and u.disabled_at is null",
        )
        .bind(token_hash)
        .bind(time_text(now))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn set_user_disabled(&self, id: Uuid, disabled_at: Option<DateTime<Utc>>) -> StoreResult<Option<User>> {
        // The user and their sessions change together: no token outlives the disabling.
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "update users set disabled_at = ?2 where id = ?1 \
             returning id, email, is_admin, disabled_at is not null as disabled, created_at",
        )
        .bind(id.to_string())
        .bind(disabled_at.map(time_text))
        .fetch_optional(&mut *tx)
        .await?;
        if row.is_some() && disabled_at.is_some() {
            sqlx::query("delete from auth_tokens where user_id = ?1").bind(id.to_string()).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn delete_token(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("delete from auth_tokens where token_hash = ?1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    async fn delete_expired_tokens(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("delete from auth_tokens where user_id = ?1 and expires_at <= ?2")
            .bind(user_id.to_string())
            .bind(time_text(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn dataset_owner(&self, id: Uuid) -> StoreResult<Option<Option<Uuid>>> {
        let owner: Option<Option<String>> = sqlx::query_scalar("select created_by from datasets where id = ?1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(owner.map(|o| o.and_then(|text| Uuid::parse_str(&text).ok())))
    }

    async fn insert_job(&self, job: &NewJob) -> StoreResult<Job> {
        let sql = concat!(
            "insert into background_jobs (id, job_type, created_by, related_dataset_id, metadata, created_at, \
             run_at, priority, max_retries) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) returning ",
            job_columns!()
        );
        let row = bind_new_job(sqlx::query(sql).bind(crate::storage::new_job_id().to_string()), job)
            .fetch_one(&self.pool)
            .await?;
        let job = job_from_row(&row)?;
        self.events.publish([Changed::of(&job)]);
        self.signal(super::Signal::NewJobs);
        Ok(job)
    }

    async fn find_job(&self, id: Uuid) -> StoreResult<Option<Job>> {
        let sql = concat!("select ", job_columns!(), " from background_jobs where id = ?1");
        let row = sqlx::query(sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn active_jobs(&self, user_id: Uuid, finished_since: DateTime<Utc>) -> StoreResult<Vec<Job>> {
        // Left alone, SQLite serves the finished branch from created_by_idx (already in
        // created_at order) and reads every job the user ever had; the finished index stops
        // at the cutoff instead.
        let sql = concat!(
            "select ",
            job_columns!(),
            " from background_jobs \
             where created_by = ?1 and status in ('pending', 'running') \
             union all \
             select ",
            job_columns!(),
            " from background_jobs indexed by background_jobs_finished_idx \
             where created_by = ?1 and completed_at >= ?2 and status in ('completed', 'failed', 'cancelled') \
             order by created_at desc"
        );
        let rows =
            sqlx::query(sql).bind(user_id.to_string()).bind(time_text(finished_since)).fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn change_job(&self, id: Uuid, change: &JobChange) -> StoreResult<Option<Job>> {
        let from = serde_json::to_string(&change.from.iter().map(|s| s.as_str()).collect::<Vec<_>>())
            .expect("a list of strings serialises");
        let sql = concat!(
            "update background_jobs set \
               status = ?2, \
               progress = case when ?7 then 0 else max(progress, coalesce(?3, progress)) end, \
               started_at = coalesce(?4, started_at), \
               completed_at = case when ?7 then null else coalesce(?5, completed_at) end, \
               error_message = coalesce(?6, error_message), \
               run_at = coalesce(?8, run_at), \
               retry_count = retry_count + case when ?9 then 1 else 0 end, \
               lease_expires_at = case when ?2 = 'running' then lease_expires_at end, \
               locked_by = case when ?2 = 'running' then locked_by end, \
               cancel_requested_at = case when ?2 = 'running' then cancel_requested_at end, \
               stage = case when ?7 then null else coalesce(?12, stage) end, \
               heartbeat_at = coalesce(?13, heartbeat_at), \
               version = version + 1 \
             where id = ?1 and status in (select value from json_each(?10)) \
               and (?11 is null or attempt = ?11) \
             returning ",
            job_columns!()
        );
        let row = sqlx::query(sql)
            .bind(id.to_string())
            .bind(change.status.as_str())
            .bind(change.progress_at_least)
            .bind(change.started_at.map(time_text))
            .bind(change.completed_at.map(time_text))
            .bind(change.error_message.as_deref())
            .bind(change.restart)
            .bind(change.run_at.map(time_text))
            .bind(change.count_retry)
            .bind(from)
            .bind(change.fence_attempt)
            .bind(change.stage.as_deref())
            .bind(change.heartbeat_at.map(time_text));
        let Some(audit) = &change.audit else {
            let row = row.fetch_optional(&self.pool).await?;
            return self.published(row.as_ref().map(job_from_row).transpose()?);
        };
        // The change and its audit row commit together.
        let mut tx = self.pool.begin().await?;
        let row = row.fetch_optional(&mut *tx).await?;
        let job = row.as_ref().map(job_from_row).transpose()?;
        if let Some(job) = &job {
            insert_audit(&mut tx, job.id, audit.at, audit.kind, audit.by, job.attempt, audit.message.as_deref())
                .await?;
        }
        tx.commit().await?;
        self.published(job)
    }

    async fn user_email(&self, id: Uuid) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("select email from users where id = ?1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?)
    }
}
