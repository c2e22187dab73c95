//! Webhooks on PostgreSQL: endpoints, the outcomes waiting to be delivered, the delivery log.

use super::PgStore;
use super::queue::NEW_JOBS_CHANNEL;
use crate::storage::webhooks::{DELIVERIES_KEPT, DeliveryJobs, WebhookStore};
use crate::storage::{StoreError, StoreResult, parse_column};
use crate::webhooks::{Delivery, OutboxEvent, Webhook, events_text, parse_events};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

fn webhook_from_row(row: &PgRow) -> StoreResult<Webhook> {
    let id: Uuid = row.try_get("id")?;
    let events: String = row.try_get("events")?;
    Ok(Webhook {
        events: parse_events(&events).map_err(|e| StoreError::BadRow { id: id.to_string(), problem: e.to_string() })?,
        owner_id: row.try_get("owner_id")?,
        url: row.try_get("url")?,
        secret: row.try_get("secret")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
        id,
    })
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn insert_webhook(&self, w: &Webhook) -> StoreResult<()> {
        sqlx::query(
            "insert into webhook_endpoints (id, owner_id, url, events, secret, created_at, created_by) \
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(w.id)
        .bind(w.owner_id)
        .bind(&w.url)
        .bind(events_text(&w.events))
        .bind(&w.secret)
        .bind(w.created_at)
        .bind(w.created_by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_webhooks(&self, owner: Uuid, with_global: bool) -> StoreResult<Vec<Webhook>> {
        let rows = sqlx::query(
            "select id, owner_id, url, events, secret, created_at, created_by from webhook_endpoints \
             where owner_id = $1 or ($2 and owner_id is null) order by created_at, id",
        )
        .bind(owner)
        .bind(with_global)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(webhook_from_row).collect()
    }

    async fn find_webhook(&self, id: Uuid) -> StoreResult<Option<Webhook>> {
        let row = sqlx::query(
            "select id, owner_id, url, events, secret, created_at, created_by from webhook_endpoints where id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(webhook_from_row).transpose()
    }

    async fn delete_webhook(&self, id: Uuid) -> StoreResult<bool> {
        let done = sqlx::query("delete from webhook_endpoints where id = $1").bind(id).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn was_delivered(&self, endpoint: Uuid, event_id: &str) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(
            "select exists (select 1 from webhook_deliveries where endpoint_id = $1 and event_id = $2 \
             and status_code between 200 and 299)",
        )
        .bind(endpoint)
        .bind(event_id)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn record_delivery(&self, endpoint: Uuid, d: &Delivery) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "insert into webhook_deliveries (endpoint_id, event_id, event_type, job_id, attempt, status_code, error, \
             duration_ms, at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(endpoint)
        .bind(&d.event_id)
        .bind(&d.event_type)
        .bind(d.job_id)
        .bind(d.attempt)
        .bind(d.status_code)
        .bind(&d.error)
        .bind(d.duration_ms)
        .bind(d.at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "delete from webhook_deliveries where endpoint_id = $1 and id <= \
             (select id from webhook_deliveries where endpoint_id = $1 order by id desc offset $2 limit 1)",
        )
        .bind(endpoint)
        .bind(DELIVERIES_KEPT)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn webhook_deliveries(&self, endpoint: Uuid, limit: u32) -> StoreResult<Vec<Delivery>> {
        let rows = sqlx::query(
            "select event_id, event_type, job_id, attempt, status_code, error, duration_ms, at \
             from webhook_deliveries where endpoint_id = $1 order by id desc limit $2",
        )
        .bind(endpoint)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Delivery {
                    event_id: row.try_get("event_id")?,
                    event_type: row.try_get("event_type")?,
                    job_id: row.try_get("job_id")?,
                    attempt: row.try_get("attempt")?,
                    status_code: row.try_get("status_code")?,
                    error: row.try_get("error")?,
                    duration_ms: row.try_get("duration_ms")?,
                    at: row.try_get("at")?,
                })
            })
            .collect()
    }

    async fn start_webhook_deliveries(&self, limit: u32, jobs: &DeliveryJobs<'_>) -> StoreResult<usize> {
        let mut tx = self.pool.begin().await?;
        // Another node's pass skips the rows this one took.
        let taken = sqlx::query(
            "delete from webhook_outbox where id in \
             (select id from webhook_outbox order by id limit $1 for update skip locked) \
             returning id, job_id, owner_id, event_type, occurred_at",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut inserted = 0;
        for row in &taken {
            let job_id: Uuid = row.try_get("job_id")?;
            let event = OutboxEvent {
                event: parse_column(&job_id, row.try_get("event_type")?)?,
                owner_id: row.try_get("owner_id")?,
                occurred_at: row.try_get("occurred_at")?,
                job_id,
            };
            // The endpoints as they are now: one deleted since the job ended gets nothing.
            let endpoints: Vec<Uuid> = sqlx::query_scalar(
                "select id from webhook_endpoints where (owner_id = $1 or owner_id is null) \
                 and (',' || events || ',') like ('%,' || $2 || ',%') order by id",
            )
            .bind(event.owner_id)
            .bind(event.event.as_str())
            .fetch_all(&mut *tx)
            .await?;
            for job in jobs(&event, &endpoints) {
                super::bind_new_job(
                    sqlx::query(
                        "insert into background_jobs (job_type, created_by, related_dataset_id, metadata, \
                         created_at, run_at, priority, max_retries, id) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    ),
                    &job,
                )
                .bind(crate::storage::new_job_id())
                .execute(&mut *tx)
                .await?;
                inserted += 1;
            }
        }
        if inserted > 0 {
            sqlx::query("select pg_notify($1, '')").bind(NEW_JOBS_CHANNEL).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }
}
