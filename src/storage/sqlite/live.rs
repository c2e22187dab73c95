//! Live-update reads on SQLite.

use super::{SqliteStore, job_from_row, json_list, time_text};
use crate::jobs::events::Owners;
use crate::jobs::model::Job;
use crate::storage::StoreResult;
use crate::storage::live::LiveStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
impl LiveStore for SqliteStore {
    async fn jobs_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Job>> {
        let sql =
            concat!("select ", job_columns!(), " from background_jobs where id in (select value from json_each(?1))");
        let rows = sqlx::query(sql).bind(json_list(ids)).fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn active_jobs_of(
        &self,
        owners: &Owners,
        finished_since: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Job>> {
        // As `active_jobs`, for many owners at once, or for all: then the owner index cannot
        // seek, and SQLite is left to choose (it takes the completed_at index).
        let (owned, finished_index) = match owners {
            Owners::Some(_) => {
                ("created_by in (select value from json_each(?1))", "indexed by background_jobs_finished_idx")
            }
            Owners::All => ("?1 is null", ""),
        };
        let sql = format!(
            "select {cols} from background_jobs \
             where {owned} and created_by is not null and status in ('pending', 'running') \
             union all \
             select {cols} from background_jobs {finished_index} \
             where {owned} and created_by is not null \
               and completed_at >= ?2 and status in ('completed', 'failed', 'cancelled') \
             order by created_at desc limit ?3",
            cols = job_columns!(),
        );
        let owners = match owners {
            Owners::Some(owners) => Some(json_list(owners)),
            Owners::All => None,
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owners)
            .bind(time_text(finished_since))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn live_tokens(&self, token_hashes: &[Vec<u8>], now: DateTime<Utc>) -> StoreResult<Vec<Vec<u8>>> {
        let hex: Vec<String> = token_hashes.iter().map(hex::encode).collect();
        Ok(sqlx::query_scalar(
            "select t.token_hash from auth_tokens t join users u on u.id = t.user_id \
             where t.token_hash in (select unhex(value) from json_each(?1)) and t.expires_at > ?2 \
               and u.disabled_at is null",
        )
        .bind(json_list(&hex))
        .bind(time_text(now))
        .fetch_all(&self.pool)
        .await?)
    }
}
