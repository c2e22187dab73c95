//! Email notifications on PostgreSQL: settings and the outcomes waiting for a digest.

use super::PgStore;
use super::queue::NEW_JOBS_CHANNEL;
use crate::jobs::model::NewJob;
use crate::notify::{DigestLine, EmailNotify, Recipient};
use crate::storage::notify::NotifyStore;
use crate::storage::{StoreResult, parse_column};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

#[async_trait]
impl NotifyStore for PgStore {
    async fn mail_recipient(&self, user: Uuid) -> StoreResult<Option<Recipient>> {
        let row =
            sqlx::query("select email, notify_email, disabled_at is not null as disabled from users where id = $1")
                .bind(user)
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
        let done = sqlx::query("update users set notify_email = $2 where id = $1")
            .bind(user)
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
        Ok(sqlx::query_scalar(
            "select user_id from mail_pending where digest_job_id is null group by user_id \
             having max(finished_at) <= $1 or min(finished_at) <= $2 limit $3",
        )
        .bind(quiet_since)
        .bind(waited_since)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn start_digest(&self, user: Uuid, job: &NewJob) -> StoreResult<Option<Uuid>> {
        let id = crate::storage::new_job_id();
        let mut tx = self.pool.begin().await?;
        // A second node racing for the same user waits on these rows, then finds none left.
        let taken =
            sqlx::query("update mail_pending set digest_job_id = $2 where user_id = $1 and digest_job_id is null")
                .bind(user)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if taken == 0 {
            return Ok(None);
        }
        // Ownerless, so no owner to notify; the claim loop is woken like for any new job.
        super::bind_new_job(
            sqlx::query(
                "insert into background_jobs (job_type, created_by, related_dataset_id, metadata, created_at, \
                 run_at, priority, max_retries, id) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            ),
            job,
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("select pg_notify($1, '')").bind(NEW_JOBS_CHANNEL).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    async fn digest_lines(&self, digest: Uuid) -> StoreResult<Vec<DigestLine>> {
        let rows = sqlx::query(
            "select m.job_id, m.job_type, m.status, m.finished_at, \
                    case when jsonb_typeof(j.metadata -> 'filename') = 'string' then j.metadata ->> 'filename' end as file_name, \
                    j.error_message \
             from mail_pending m left join background_jobs j on j.id = m.job_id \
             where m.digest_job_id = $1 order by m.finished_at, m.id",
        )
        .bind(digest)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let job_id: Uuid = row.try_get("job_id")?;
                Ok(DigestLine {
                    job_type: parse_column(&job_id, row.try_get("job_type")?)?,
                    status: parse_column(&job_id, row.try_get("status")?)?,
                    finished_at: row.try_get("finished_at")?,
                    file_name: row.try_get("file_name")?,
                    error_message: row.try_get("error_message")?,
                    job_id,
                })
            })
            .collect()
    }

    async fn finish_digest(&self, digest: Uuid) -> StoreResult<u64> {
        let done =
            sqlx::query("delete from mail_pending where digest_job_id = $1").bind(digest).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}
