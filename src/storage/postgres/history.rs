//! History pages and audit trails on PostgreSQL.

use super::{PgStore, job_from_row};
use crate::jobs::history::{HistoryFilter, Owner, QueueDepth, id_prefix, like_escaped};
use crate::jobs::model::Job;
use crate::jobs::timeline::AuditRecord;
use crate::storage::history::HistoryStore;
use crate::storage::{StoreResult, parse_column};
use async_trait::async_trait;

use sqlx::Row;
use uuid::Uuid;

#[async_trait]
impl HistoryStore for PgStore {
    async fn job_history(&self, filter: &HistoryFilter, limit: u32) -> StoreResult<Vec<Job>> {
        // Two steps: the page's keys first, decided in a history index alone (it carries each
        // job's type and search text; a plain index scan would visit every passed job's heap
        // page before testing them: 39 ms instead of 3 for a rare search among 10 000 jobs),
        // then the page's rows by id.
        // Only the conditions asked for, so each shape of query gets a plan of its own:
        // `created_by = $1` walks the per-user history index, everyone's the created_at one.
        // One status is an equality, which a status history index serves in order; several
        // are one such ordered page each, merged: never a scan past other statuses' jobs.
        let mut q = sqlx::QueryBuilder::new(concat!("select ", job_columns!(), " from ("));
        match filter.statuses.as_slice() {
            [] => keys(&mut q, filter, None, limit),
            [one] => keys(&mut q, filter, Some(one.as_str()), limit),
            many => {
                q.push("select * from (");
                for (i, status) in many.iter().enumerate() {
                    q.push(if i == 0 { "(" } else { " union all (" });
                    keys(&mut q, filter, Some(status.as_str()), limit);
                    q.push(")");
                }
                q.push(") pages order by key_at desc, key_id desc limit ").push_bind(i64::from(limit));
            }
        }
        q.push(") page join background_jobs on id = page.key_id order by page.key_at desc, page.key_id desc");
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn job_audit(&self, job: Uuid) -> StoreResult<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "select a.at, a.kind, a.actor, u.email as actor_email, a.attempt, a.message, a.bulk \
             from job_audit a left join users u on u.id = a.actor where a.job_id = $1 order by a.id",
        )
        .bind(job)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditRecord {
                    at: r.try_get("at")?,
                    kind: parse_column(&job, r.try_get("kind")?)?,
                    actor: r.try_get("actor")?,
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
                    oldest_created_at: r.try_get("oldest")?,
                })
            })
            .collect()
    }
}

/// The keys (`key_id`, `key_at`) of one page of `filter`'s jobs, of one status or any, newest
/// first: every condition is on a history index's columns, so the page is read from it alone.
fn keys(q: &mut sqlx::QueryBuilder<sqlx::Postgres>, filter: &HistoryFilter, status: Option<&str>, limit: u32) {
    q.push("select id as key_id, created_at as key_at from background_jobs where created_by is not null");
    if let Owner::One(owner) = filter.owner {
        q.push(" and created_by = ").push_bind(owner);
    }
    if let Some(status) = status {
        q.push(" and status = ").push_bind(status.to_owned());
    }
    if !filter.types.is_empty() {
        let names: Vec<&str> = filter.types.iter().map(|t| t.as_str()).collect();
        q.push(" and job_type = any(").push_bind(names).push(")");
    }
    if let Some(from) = filter.created_from {
        q.push(" and created_at >= ").push_bind(from);
    }
    if let Some(to) = filter.created_to {
        q.push(" and created_at < ").push_bind(to);
    }
    if let Some(search) = &filter.search {
        let pattern = format!("%{}%", like_escaped(search));
        // search_text is the file name and the error, lowercased, kept in the history indexes.
        q.push(" and (search_text like lower(").push_bind(pattern).push(")");
        if let Some(prefix) = id_prefix(search) {
            q.push(" or id::text like ").push_bind(format!("{}%", like_escaped(&prefix)));
        }
        q.push(")");
    }
    if let Some(after) = filter.after {
        q.push(" and (created_at, id) < (").push_bind(after.created_at).push(", ").push_bind(after.id).push(")");
    }
    q.push(" order by created_at desc, id desc limit ").push_bind(i64::from(limit));
}
