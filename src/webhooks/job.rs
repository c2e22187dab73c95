//! The `webhook` job: one event to one endpoint. Its metadata says which
//! ([`super::fanout::DeliveryOrder`]); the event's id stays the same on every retry, so a
//! receiver can drop a repeat. The job is rendered as `GET /jobs/{id}` shows it at the time
//! of the attempt. Network trouble, timeouts, 5xx, 408 and 429 are retried with the worker's
//! backoff; other answers end the job failed.

use super::WebhookService;
use super::delivery::{self, Event, Verdict};
use super::fanout::DeliveryOrder;
use crate::jobs::model::ViewedAt;
use crate::jobs::routes::JobResponse;
use crate::worker::{HandlerError, JobContext, JobHandler};
use async_trait::async_trait;

/// Delivers with the service's store, clock and client.
pub struct WebhookHandler(pub WebhookService);

#[async_trait]
impl JobHandler for WebhookHandler {
    async fn run(&self, ctx: &JobContext) -> Result<(), HandlerError> {
        let order: DeliveryOrder = serde_json::from_value(ctx.metadata().clone())
            .map_err(|e| HandlerError::Permanent(format!("a webhook job's metadata: {e}")))?;
        let Some(endpoint) = self.0.store.find_webhook(order.endpoint_id).await.map_err(HandlerError::retryable)?
        else {
            // Deleted since the event: nobody is waiting for it any more.
            tracing::debug!(endpoint = %order.endpoint_id, "webhook endpoint gone; event dropped");
            return Ok(());
        };
        // A retry of an event the endpoint took (its outcome was lost with a node or the
        // database): once is enough.
        let retrying = ctx.job().attempt > 1;
        if retrying
            && self.0.store.was_delivered(endpoint.id, &order.event_id).await.map_err(HandlerError::retryable)?
        {
            return Ok(());
        }
        let job = self.0.store.find_job(order.job_id).await.map_err(HandlerError::retryable)?.ok_or_else(|| {
            HandlerError::Permanent(format!("job {} is no longer kept; nothing to send", order.job_id))
        })?;
        let now = self.0.clock.now();
        // A finished job is never stalled, whatever the threshold.
        let seen = ViewedAt { now, stalled_after: chrono::Duration::zero() };
        let data = serde_json::to_value(JobResponse::new(job, seen)).expect("a job serialises");
        let event = Event {
            id: &order.event_id,
            event_type: order.event.as_str(),
            job_id: Some(order.job_id),
            attempt: ctx.job().attempt,
            body: delivery::payload(order.event.as_str(), order.occurred_at, data),
        };
        match delivery::deliver(self.0.store.as_ref(), &self.0.sender, &endpoint, event, now).await.1 {
            Verdict::Delivered => Ok(()),
            Verdict::Retry(m) => Err(HandlerError::Retryable(m)),
            Verdict::GiveUp(m) => Err(HandlerError::Permanent(m)),
        }
    }
}
