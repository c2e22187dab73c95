//! Email notifications on SQLite: see the PostgreSQL file.

use super::{SqliteStore, required, time_column, time_text, uuid_column};
use crate::jobs::model::NewJob;
use crate::notify::{DigestLine, EmailNotify, Recipient};
use crate::storage::notify::NotifyStore;
use crate::storage::{Signal, StoreResult, parse_column};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

#[async_trait]
impl NotifyStore for SqliteStore {
    async fn mail_recipient(&self, user: Uuid) -> StoreResult<Option<Recipient>> {
        let row =
            sqlx::query("select email, notify_email, disabled_at is not null as disabled from users where id = ?1")
                .bind(user.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| {
            Ok(Recipient {
                email: row.try_get("email")?,
                notify: parse_column(&user, row.try_get("notify_email")?)?,
                disabled: row.try_get("disabled")?,
            })
        })
        .transpose()
    }

    async fn set_email_notify(&self, user: Uuid, setting: EmailNotify) -> StoreResult<bool> {
        let done = sqlx::query("update users set notify_email = ?2 where id = ?1")
            .bind(user.to_string())
            .bind(setting.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn due_digests(
        &self,
        quiet_since: DateTime<Utc>,
        waited_since: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Uuid>> {
        let users: Vec<String> = sqlx::query_scalar(
            "select user_id from mail_pending where digest_job_id is null group by user_id \
             having max(finished_at) <= ?1 or min(finished_at) <= ?2 limit ?3",
        )
        .bind(time_text(quiet_since))
        .bind(time_text(waited_since))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        users.iter().map(|u| parse_column(&Uuid::nil(), u)).collect()
    }

    async fn start_digest(&self, user: Uuid, job: &NewJob) -> StoreResult<Option<Uuid>> {
        let id = crate::storage::new_job_id();
        let mut tx = self.pool.begin().await?;
        let taken =
            sqlx::query("update mail_pending set digest_job_id = ?2 where user_id = ?1 and digest_job_id is null")
                .bind(user.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if taken == 0 {
            return Ok(None);
        }
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
        tx.commit().await?;
        self.signal(Signal::NewJobs);
        Ok(Some(id))
    }

    async fn digest_lines(&self, digest: Uuid) -> StoreResult<Vec<DigestLine>> {
        let rows = sqlx::query(
            "select m.job_id, m.job_type, m.status, m.finished_at, \
                    case when json_type(j.metadata, '$.filename') = 'text' then json_extract(j.metadata, '$.filename') end as file_name, \
                    j.error_message \
             from mail_pending m left join background_jobs j on j.id = m.job_id \
             where m.digest_job_id = ?1 order by m.finished_at, m.id",
        )
        .bind(digest.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let raw: String = row.try_get("job_id")?;
                let job_id = required(&raw, "job_id", uuid_column(&raw, row, "job_id")?)?;
                Ok(DigestLine {
                    job_type: parse_column(&job_id, row.try_get("job_type")?)?,
                    status: parse_column(&job_id, row.try_get("status")?)?,
                    finished_at: required(&raw, "finished_at", time_column(&raw, row, "finished_at")?)?,
                    file_name: row.try_get("file_name")?,
                    error_message: row.try_get("error_message")?,
                    job_id,
                })
            })
            .collect()
    }

    async fn finish_digest(&self, digest: Uuid) -> StoreResult<u64> {
        let done = sqlx::query("delete from mail_pending where digest_job_id = ?1")
            .bind(digest.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
