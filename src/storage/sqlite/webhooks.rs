//! Webhooks on SQLite: see the PostgreSQL file.

use super::{SqliteStore, required, time_column, time_text, uuid_column};
use crate::storage::webhooks::{DELIVERIES_KEPT, DeliveryJobs, WebhookStore};
use crate::storage::{Signal, StoreError, StoreResult, parse_column};
use crate::webhooks::{Delivery, OutboxEvent, Webhook, events_text, parse_events};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

fn webhook_from_row(row: &SqliteRow) -> StoreResult<Webhook> {
    let raw: String = row.try_get("id")?;
    let events: String = row.try_get("events")?;
    Ok(Webhook {
        id: required(&raw, "id", uuid_column(&raw, row, "id")?)?,
        owner_id: uuid_column(&raw, row, "owner_id")?,
        url: row.try_get("url")?,
        events: parse_events(&events).map_err(|e| StoreError::BadRow { id: raw.clone(), problem: e.to_string() })?,
        secret: row.try_get("secret")?,
        created_at: required(&raw, "created_at", time_column(&raw, row, "created_at")?)?,
        created_by: uuid_column(&raw, row, "created_by")?,
    })
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn insert_webhook(&self, w: &Webhook) -> StoreResult<()> {
        sqlx::query(
            "insert into webhook_endpoints (id, owner_id, url, events, secret, created_at, created_by) \
             values (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(w.id.to_string())
        .bind(w.owner_id.map(|u| u.to_string()))
        .bind(&w.url)
        .bind(events_text(&w.events))
        .bind(&w.secret)
        .bind(time_text(w.created_at))
        .bind(w.created_by.map(|u| u.to_string()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_webhooks(&self, owner: Uuid, with_global: bool) -> StoreResult<Vec<Webhook>> {
        let rows = sqlx::query(
            "select id, owner_id, url, events, secret, created_at, created_by from webhook_endpoints \
             where owner_id = ?1 or (?2 and owner_id is null) order by created_at, id",
        )
        .bind(owner.to_string())
        .bind(with_global)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(webhook_from_row).collect()
    }

    async fn find_webhook(&self, id: Uuid) -> StoreResult<Option<Webhook>> {
        let row = sqlx::query(
            "select id, owner_id, url, events, secret, created_at, created_by from webhook_endpoints where id = ?1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(webhook_from_row).transpose()
    }

    async fn delete_webhook(&self, id: Uuid) -> StoreResult<bool> {
        let done =
            sqlx::query("delete from webhook_endpoints where id = ?1").bind(id.to_string()).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn was_delivered(&self, endpoint: Uuid, event_id: &str) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(
            "select exists (select 1 from webhook_deliveries where endpoint_id = ?1 and event_id = ?2 \
             and status_code between 200 and 299)",
        )
        .bind(endpoint.to_string())
        .bind(event_id)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn record_delivery(&self, endpoint: Uuid, d: &Delivery) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "insert into webhook_deliveries (endpoint_id, event_id, event_type, job_id, attempt, status_code, error, \
             duration_ms, at) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .bind(endpoint.to_string())
        .bind(&d.event_id)
        .bind(&d.event_type)
        .bind(d.job_id.map(|u| u.to_string()))
        .bind(d.attempt)
        .bind(d.status_code)
        .bind(&d.error)
        .bind(d.duration_ms)
        .bind(time_text(d.at))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "delete from webhook_deliveries where endpoint_id = ?1 and id <= \
             (select id from webhook_deliveries where endpoint_id = ?1 order by id desc limit 1 offset ?2)",
        )
        .bind(endpoint.to_string())
        .bind(DELIVERIES_KEPT)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn webhook_deliveries(&self, endpoint: Uuid, limit: u32) -> StoreResult<Vec<Delivery>> {
        let rows = sqlx::query(
            "select id, event_id, event_type, job_id, attempt, status_code, error, duration_ms, at \
             from webhook_deliveries where endpoint_id = ?1 order by id desc limit ?2",
        )
        .bind(endpoint.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let raw = row.try_get::<i64, _>("id")?.to_string();
                Ok(Delivery {
                    event_id: row.try_get("event_id")?,
                    event_type: row.try_get("event_type")?,
                    job_id: uuid_column(&raw, row, "job_id")?,
                    attempt: row.try_get("attempt")?,
                    status_code: row.try_get("status_code")?,
                    error: row.try_get("error")?,
                    duration_ms: row.try_get("duration_ms")?,
                    at: required(&raw, "at", time_column(&raw, row, "at")?)?,
                })
            })
            .collect()
    }

    async fn start_webhook_deliveries(&self, limit: u32, jobs: &DeliveryJobs<'_>) -> StoreResult<usize> {
        // Every node asks twice a second: an empty outbox must not take the one write lock.
        let waiting: bool =
            sqlx::query_scalar("select exists (select 1 from webhook_outbox)").fetch_one(&self.pool).await?;
        if !waiting {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await?;
        // The delete comes first: it takes the write lock, so a second pass waits, then finds
        // these rows gone.
        let taken = sqlx::query(
            "delete from webhook_outbox where id in (select id from webhook_outbox order by id limit ?1) \
             returning id, job_id, owner_id, event_type, occurred_at",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut inserted = 0;
        for row in &taken {
            let raw: String = row.try_get("job_id")?;
            let job_id = required(&raw, "job_id", uuid_column(&raw, row, "job_id")?)?;
            let event = OutboxEvent {
                event: parse_column(&job_id, row.try_get("event_type")?)?,
                owner_id: required(&raw, "owner_id", uuid_column(&raw, row, "owner_id")?)?,
                occurred_at: required(&raw, "occurred_at", time_column(&raw, row, "occurred_at")?)?,
                job_id,
            };
            let endpoints: Vec<String> = sqlx::query_scalar(
                "select id from webhook_endpoints where (owner_id = ?1 or owner_id is null) \
                 and (',' || events || ',') like ('%,' || ?2 || ',%') order by id",
            )
            .bind(event.owner_id.to_string())
            .bind(event.event.as_str())
            .fetch_all(&mut *tx)
            .await?;
            let endpoints: Vec<Uuid> =
                endpoints.iter().map(|e| parse_column(&job_id, e)).collect::<StoreResult<_>>()?;
            for job in jobs(&event, &endpoints) {
                super::bind_new_job(
                    sqlx::query(
                        "insert into background_jobs (id, job_type, created_by, related_dataset_id, metadata, \
                         created_at, run_at, priority, max_retries) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    )
                    .bind(crate::storage::new_job_id().to_string()),
                    &job,
                )
                .execute(&mut *tx)
                .await?;
                inserted += 1;
            }
        }
        tx.commit().await?;
        if inserted > 0 {
            self.signal(Signal::NewJobs);
        }
        Ok(inserted)
    }
}
