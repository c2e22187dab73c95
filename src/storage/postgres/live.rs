//! Live-update reads on PostgreSQL.

use super::{PgStore, job_from_row};
use crate::jobs::events::Owners;
use crate::jobs::model::Job;
use crate::storage::StoreResult;
use crate::storage::live::LiveStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
impl LiveStore for PgStore {
    async fn jobs_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Job>> {
        let sql = concat!("select ", job_columns!(), " from background_jobs where id = any($1)");
        let rows = sqlx::query(sql).bind(ids).fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn active_jobs_of(
        &self,
        owners: &Owners,
        finished_since: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Job>> {
        // As `active_jobs`: the two partial indexes, for many owners at once (null: all).
        let sql = concat!(
            "select ",
            job_columns!(),
            " from background_jobs \
             where ($1::uuid[] is null or created_by = any($1)) and created_by is not null \
               and status in ('pending', 'running') \
             union all \
             select ",
            job_columns!(),
            " from background_jobs \
             where ($1::uuid[] is null or created_by = any($1)) and created_by is not null \
               and completed_at >= $2 and status in ('completed', 'failed', 'cancelled') \
             order by created_at desc limit $3"
        );
        let owners = match owners {
            Owners::Some(owners) => Some(owners.as_slice()),
            Owners::All => None,
        };
        let rows =
            sqlx::query(sql).bind(owners).bind(finished_since).bind(i64::from(limit)).fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn live_tokens(&self, token_hashes: &[Vec<u8>], now: DateTime<Utc>) -> StoreResult<Vec<Vec<u8>>> {
        Ok(sqlx::query_scalar(
            "select t.token_hash from auth_tokens t join users u on u.id = t.user_id \
             where t.token_hash = any($1) and t.expires_at > $2 and u.disabled_at is null",
        )
        .bind(token_hashes)
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }
}
