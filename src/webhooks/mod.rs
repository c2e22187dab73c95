//! Signed webhooks: users (and admins, for everyone's jobs) register HTTP endpoints that are
//! told when a job of theirs ends. A trigger records the outcome in the transaction that ends
//! the job (migration 0011, `storage::WebhookStore`) when an endpoint could want it; a
//! maintenance pass ([`fanout::start_due`]) turns it into one `webhook` job per endpoint; that
//! job ([`WebhookHandler`]) signs the event (Standard Webhooks, [`signing`]) and POSTs it
//! through a client that refuses private addresses after resolving them ([`guard`]), retried
//! with the worker's backoff. See docs/webhooks.md.

pub mod delivery;
pub mod fanout;
pub mod guard;
mod job;
pub mod routes;
mod service;
pub mod signing;

pub use delivery::Sender;
pub use job::WebhookHandler;
pub use service::{WebhookError, WebhookService};

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;
use uuid::Uuid;

crate::text_enum! {
    /// What an endpoint can be told: a job of its owner's (or, global, anyone's) ended.
    pub enum WebhookEvent as "event" {
        JobCompleted => "job.completed",
        JobFailed => "job.failed",
        JobCancelled => "job.cancelled",
    }
}

/// The `type` of the event a test-send delivers (never subscribed to, always sent on request).
pub const TEST_EVENT: &str = "webhook.test";

/// A new event's `webhook-id`.
pub fn new_event_id() -> String {
    format!("evt_{}", Uuid::new_v4().simple())
}

/// How webhooks are delivered; the same on every node (`JOBWATCH_WEBHOOK_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Let endpoints on loopback, private, link-local, unique-local and metadata addresses
    /// through (an admin's explicit choice, `JOBWATCH_WEBHOOK_ALLOW_PRIVATE`; tests need it).
    pub allow_private: bool,
    /// One delivery's whole time: connecting, sending, reading the (capped) answer.
    pub timeout: Duration,
    /// Connecting alone.
    pub connect_timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self { allow_private: false, timeout: Duration::from_secs(10), connect_timeout: Duration::from_secs(5) }
    }
}

/// A registered endpoint, secret included: only the store and the delivery see this.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: Uuid,
    /// `None`: a global endpoint, told of every user's jobs.
    pub owner_id: Option<Uuid>,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    /// `whsec_…`, as shown once at creation.
    pub secret: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<Uuid>,
}

/// An endpoint as the API lists it: everything but the secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    /// The events it is sent.
    #[schema(schema_with = events_schema)]
    pub events: Vec<WebhookEvent>,
    /// Told of every user's jobs (an admin's endpoint), not only its owner's.
    pub global: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<Uuid>,
}

impl From<&Webhook> for WebhookView {
    fn from(w: &Webhook) -> Self {
        Self {
            id: w.id,
            url: w.url.clone(),
            events: w.events.clone(),
            global: w.owner_id.is_none(),
            created_at: w.created_at,
            created_by: w.created_by,
        }
    }
}

/// A job's outcome waiting to be delivered, as the trigger recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    pub job_id: Uuid,
    pub owner_id: Uuid,
    pub event: WebhookEvent,
    pub occurred_at: DateTime<Utc>,
}

/// One attempt to deliver, as the delivery log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Delivery {
    /// The `webhook-id` header: the same for every attempt of one event.
    pub event_id: String,
    /// `job.completed`, `job.failed`, `job.cancelled` or `webhook.test`.
    pub event_type: String,
    /// The job the event is about (none for a test-send).
    pub job_id: Option<Uuid>,
    /// 1 for the first try of the event, then 2, 3, …
    pub attempt: i32,
    /// The endpoint's HTTP status, if it answered.
    pub status_code: Option<i32>,
    /// Why it did not count as delivered (none when it did).
    pub error: Option<String>,
    pub duration_ms: i64,
    pub at: DateTime<Utc>,
}

/// Events joined into the text column `events` (`job.completed,job.failed`), and back.
pub fn events_text(events: &[WebhookEvent]) -> String {
    events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(",")
}

pub fn parse_events(text: &str) -> Result<Vec<WebhookEvent>, crate::text_enum::UnknownValue> {
    text.split(',').filter(|s| !s.is_empty()).map(str::parse).collect()
}

/// The OpenAPI schema of a list of events, by their names: what `text_enum` derives would list
/// the variants' names lowercased (`jobcompleted`), not the dotted ones.
pub fn events_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let name = ObjectBuilder::new().schema_type(Type::String).enum_values(Some(WebhookEvent::NAMES.iter().copied()));
    ArrayBuilder::new().items(name).min_items(Some(1)).build()
}
