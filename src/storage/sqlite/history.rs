//! History pages and audit trails on SQLite.

use super::{SqliteStore, job_from_row, json_list, required, time_column, time_text, uuid_column};
use crate::jobs::history::{HistoryFilter, Owner, QueueDepth, id_prefix, like_escaped};
use crate::jobs::model::Job;
use crate::jobs::timeline::AuditRecord;
use crate::storage::history::HistoryStore;
use crate::storage::{StoreResult, parse_column};
use async_trait::async_trait;

use sqlx::Row;
use uuid::Uuid;

#[async_trait]
impl HistoryStore for SqliteStore {
    async fn job_history(&self, filter: &HistoryFilter, limit: u32) -> StoreResult<Vec<Job>> {
        let mut q = sqlx::QueryBuilder::new(concat!(
            "select ",
            job_columns!(),
            " from background_jobs where created_by is not null"
        ));
        if let Owner::One(owner) = filter.owner {
            q.push(" and created_by = ").push_bind(owner.to_string());
        }
        match filter.statuses.as_slice() {
            [] => {}
            [one] => {
                q.push(" and status = ").push_bind(one.as_str());
            }
            many => {
                let names: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
                q.push(" and status in (select value from json_each(").push_bind(json_list(&names)).push("))");
            }
        }
        if !filter.types.is_empty() {
            let names: Vec<&str> = filter.types.iter().map(|t| t.as_str()).collect();
            q.push(" and job_type in (select value from json_each(").push_bind(json_list(&names)).push("))");
        }
        if let Some(from) = filter.created_from {
            q.push(" and created_at >= ").push_bind(time_text(from));
        }
        if let Some(to) = filter.created_to {
            q.push(" and created_at < ").push_bind(time_text(to));
        }
        if let Some(search) = &filter.search {
            // SQLite's LIKE ignores case for ASCII letters.
            let pattern = format!("%{}%", like_escaped(search));
            // search_text: the file name and the error, kept in the history indexes.
            q.push(" and (search_text like ").push_bind(pattern).push(" escape '\\'");
            if let Some(prefix) = id_prefix(search) {
                q.push(" or id like ").push_bind(format!("{}%", like_escaped(&prefix))).push(" escape '\\'");
            }
            q.push(")");
        }
        if let Some(after) = filter.after {
            q.push(" and (created_at, id) < (")
                .push_bind(time_text(after.created_at))
                .push(", ")
                .push_bind(after.id.to_string())
                .push(")");
        }
        q.push(" order by created_at desc, id desc limit ").push_bind(i64::from(limit));
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn job_audit(&self, job: Uuid) -> StoreResult<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "select a.at, a.kind, a.actor, u.email as actor_email, a.attempt, a.message, a.bulk \
             from job_audit a left join users u on u.id = a.actor where a.job_id = ?1 order by a.id",
        )
        .bind(job.to_string())
        .fetch_all(&self.pool)
        .await?;
        let raw = job.to_string();
        rows.iter()
            .map(|r| {
                Ok(AuditRecord {
                    at: required(&raw, "at", time_column(&raw, r, "at")?)?,
                    kind: parse_column(&job, r.try_get("kind")?)?,
                    actor: uuid_column(&raw, r, "actor")?,
                    actor_email: r.try_get("actor_email")?,
                    attempt: r.try_get("attempt")?,
                    message: r.try_get("message")?,
                    bulk: r.try_get("bulk")?,
                })
            })
            .collect()
    }

    async fn queue_depth(&self) -> StoreResult<Vec<QueueDepth>> {
        let rows = sqlx::query(crate::storage::history::QUEUE_DEPTH).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(QueueDepth {
                    job_type: parse_column(&Uuid::nil(), r.try_get("job_type")?)?,
                    status: parse_column(&Uuid::nil(), r.try_get("status")?)?,
                    count: r.try_get("count")?,
                    oldest_created_at: required("queue", "oldest", time_column("queue", r, "oldest")?)?,
                })
            })
            .collect()
    }
}
