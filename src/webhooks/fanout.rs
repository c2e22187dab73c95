//! The maintenance pass that turns recorded job outcomes into deliveries: one `webhook` job
//! per event per endpoint that wants it, made and the outcomes deleted in one transaction, so
//! an outcome becomes its deliveries exactly once however many nodes run the pass.

use super::{OutboxEvent, WebhookEvent};
use crate::jobs::JobType;
use crate::jobs::model::NewJob;
use crate::storage::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Outcomes taken per pass; the rest wait for the next one.
const EVENTS_PER_PASS: u32 = 500;
/// Retries of one delivery after its first try: with the worker's backoff (doubling up to its
/// cap) an endpoint down for a while still gets the event.
pub const DELIVERY_RETRIES: i32 = 7;

/// What a `webhook` job delivers, in its metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryOrder {
    pub endpoint_id: Uuid,
    /// The `webhook-id` header: one per event, the same on every endpoint and every retry.
    pub event_id: String,
    pub event: WebhookEvent,
    pub job_id: Uuid,
    pub occurred_at: DateTime<Utc>,
}

/// The delivery jobs of one event, one per endpoint.
pub fn delivery_jobs(event: &OutboxEvent, endpoints: &[Uuid], now: DateTime<Utc>) -> Vec<NewJob> {
    let event_id = super::new_event_id();
    endpoints
        .iter()
        .map(|&endpoint_id| {
            let order = DeliveryOrder {
                endpoint_id,
                event_id: event_id.clone(),
                event: event.event,
                job_id: event.job_id,
                occurred_at: event.occurred_at,
            };
            let metadata = serde_json::to_value(order).expect("plain values serialise");
            NewJob::internal(JobType::Webhook, metadata, DELIVERY_RETRIES, now)
        })
        .collect()
}

/// Starts the deliveries of every recorded outcome (up to a pass's worth); returns how many
/// jobs it created.
pub async fn start_due(store: &dyn Store, now: DateTime<Utc>) -> Result<usize, StoreError> {
    store.start_webhook_deliveries(EVENTS_PER_PASS, &|event, endpoints| delivery_jobs(event, endpoints, now)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_is_one_job_per_endpoint_sharing_the_event_id() {
        let now = Utc::now();
        let event = OutboxEvent {
            job_id: Uuid::new_v4(),
            owner_id: Uuid::new_v4(),
            event: WebhookEvent::JobFailed,
            occurred_at: now,
        };
        let endpoints = [Uuid::new_v4(), Uuid::new_v4()];
        let jobs = delivery_jobs(&event, &endpoints, now);
        let orders: Vec<DeliveryOrder> =
            jobs.iter().map(|j| serde_json::from_value(j.metadata.clone()).unwrap()).collect();
        assert_eq!(orders.iter().map(|o| o.endpoint_id).collect::<Vec<_>>(), endpoints);
        assert_eq!(orders[0].event_id, orders[1].event_id);
        assert!(orders[0].event_id.starts_with("evt_"));
        assert!(jobs.iter().all(|j| j.job_type == JobType::Webhook && j.created_by.is_none()));
        assert_ne!(delivery_jobs(&event, &endpoints[..1], now)[0].metadata["event_id"], orders[0].event_id.as_str());
    }
}
