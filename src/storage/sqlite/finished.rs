//! The last day's finished jobs on SQLite: see the PostgreSQL file.

use super::{SqliteStore, time_text};
use crate::jobs::finished::{MinuteCount, TimeRange};
use crate::jobs::stats::FinishedCount;
use crate::storage::finished::FinishedStore;
use crate::storage::{StoreError, StoreResult, parse_column};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

fn time(text: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::BadRow { id: "finished_rollup".into(), problem: format!("{text:?}: {e}") })
}

#[async_trait]
impl FinishedStore for SqliteStore {
    async fn finished_counts(&self, ranges: &[TimeRange], hour: DateTime<Utc>) -> StoreResult<Vec<FinishedCount>> {
        if ranges.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = sqlx::QueryBuilder::new(
            "select job_type, status, count(*) as last_day, count(*) filter (where completed_at >= ",
        );
        q.push_bind(time_text(hour)).push(") as last_hour from (");
        for (i, (start, end)) in ranges.iter().enumerate() {
            if i > 0 {
                q.push(" union all ");
            }
            q.push(
                "select job_type, status, completed_at from background_jobs \
                 where status in ('completed', 'failed', 'cancelled') and completed_at >= ",
            )
            .push_bind(time_text(*start));
            if let Some(end) = end {
                q.push(" and completed_at < ").push_bind(time_text(*end));
            }
        }
        q.push(") group by job_type, status order by job_type, status");
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(FinishedCount {
                    job_type: parse_column(&Uuid::nil(), r.try_get("job_type")?)?,
                    status: parse_column(&Uuid::nil(), r.try_get("status")?)?,
                    last_day: r.try_get("last_day")?,
                    last_hour: r.try_get("last_hour")?,
                })
            })
            .collect()
    }

    async fn finished_minutes(&self, from: DateTime<Utc>) -> StoreResult<(Option<DateTime<Utc>>, Vec<MinuteCount>)> {
        let mut tx = self.pool.begin().await?;
        let done: Option<String> =
            sqlx::query_scalar("select done_until from finished_rollup where id = 1").fetch_one(&mut *tx).await?;
        let done = done.as_deref().map(time).transpose()?;
        let Some(done) = done.filter(|done| *done > from) else { return Ok((done, Vec::new())) };
        let rows = sqlx::query(
            "select minute, job_type, status, count from finished_minutes where minute >= ?1 and minute < ?2",
        )
        .bind(time_text(from))
        .bind(time_text(done))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let minutes = rows
            .iter()
            .map(|r| {
                Ok(MinuteCount {
                    minute: time(r.try_get("minute")?)?,
                    job_type: parse_column(&Uuid::nil(), r.try_get("job_type")?)?,
                    status: parse_column(&Uuid::nil(), r.try_get("status")?)?,
                    count: r.try_get("count")?,
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok((Some(done), minutes))
    }

    async fn roll_up_finished(
        &self,
        until: DateTime<Utc>,
        oldest: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let mut tx = self.pool.begin().await?;
        // A write first, so this transaction holds the write lock from its start (a read that
        // later writes could find another writer went first).
        let done: Option<String> =
            sqlx::query_scalar("update finished_rollup set done_until = done_until where id = 1 returning done_until")
                .fetch_one(&mut *tx)
                .await?;
        let done = done.as_deref().map(time).transpose()?;
        let from = done.map_or(oldest, |done| done.max(oldest));
        if until <= from {
            return Ok(None);
        }
        // Times are canonical text ('…T10:04:05.123Z'): the first 16 characters are the minute.
        sqlx::query(
            "insert into finished_minutes (minute, job_type, status, count) \
             select substr(completed_at, 1, 16) || ':00.000Z', job_type, status, count(*) from background_jobs \
             where status in ('completed', 'failed', 'cancelled') and completed_at >= ?1 and completed_at < ?2 \
             group by 1, 2, 3",
        )
        .bind(time_text(from))
        .bind(time_text(until))
        .execute(&mut *tx)
        .await?;
        sqlx::query("update finished_rollup set done_until = ?1 where id = 1")
            .bind(time_text(until))
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from finished_minutes where minute < ?1").bind(time_text(oldest)).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(until))
    }
}
