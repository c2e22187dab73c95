//! The last day's finished jobs on PostgreSQL: counts from the completion index, and the fold.

use super::PgStore;
use crate::jobs::finished::{MinuteCount, TimeRange};
use crate::jobs::stats::FinishedCount;
use crate::storage::finished::FinishedStore;
use crate::storage::{StoreResult, parse_column};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

#[async_trait]
impl FinishedStore for PgStore {
    async fn finished_counts(&self, ranges: &[TimeRange], hour: DateTime<Utc>) -> StoreResult<Vec<FinishedCount>> {
        if ranges.is_empty() {
            return Ok(Vec::new());
        }
        // One index range scan per range (an OR of ranges would read from the first start on).
        let mut q = sqlx::QueryBuilder::new(
            "select job_type, status, count(*) as last_day, count(*) filter (where completed_at >= ",
        );
        q.push_bind(hour).push(") as last_hour from (");
        for (i, (start, end)) in ranges.iter().enumerate() {
            if i > 0 {
                q.push(" union all ");
            }
            q.push(
                "select job_type, status, completed_at from background_jobs \
                 where status in ('completed', 'failed', 'cancelled') and completed_at >= ",
            )
            .push_bind(*start);
            if let Some(end) = end {
                q.push(" and completed_at < ").push_bind(*end);
            }
        }
        q.push(") finished group by job_type, status order by job_type, status");
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
        let done: Option<DateTime<Utc>> =
            sqlx::query_scalar("select done_until from finished_rollup where id = 1").fetch_one(&mut *tx).await?;
        let Some(done) = done.filter(|done| *done > from) else { return Ok((done, Vec::new())) };
        let rows = sqlx::query(
            "select minute, job_type, status, count from finished_minutes where minute >= $1 and minute < $2",
        )
        .bind(from)
        .bind(done)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let minutes = rows
            .iter()
            .map(|r| {
                Ok(MinuteCount {
                    minute: r.try_get("minute")?,
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
        // The row lock makes nodes take turns: a range is folded once.
        let done: Option<DateTime<Utc>> =
            sqlx::query_scalar("select done_until from finished_rollup where id = 1 for update")
                .fetch_one(&mut *tx)
                .await?;
        let from = done.map_or(oldest, |done| done.max(oldest));
        if until <= from {
            return Ok(None);
        }
        sqlx::query(
            "insert into finished_minutes (minute, job_type, status, count) \
             select date_trunc('minute', completed_at, 'UTC'), job_type, status, count(*) from background_jobs \
             where status in ('completed', 'failed', 'cancelled') and completed_at >= $1 and completed_at < $2 \
             group by 1, 2, 3",
        )
        .bind(from)
        .bind(until)
        .execute(&mut *tx)
        .await?;
        sqlx::query("update finished_rollup set done_until = $1 where id = 1").bind(until).execute(&mut *tx).await?;
        sqlx::query("delete from finished_minutes where minute < $1").bind(oldest).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(until))
    }
}
