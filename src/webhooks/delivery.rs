//! One delivery: the signed POST of one event to one endpoint, what its answer means, and its
//! line in the endpoint's delivery log. The client follows no redirect, goes through no proxy,
//! resolves through the guard, and gives up after its timeouts; it reads at most
//! [`EXCERPT_BYTES`] of an answer.

use super::guard::{self, GuardedResolver, Refused};
use super::{Delivery, Webhook, WebhookSettings, signing};
use crate::storage::Store;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How much of an endpoint's answer is read (and quoted in an error); the rest is dropped.
pub const EXCERPT_BYTES: usize = 512;

/// What a delivery's result means for the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Worth another try later (network trouble, a timeout, 5xx, 408, 429).
    Retry(String),
    /// Will not get better (another 4xx, a redirect, a refused address).
    GiveUp(String),
}

/// What an endpoint's HTTP status means.
pub fn verdict(status: u16, excerpt: &str) -> Verdict {
    let said = |m: String| match excerpt.is_empty() {
        true => m,
        false => format!("{m}: {excerpt}"),
    };
    match status {
        200..=299 => Verdict::Delivered,
        408 | 429 | 500..=599 => Verdict::Retry(said(format!("the endpoint answered HTTP {status}"))),
        300..=399 => Verdict::GiveUp(format!("the endpoint answered HTTP {status}: redirects are not followed")),
        _ => Verdict::GiveUp(said(format!("the endpoint answered HTTP {status}"))),
    }
}

/// One attempt's result.
#[derive(Debug, Clone)]
pub struct Attempted {
    pub status: Option<u16>,
    pub verdict: Verdict,
    pub duration: Duration,
}

/// The HTTP client every delivery goes through (cheap to clone).
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    pub fn new(settings: &WebhookSettings) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the name itself, past the guard.
            .no_proxy()
            .dns_resolver(GuardedResolver { allow_private: settings.allow_private })
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("jobwatch-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, allow_private: settings.allow_private })
    }

    /// POSTs `body` as event `id`, signed with `secret` at `timestamp` (Unix seconds).
    pub async fn send(&self, url: &str, secret: &str, id: &str, timestamp: i64, body: Vec<u8>) -> Attempted {
        let started = Instant::now();
        let (status, verdict) = match self.post(url, secret, id, timestamp, body).await {
            Ok((status, excerpt)) => (Some(status), verdict(status, &excerpt)),
            Err(verdict) => (None, verdict),
        };
        Attempted { status, verdict, duration: started.elapsed() }
    }

    async fn post(&self, url: &str, secret: &str, id: &str, ts: i64, body: Vec<u8>) -> Result<(u16, String), Verdict> {
        let url = reqwest::Url::parse(url).map_err(|e| Verdict::GiveUp(format!("the endpoint's url: {e}")))?;
        // The resolver sees names only: an address in the URL is checked here.
        if let Some(ip) = url.host_str().and_then(|h| h.trim_matches(['[', ']']).parse().ok())
            && let (_, Some(reason)) = guard::keep_allowed(vec![std::net::SocketAddr::new(ip, 0)], self.allow_private)
        {
            return Err(Verdict::GiveUp(format!("refused: {ip} is {reason}")));
        }
        let signature = signing::sign(secret, id, ts, &body).map_err(Verdict::GiveUp)?;
        let mut response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| failure(&e))?;
        let status = response.status().as_u16();
        let mut excerpt = Vec::new();
        while excerpt.len() < EXCERPT_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                // The status is the answer; a body cut short changes nothing.
                Ok(None) | Err(_) => break,
            }
        }
        excerpt.truncate(EXCERPT_BYTES);
        Ok((status, String::from_utf8_lossy(&excerpt).trim().to_owned()))
    }
}

/// A request that got no answer: refused by the guard (for good), else worth retrying.
fn failure(err: &reqwest::Error) -> Verdict {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return Verdict::GiveUp(format!("refused: {refused}"));
        }
        cause = e.source();
    }
    let what = match () {
        _ if err.is_timeout() => "timed out",
        _ if err.is_connect() => "could not connect",
        _ => "failed",
    };
    let mut message = format!("the request {what}");
    let mut cause = std::error::Error::source(err);
    while let Some(e) = cause {
        message = format!("{message}: {e}");
        cause = e.source();
    }
    Verdict::Retry(message)
}

/// The body of an event: `{"type", "timestamp", "data"}`.
pub fn payload(event_type: &str, timestamp: DateTime<Utc>, data: Value) -> Vec<u8> {
    let body = json!({ "type": event_type, "timestamp": timestamp, "data": data });
    serde_json::to_vec(&body).expect("JSON values serialise")
}

/// What one event to one endpoint is, for sending and for the log.
pub struct Event<'a> {
    pub id: &'a str,
    pub event_type: &'a str,
    pub job_id: Option<Uuid>,
    pub attempt: i32,
    pub body: Vec<u8>,
}

/// Sends `event` to `endpoint` and writes the attempt in its delivery log. A log that cannot
/// be written is only logged: the event must not be sent again because of it.
pub async fn deliver(
    store: &dyn Store,
    sender: &Sender,
    endpoint: &Webhook,
    event: Event<'_>,
    now: DateTime<Utc>,
) -> (Delivery, Verdict) {
    let sent = sender.send(&endpoint.url, &endpoint.secret, event.id, now.timestamp(), event.body).await;
    let delivery = Delivery {
        event_id: event.id.to_owned(),
        event_type: event.event_type.to_owned(),
        job_id: event.job_id,
        attempt: event.attempt,
        status_code: sent.status.map(i32::from),
        error: match &sent.verdict {
            Verdict::Delivered => None,
            Verdict::Retry(m) | Verdict::GiveUp(m) => Some(m.clone()),
        },
        duration_ms: i64::try_from(sent.duration.as_millis()).unwrap_or(i64::MAX),
        at: now,
    };
    if let Err(e) = store.record_delivery(endpoint.id, &delivery).await {
        tracing::warn!(error = %e, endpoint = %endpoint.id, "could not write a webhook delivery in its log");
    }
    (delivery, sent.verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_decide_between_delivered_retry_and_give_up() {
        assert_eq!(verdict(200, ""), Verdict::Delivered);
        assert_eq!(verdict(204, "ignored"), Verdict::Delivered);
        for status in [408, 429, 500, 502, 503] {
            assert!(matches!(verdict(status, ""), Verdict::Retry(_)), "{status}");
        }
        for status in [301, 302, 400, 401, 404, 410, 422] {
            assert!(matches!(verdict(status, ""), Verdict::GiveUp(_)), "{status}");
        }
        assert_eq!(verdict(500, "busy"), Verdict::Retry("the endpoint answered HTTP 500: busy".into()));
        assert_eq!(
            verdict(302, "see elsewhere"),
            Verdict::GiveUp("the endpoint answered HTTP 302: redirects are not followed".into())
        );
    }
}
