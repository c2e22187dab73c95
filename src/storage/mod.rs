//! Storage: every database operation jobwatch needs, behind one trait with a PostgreSQL and
//! a SQLite implementation. Everything above this boundary is written once; the contract
//! test suite runs against both.

/// The `background_jobs` columns every job query returns, in one place for both backends.
macro_rules! job_columns {
    () => {
        "id, job_type, status, progress, related_dataset_id, created_by, created_at, started_at, \
         completed_at, error_message, retry_count, max_retries, metadata, priority, run_at, attempt, \
         cancel_requested_at, version, stage, heartbeat_at"
    };
}

pub mod finished;
pub mod history;
pub mod imports;
pub mod live;
pub mod notify;
mod postgres;
pub mod queue;
pub mod schedules;
mod sqlite;
pub mod webhooks;

use crate::jobs::events::{JobEvents, Owners};
use crate::jobs::model::{Job, NewJob};
use crate::jobs::state::JobChange;
use crate::users::{NewUser, User};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub use finished::FinishedStore;
pub use history::HistoryStore;
pub use imports::ImportStore;
pub use live::LiveStore;
pub use notify::NotifyStore;
pub use postgres::PgStore;
pub use queue::{Beat, ClaimKey, Held, Listener, Queue, Signal, Written};
pub use schedules::ScheduleStore;
pub use sqlite::SqliteStore;
pub use webhooks::WebhookStore;

/// The unique indexes a caller may run into on purpose, by the names the migrations give them
/// (the same on both backends). A service maps these to its conflict; a violation of any other
/// index is a bug, and answers 500.
pub mod unique {
    /// A user's email, regardless of case.
    pub const USER_EMAIL: &str = "users_email_key";
    /// A supplier's name per owner, regardless of case.
    pub const SUPPLIER_NAME: &str = "suppliers_owner_name_key";
    /// A schedule's name.
    pub const SCHEDULE_NAME: &str = "job_schedules_name_key";
    /// A dataset's SHA-256 per supplier.
    pub const DATASET_SHA256: &str = "datasets_supplier_sha256_key";
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique index refused the row: the index's name (see [`unique`]) as PostgreSQL gives
    /// it; SQLite's message names it, or its columns, which `sqlite` translates.
    #[error("unique constraint violated: {0}")]
    Unique(String),
    #[error("foreign key violated: {0}")]
    ForeignKey(String),
    /// A row holds a value the code does not understand (e.g. written by another tool).
    #[error("row {id}: {problem}")]
    BadRow { id: String, problem: String },
    /// The database cannot be reached right now (restarting, network, pool exhausted):
    /// worth retrying, unlike the other errors.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if is_unavailable(&err) {
            return StoreError::Unavailable(err);
        }
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                // SQLite's errors carry no constraint name, only a message naming it.
                let index = db.constraint().map_or_else(|| sqlite::unique_index(db.message()), str::to_owned);
                return StoreError::Unique(index);
            }
            if db.is_foreign_key_violation() {
                return StoreError::ForeignKey(db.constraint().unwrap_or_default().to_owned());
            }
        }
        StoreError::Database(err)
    }
}

impl StoreError {
    /// Whether this is a violation of the unique index `index` (one of [`unique`]).
    pub fn violates(&self, index: &str) -> bool {
        matches!(self, StoreError::Unique(name) if name == index)
    }
}

/// Errors that say the database is away, not that the query was wrong.
fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => is_unavailable_code(&db.code().unwrap_or_default()),
        _ => false,
    }
}

/// The codes a database answers with while it is away or not taking connections for now: the
/// one place a restart, a failover or a crowd of clients is told from a bad statement.
/// PostgreSQL: class 08 (connection exception), 57P01 (shut down by an administrator, as
/// `pg_ctl stop -m fast` tells every connection), 57P02 (another backend crashed), 57P03 (starting
/// up or shutting down: cannot connect now), 53300 (too many connections). SQLite: SQLITE_BUSY (5)
/// or SQLITE_LOCKED (6) outlasting the busy timeout, and their extended codes (the low byte is
/// the primary code: 517 BUSY_SNAPSHOT, 261 BUSY_RECOVERY, 262 LOCKED_SHAREDCACHE, …), which is
/// what sqlx reports.
fn is_unavailable_code(code: &str) -> bool {
    // PostgreSQL's SQLSTATEs are five characters (22021 is not SQLite's 5 | 86 << 8).
    let sqlite_busy = code.len() < 5 && code.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6));
    sqlite_busy || code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What another node changed, as heard by [`Store::listen_changes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// Another node changed jobs of these owners.
    Changed(Owners),
    /// The connection dropped and was made again: notifications may have been missed.
    Reconnected,
}

/// A subscription to other nodes' job changes.
#[async_trait]
pub trait ChangeFeed: Send {
    async fn next(&mut self) -> Heard;
}

/// The operations of every backend. Each is one statement or one short transaction.
///
/// Every statement that writes jobs reports the jobs it changed (their id, owner and new
/// version) on [`Store::events`], once per statement, and the job-writing methods return them.
#[async_trait]
pub trait Store:
    Queue
    + ScheduleStore
    + ImportStore
    + HistoryStore
    + FinishedStore
    + LiveStore
    + NotifyStore
    + WebhookStore
    + Send
    + Sync
    + 'static
{
    /// Which backend this is, for logs and `/readyz`.
    fn backend(&self) -> &'static str;

    /// Where this process's job changes are published.
    fn events(&self) -> &JobEvents;

    /// Other nodes' job changes; `None` where there are no other nodes (SQLite).
    async fn listen_changes(&self) -> StoreResult<Option<Box<dyn ChangeFeed>>>;
    async fn ping(&self) -> StoreResult<()>;

    /// Apply every pending migration; returns the versions applied.
    async fn migrate_up(&self) -> StoreResult<Vec<i64>>;
    /// Roll back every applied migration newer than `target`; returns the versions undone.
    async fn migrate_down(&self, target: i64) -> StoreResult<Vec<i64>>;
    /// Versions applied so far, oldest first.
    async fn applied_migrations(&self) -> StoreResult<Vec<i64>>;

    async fn insert_user(&self, user: &NewUser) -> StoreResult<User>;
    async fn any_user_exists(&self) -> StoreResult<bool>;
    /// The user and their password hash, matching the email case-insensitively.
    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>>;

    async fn insert_token(
        &self,
        token_hash: &[u8],
        user_id: Uuid,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The owner of an unexpired token.
    async fn find_user_by_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<Option<User>>;
    /// Disable a user (`Some(at)`; their tokens are deleted in the same transaction) or enable
    /// them again (`None`). `None` when there is no such user.
    async fn set_user_disabled(&self, id: Uuid, disabled_at: Option<DateTime<Utc>>) -> StoreResult<Option<User>>;
    async fn delete_token(&self, token_hash: &[u8]) -> StoreResult<()>;
    async fn delete_expired_tokens(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;

    /// `Some(owner)` when the dataset exists (the owner may be unknown).
    async fn dataset_owner(&self, id: Uuid) -> StoreResult<Option<Option<Uuid>>>;

    async fn insert_job(&self, job: &NewJob) -> StoreResult<Job>;
    async fn find_job(&self, id: Uuid) -> StoreResult<Option<Job>>;
    /// The user's pending and running jobs, and those finished at or after `finished_since`,
    /// newest first.
    async fn active_jobs(&self, user_id: Uuid, finished_since: DateTime<Utc>) -> StoreResult<Vec<Job>>;
    /// A bearer token's owner and their active jobs (as [`Store::active_jobs`]); `None` when
    /// the token is unknown or expired. The hot path of the frontend's polling: a backend where
    /// a round trip is costly answers it in one statement.
    async fn active_jobs_for_token(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
        finished_since: DateTime<Utc>,
    ) -> StoreResult<Option<(Uuid, Vec<Job>)>> {
        match self.find_user_by_token(token_hash, now).await? {
            Some(user) => Ok(Some((user.id, self.active_jobs(user.id, finished_since).await?))),
            None => Ok(None),
        }
    }

    /// Apply `change` if the job is in one of `change.from`; `None` if it is not (or is gone).
    async fn change_job(&self, id: Uuid, change: &JobChange) -> StoreResult<Option<Job>>;

    async fn user_email(&self, id: Uuid) -> StoreResult<Option<String>>;
}

/// Connection settings shared by both backends.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_connections: 16, acquire_timeout: Duration::from_secs(5) }
    }
}

/// Open the database a URL names: `postgres://…` or `sqlite://…` (created if missing).
pub async fn connect(url: &str, settings: &PoolSettings) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url, settings).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url, settings).await?))
    } else {
        anyhow::bail!("unsupported DATABASE_URL scheme (expected postgres:// or sqlite://)")
    }
}

/// Shared by the backends: the versions a migrator knows, applied or rolled back between
/// two snapshots of the applied set.
fn version_diff(before: &[i64], after: &[i64]) -> Vec<i64> {
    let (longer, shorter) = if before.len() > after.len() { (before, after) } else { (after, before) };
    longer.iter().copied().filter(|v| !shorter.contains(v)).collect()
}

/// Ids for new jobs: time-ordered (UUIDv7), so inserts append to the primary key instead of
/// splitting pages all over it, and ids sort roughly by creation. 74 random bits keep them
/// unguessable.
pub(crate) fn new_job_id() -> Uuid {
    Uuid::now_v7()
}

/// Parses a status/type text column, naming the row on failure.
pub(crate) fn parse_column<T: std::str::FromStr>(id: &Uuid, text: &str) -> StoreResult<T>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e: T::Err| StoreError::BadRow { id: id.to_string(), problem: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_trouble_is_unavailable_not_a_bug() {
        assert!(matches!(StoreError::from(sqlx::Error::PoolTimedOut), StoreError::Unavailable(_)));
        assert!(matches!(StoreError::from(sqlx::Error::PoolClosed), StoreError::Unavailable(_)));
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(matches!(StoreError::from(sqlx::Error::Io(io)), StoreError::Unavailable(_)));
        assert!(matches!(StoreError::from(sqlx::Error::RowNotFound), StoreError::Database(_)));
    }

    #[test]
    fn a_restarting_or_crowded_database_is_unavailable_a_bad_statement_is_not() {
        for code in ["08006", "08001", "08P01", "57P01", "57P02", "57P03", "53300", "5", "6", "517", "261", "262"] {
            assert!(is_unavailable_code(code), "{code}");
        }
        // A unique violation, a syntax error, a cancelled statement, a full disk on the server.
        for code in ["23505", "42601", "57014", "53100", "22021", "2067", ""] {
            assert!(!is_unavailable_code(code), "{code}");
        }
    }

    #[test]
    fn version_diff_lists_what_changed() {
        assert_eq!(version_diff(&[1], &[1, 2, 3]), vec![2, 3]);
        assert_eq!(version_diff(&[1, 2, 3], &[1]), vec![2, 3]);
        assert!(version_diff(&[1], &[1]).is_empty());
    }
}
