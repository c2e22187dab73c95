//! WebhookStore: the fan-out takes each recorded outcome once, however many passes run at
//! once, and the delivery log keeps its newest lines.

use crate::helpers::contract_tests;
use crate::webhooks::{ended_job, register};
use jobwatch::storage::webhooks::DELIVERIES_KEPT;
use jobwatch::webhooks::{Delivery, fanout};
use serde_json::json;
use uuid::Uuid;

contract_tests! {
    async fn passes_at_once_turn_each_outcome_into_its_deliveries_once(app) {
        let ann = app.new_user("ann@example.com").await;
        register(app, &ann, json!({"url": "http://127.0.0.1:9/a"})).await;
        register(app, &ann, json!({"url": "http://127.0.0.1:9/b", "events": ["job.completed"]})).await;
        for _ in 0..20 {
            ended_job(app, &ann, "complete").await;
        }
        assert_eq!(app.count_rows("webhook_outbox", "true").await, 20);
        // On PostgreSQL a second node's pool; on SQLite (one node) two passes on one.
        let other = app.second_store().await.unwrap_or_else(|| app.store.clone());
        let now = app.clock_now();
        let (a, b) = tokio::join!(fanout::start_due(app.store.as_ref(), now), fanout::start_due(other.as_ref(), now));
        assert_eq!(a.unwrap() + b.unwrap(), 40);
        assert_eq!(app.count_jobs("job_type = 'webhook'").await, 40);
        assert_eq!(app.count_rows("webhook_outbox", "true").await, 0);
        assert_eq!(fanout::start_due(app.store.as_ref(), now).await.unwrap(), 0);
    }

    async fn the_delivery_log_keeps_the_newest_lines(app) {
        let ann = app.new_user("ann@example.com").await;
        let hook = register(app, &ann, json!({"url": "http://127.0.0.1:9/a"})).await;
        let endpoint: Uuid = hook["id"].as_str().unwrap().parse().unwrap();
        let line = |attempt: i32| Delivery {
            event_id: format!("evt_{attempt}"),
            event_type: "job.completed".into(),
            job_id: None,
            attempt,
            status_code: Some(500),
            error: Some("the endpoint answered HTTP 500".into()),
            duration_ms: 3,
            at: app.clock_now(),
        };
        let kept = i32::try_from(DELIVERIES_KEPT).unwrap();
        for attempt in 1..=kept + 2 {
            app.store.record_delivery(endpoint, &line(attempt)).await.unwrap();
        }
        assert_eq!(app.count_rows("webhook_deliveries", "true").await, DELIVERIES_KEPT);
        let newest = app.store.webhook_deliveries(endpoint, 3).await.unwrap();
        assert_eq!(newest.iter().map(|d| d.attempt).collect::<Vec<_>>(), [kept + 2, kept + 1, kept]);
        assert_eq!(newest[0], line(kept + 2));
        let all = app.store.webhook_deliveries(endpoint, 2000).await.unwrap();
        assert_eq!(all.last().unwrap().attempt, 3, "the two oldest are gone");
        // The endpoint's log goes with it.
        assert!(app.store.delete_webhook(endpoint).await.unwrap());
        assert_eq!(app.count_rows("webhook_deliveries", "true").await, 0);
        assert!(!app.store.delete_webhook(endpoint).await.unwrap());
    }
}
