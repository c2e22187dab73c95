//! The webhook operations behind the routes: who may register, see and remove which
//! endpoint, and the test-send.

use super::delivery::{self, Event, Sender};
use super::guard::{self, UrlRefusal};
use super::{Delivery, TEST_EVENT, Webhook, WebhookEvent, WebhookSettings, signing};
use crate::clock::Clock;
use crate::storage::{Store, StoreError};
use crate::users::User;
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// A value the service refuses (the message says which and why).
    #[error("{0}")]
    Invalid(String),
    /// The URL's host is, or resolves to, an address the SSRF guard refuses.
    #[error("{0}")]
    UnsafeUrl(String),
    #[error("only admins may register a global webhook")]
    GlobalNeedsAdmin,
    /// No such endpoint, or not the caller's.
    #[error("webhook not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A request to register an endpoint.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    /// `None`: every job event.
    pub events: Option<Vec<WebhookEvent>>,
    /// Told of every user's jobs (admins only).
    pub global: bool,
}

#[derive(Clone)]
pub struct WebhookService {
    pub(super) store: Arc<dyn Store>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) sender: Sender,
    settings: WebhookSettings,
}

impl WebhookService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: WebhookSettings) -> anyhow::Result<Self> {
        Ok(Self { sender: Sender::new(&settings)?, store, clock, settings })
    }

    /// Registers an endpoint of `caller`'s (or a global one) with a new secret.
    pub async fn create(&self, caller: &User, req: NewWebhook) -> Result<Webhook, WebhookError> {
        if req.global && !caller.is_admin {
            return Err(WebhookError::GlobalNeedsAdmin);
        }
        let mut events = req.events.unwrap_or_else(|| WebhookEvent::ALL.to_vec());
        events.sort();
        events.dedup();
        if events.is_empty() {
            return Err(WebhookError::Invalid(format!(
                "events must name at least one of: {}",
                WebhookEvent::NAMES.join(", ")
            )));
        }
        let url = guard::check_url(&req.url, self.settings.allow_private).await.map_err(|r| match r {
            UrlRefusal::Invalid(m) => WebhookError::Invalid(m),
            UrlRefusal::Unsafe(m) => WebhookError::UnsafeUrl(format!(
                "{m}; webhooks are sent to public addresses only (an admin may allow private ones: \
                 JOBWATCH_WEBHOOK_ALLOW_PRIVATE)"
            )),
        })?;
        let webhook = Webhook {
            id: Uuid::new_v4(),
            owner_id: (!req.global).then_some(caller.id),
            url: url.to_string(),
            events,
            secret: signing::new_secret(),
            created_at: self.clock.now(),
            created_by: Some(caller.id),
        };
        self.store.insert_webhook(&webhook).await?;
        Ok(webhook)
    }

    /// The caller's endpoints; an admin's list has the global ones too.
    pub async fn list(&self, caller: &User) -> Result<Vec<Webhook>, WebhookError> {
        Ok(self.store.list_webhooks(caller.id, caller.is_admin).await?)
    }

    pub async fn delete(&self, caller: &User, id: Uuid) -> Result<(), WebhookError> {
        self.visible(caller, id).await?;
        match self.store.delete_webhook(id).await? {
            true => Ok(()),
            false => Err(WebhookError::NotFound),
        }
    }

    /// The endpoint's delivery log, newest first.
    pub async fn deliveries(&self, caller: &User, id: Uuid, limit: u32) -> Result<Vec<Delivery>, WebhookError> {
        self.visible(caller, id).await?;
        Ok(self.store.webhook_deliveries(id, limit).await?)
    }

    /// Sends a `webhook.test` event to the endpoint now and answers with how it went (also
    /// written in its log). Sent once: a failure is reported, not retried.
    pub async fn test(&self, caller: &User, id: Uuid) -> Result<Delivery, WebhookError> {
        let endpoint = self.visible(caller, id).await?;
        let now = self.clock.now();
        let event_id = super::new_event_id();
        let body = delivery::payload(
            TEST_EVENT,
            now,
            json!({ "webhook_id": endpoint.id, "message": "a test event, sent on request" }),
        );
        let event = Event { id: &event_id, event_type: TEST_EVENT, job_id: None, attempt: 1, body };
        let (delivery, _) = delivery::deliver(self.store.as_ref(), &self.sender, &endpoint, event, now).await;
        Ok(delivery)
    }

    /// An endpoint the caller may act on: their own, or (admins) a global one.
    async fn visible(&self, caller: &User, id: Uuid) -> Result<Webhook, WebhookError> {
        match self.store.find_webhook(id).await? {
            Some(w) if w.owner_id == Some(caller.id) || (w.owner_id.is_none() && caller.is_admin) => Ok(w),
            _ => Err(WebhookError::NotFound),
        }
    }
}
