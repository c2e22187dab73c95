//! What webhooks keep: the endpoints, the job outcomes waiting to be delivered (written by a
//! trigger in the transaction that ends a job, migration 0011) and each endpoint's delivery log.

use super::StoreResult;
use crate::jobs::model::NewJob;
use crate::webhooks::{Delivery, OutboxEvent, Webhook};
use async_trait::async_trait;
use uuid::Uuid;

/// Lines of the delivery log kept per endpoint; older ones are deleted as new ones come.
pub const DELIVERIES_KEPT: i64 = 1000;

/// The delivery jobs of one recorded outcome, given the endpoints that want it.
pub type DeliveryJobs<'a> = dyn Fn(&OutboxEvent, &[Uuid]) -> Vec<NewJob> + Send + Sync + 'a;

#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn insert_webhook(&self, webhook: &Webhook) -> StoreResult<()>;
    /// `owner`'s endpoints, and with `with_global` the global ones too, oldest first.
    async fn list_webhooks(&self, owner: Uuid, with_global: bool) -> StoreResult<Vec<Webhook>>;
    async fn find_webhook(&self, id: Uuid) -> StoreResult<Option<Webhook>>;
    /// Deletes an endpoint and its log; false if there was none.
    async fn delete_webhook(&self, id: Uuid) -> StoreResult<bool>;
    /// Adds a line to the endpoint's log, dropping lines past [`DELIVERIES_KEPT`].
    async fn record_delivery(&self, endpoint: Uuid, delivery: &Delivery) -> StoreResult<()>;
    /// Whether the endpoint's log holds a 2xx answer to event `event_id`: a retry after the
    /// endpoint took the event (its job's outcome was lost) sends nothing.
    async fn was_delivered(&self, endpoint: Uuid, event_id: &str) -> StoreResult<bool>;
    /// The endpoint's log, newest first, at most `limit` lines.
    async fn webhook_deliveries(&self, endpoint: Uuid, limit: u32) -> StoreResult<Vec<Delivery>>;
    /// In one transaction: takes up to `limit` recorded outcomes (oldest first), inserts the
    /// jobs `jobs` makes of each for the endpoints that want it now (its owner's and the
    /// global ones subscribed to its event), and deletes the outcomes. Returns the jobs
    /// inserted. Nodes running it at once take different outcomes.
    async fn start_webhook_deliveries(&self, limit: u32, jobs: &DeliveryJobs<'_>) -> StoreResult<usize>;
}
