//! Signed webhooks: registering endpoints (who may, which URLs), events delivered by stepping
//! the worker to a real local receiver, signatures, retries with the same id, the delivery
//! log, the test-send, and the SSRF guard at registration and at delivery.

use crate::helpers::{TestApp, TestUser, contract_tests, fast_worker_settings, test_settings};
use crate::webhook_receiver::{HANG, Receiver};
use axum::http::{Method, StatusCode};
use chrono::Duration;
use jobwatch::startup::AppSettings;
use jobwatch::webhooks::WebhookSettings;
use serde_json::{Value, json};

/// Registers an endpoint as `user`; asserts 201 and returns the answer (with the secret).
pub async fn register(app: &TestApp, user: &TestUser, body: Value) -> Value {
    let res = app.post("/api/v2/webhooks", user, body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    res.body
}

/// A `validation` job of `user`'s (no worker runs that type) taken to `end` through the API.
pub async fn ended_job(app: &TestApp, user: &TestUser, end: &str) -> Value {
    let job = app.create_job(user, "validation").await;
    if end != "cancel" {
        assert_eq!(app.act(user, &job["id"], "start", json!({})).await.status, StatusCode::OK);
    }
    let body = if end == "fail" { json!({"error_message": "row 3: bad date"}) } else { json!({}) };
    let res = app.act(user, &job["id"], end, body).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.body
}

async fn deliveries(app: &TestApp, user: &TestUser, hook: &Value) -> Vec<Value> {
    let path = format!("/api/v2/webhooks/{}/deliveries", hook["id"].as_str().unwrap());
    let res = app.get(&path, user).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.body.as_array().unwrap().clone()
}

/// A node over the same database whose guard refuses private addresses.
fn guarded_node(app: &TestApp) -> TestApp {
    app.node(AppSettings { webhooks: WebhookSettings::default(), ..test_settings() })
}

contract_tests! {
    async fn an_ended_job_is_posted_signed_to_its_owners_endpoint(app) {
        let ann = app.new_user("ann@example.com").await;
        let receiver = Receiver::start().await;
        let hook = register(app, &ann, json!({"url": receiver.url("/hook")})).await;
        let secret = hook["secret"].as_str().unwrap();
        assert!(secret.starts_with("whsec_"), "{hook}");
        assert_eq!(hook["events"], json!(["job.completed", "job.failed", "job.cancelled"]));
        assert_eq!(hook["global"], false);
        // Listed without the secret, never shown again.
        let listed = app.get("/api/v2/webhooks", &ann).await.body;
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!(listed[0]["id"], hook["id"]);
        assert!(listed[0].get("secret").is_none() && !listed.to_string().contains(secret), "{listed}");

        let job = ended_job(app, &ann, "complete").await;
        let worker = app.worker(fast_worker_settings());
        let step = worker.step().await.unwrap();
        assert_eq!((step.webhooks, step.ran.len()), (1, 1), "{step:?}");
        let got = receiver.received();
        assert_eq!(got.len(), 1);
        let request = &got[0];
        assert_eq!(request.path, "/hook");
        assert!(request.header("webhook-id").starts_with("evt_"));
        assert_eq!(request.header("webhook-timestamp"), app.clock_now().timestamp().to_string());
        assert!(request.signed_with(secret), "signature {}", request.header("webhook-signature"));
        assert!(!request.signed_with("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        let body = request.json();
        assert_eq!(body["type"], "job.completed");
        assert_eq!(body["data"]["id"], job["id"]);
        assert_eq!(body["data"]["status"], "completed");
        assert_eq!(body["data"]["type"], "validation");
        assert!(body["timestamp"].is_string());

        let log = deliveries(app, &ann, &hook).await;
        assert_eq!(log.len(), 1);
        assert_eq!(log[0]["status_code"], 200);
        assert_eq!(log[0]["error"], Value::Null);
        assert_eq!(log[0]["attempt"], 1);
        assert_eq!(log[0]["job_id"], job["id"]);
        assert_eq!(log[0]["event_type"], "job.completed");
        assert_eq!(log[0]["event_id"], request.header("webhook-id"));
        // The delivery job is jobwatch's own: in nobody's list.
        assert_eq!(app.count_jobs("job_type = 'webhook' and created_by is null and status = 'completed'").await, 1);
        assert!(app.active_ids(&ann).await.iter().all(|id| id == job["id"].as_str().unwrap()));
        // Delivered once: the next step has nothing to do.
        assert_eq!(worker.step().await.unwrap(), jobwatch::worker::Step::default());
        assert_eq!(receiver.received().len(), 1);
    }

    async fn endpoints_get_their_owners_events_and_global_ones_everyones(app) {
        let (ann, bob) = (app.new_user("ann@example.com").await, app.new_user("bob@example.com").await);
        let admin = app.new_admin("admin@example.com").await;
        let receiver = Receiver::start().await;
        register(app, &ann, json!({"url": receiver.url("/ann"), "events": ["job.failed"]})).await;
        register(app, &bob, json!({"url": receiver.url("/bob")})).await;
        let global = register(app, &admin, json!({"url": receiver.url("/all"), "global": true})).await;
        assert_eq!(global["global"], true);
        // Only admins may ask for everyone's events.
        let refused = app.post("/api/v2/webhooks", &ann, json!({"url": receiver.url("/x"), "global": true})).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert_eq!(refused.body["error"]["code"], "forbidden");

        ended_job(app, &ann, "fail").await;
        ended_job(app, &ann, "complete").await; // ann asked for failures only
        ended_job(app, &bob, "cancel").await;
        let worker = app.worker(fast_worker_settings());
        let step = worker.step().await.unwrap();
        assert_eq!(step.webhooks, 5, "{step:?}");
        // Four at a time (the worker's concurrency), then the last.
        assert_eq!(step.ran.len() + worker.step().await.unwrap().ran.len(), 5);
        let mut got: Vec<(String, String)> = receiver
            .received()
            .iter()
            .map(|r| (r.path.clone(), r.json()["type"].as_str().unwrap().to_owned()))
            .collect();
        got.sort();
        let expected = [
            ("/all", "job.cancelled"), ("/all", "job.completed"), ("/all", "job.failed"),
            ("/ann", "job.failed"), ("/bob", "job.cancelled"),
        ];
        let expected: Vec<(String, String)> = expected.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect();
        assert_eq!(got, expected[..]);
        // One event, one id, whichever endpoint receives it.
        let ids = |t: &str| -> Vec<String> {
            receiver.received().iter().filter(|r| r.json()["type"] == t).map(|r| r.header("webhook-id").to_owned()).collect()
        };
        let failed = ids("job.failed");
        assert_eq!(failed.len(), 2);
        assert_eq!(failed[0], failed[1]);
        assert_ne!(ids("job.cancelled")[0], failed[0]);
    }

    async fn a_5xx_is_retried_with_backoff_under_the_same_webhook_id(app) {
        let ann = app.new_user("ann@example.com").await;
        let receiver = Receiver::start().await;
        receiver.answer(&[500]);
        let hook = register(app, &ann, json!({"url": receiver.url("/hook")})).await;
        ended_job(app, &ann, "complete").await;
        let worker = app.worker(fast_worker_settings());
        assert_eq!(worker.step().await.unwrap().ran.len(), 1);
        assert_eq!(receiver.received().len(), 1);
        assert_eq!(app.count_jobs("job_type = 'webhook' and status = 'pending' and retry_count = 1").await, 1);
        // Not due again until the backoff has passed.
        assert!(worker.step().await.unwrap().ran.is_empty());
        assert_eq!(receiver.received().len(), 1);
        app.clock.advance(Duration::seconds(11));
        assert_eq!(worker.step().await.unwrap().ran.len(), 1);
        let got = receiver.received();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
        assert_eq!(got[0].body, got[1].body);
        assert!(got[1].signed_with(hook["secret"].as_str().unwrap()));
        assert_eq!(app.count_jobs("job_type = 'webhook' and status = 'completed'").await, 1);
        let log = deliveries(app, &ann, &hook).await;
        let lines: Vec<(Value, Value)> = log.iter().map(|d| (d["attempt"].clone(), d["status_code"].clone())).collect();
        assert_eq!(lines, vec![(json!(2), json!(200)), (json!(1), json!(500))], "newest first");
        assert!(log[1]["error"].as_str().unwrap().contains("HTTP 500"), "{}", log[1]);
    }

    async fn a_4xx_other_than_408_and_429_fails_the_delivery_at_once(app) {
        let ann = app.new_user("ann@example.com").await;
        let receiver = Receiver::start().await;
        receiver.answer(&[429, 404]);
        let hook = register(app, &ann, json!({"url": receiver.url("/hook")})).await;
        ended_job(app, &ann, "complete").await;
        let worker = app.worker(fast_worker_settings());
        worker.step().await.unwrap();
        assert_eq!(app.count_jobs("job_type = 'webhook' and status = 'pending'").await, 1, "429 is retried");
        app.clock.advance(Duration::seconds(11));
        worker.step().await.unwrap();
        assert_eq!(app.count_jobs("job_type = 'webhook' and status = 'failed'").await, 1, "404 is not");
        app.clock.advance(Duration::seconds(60));
        assert!(worker.step().await.unwrap().ran.is_empty());
        assert_eq!(receiver.received().len(), 2);
        let log = deliveries(app, &ann, &hook).await;
        assert_eq!(log[0]["status_code"], 404);
    }

    async fn other_users_endpoints_are_not_found(app) {
        let (ann, bob) = (app.new_user("ann@example.com").await, app.new_user("bob@example.com").await);
        let admin = app.new_admin("admin@example.com").await;
        let receiver = Receiver::start().await;
        let hook = register(app, &ann, json!({"url": receiver.url("/ann")})).await;
        let global = register(app, &admin, json!({"url": receiver.url("/all"), "global": true})).await;
        for (user, target) in [(&bob, &hook), (&admin, &hook), (&ann, &global)] {
            let id = target["id"].as_str().unwrap();
            let gone = app.request(Method::DELETE, &format!("/api/v2/webhooks/{id}"), Some(&user.token), None).await;
            assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.body);
            assert_eq!(gone.body["error"]["code"], "not_found");
            let log = app.get(&format!("/api/v2/webhooks/{id}/deliveries"), user).await;
            assert_eq!(log.status, StatusCode::NOT_FOUND);
            let test = app.post(&format!("/api/v2/webhooks/{id}/test"), user, json!({})).await;
            assert_eq!(test.status, StatusCode::NOT_FOUND);
        }
        assert!(receiver.received().is_empty());
        let listed = |body: Value| -> Vec<Value> { body.as_array().unwrap().iter().map(|w| w["id"].clone()).collect() };
        assert!(listed(app.get("/api/v2/webhooks", &bob).await.body).is_empty());
        assert_eq!(listed(app.get("/api/v2/webhooks", &ann).await.body), vec![hook["id"].clone()]);
        assert_eq!(listed(app.get("/api/v2/webhooks", &admin).await.body), vec![global["id"].clone()]);
        // The owner removes it; its events stop.
        let path = format!("/api/v2/webhooks/{}", hook["id"].as_str().unwrap());
        assert_eq!(app.request(Method::DELETE, &path, Some(&ann.token), None).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.request(Method::DELETE, &path, Some(&ann.token), None).await.status, StatusCode::NOT_FOUND);
        ended_job(app, &ann, "complete").await;
        app.worker(fast_worker_settings()).step().await.unwrap();
        assert_eq!(receiver.received().iter().map(|r| r.path.as_str()).collect::<Vec<_>>(), ["/all"]);
    }

    async fn the_test_send_delivers_a_signed_test_event_and_logs_it(app) {
        let ann = app.new_user("ann@example.com").await;
        let receiver = Receiver::start().await;
        let hook = register(app, &ann, json!({"url": receiver.url("/hook"), "events": ["job.failed"]})).await;
        let path = format!("/api/v2/webhooks/{}/test", hook["id"].as_str().unwrap());
        let res = app.post(&path, &ann, json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(res.body["status_code"], 200);
        assert_eq!(res.body["error"], Value::Null);
        assert_eq!(res.body["event_type"], "webhook.test");
        let got = receiver.received();
        assert_eq!(got.len(), 1);
        assert!(got[0].signed_with(hook["secret"].as_str().unwrap()));
        assert_eq!(got[0].json()["type"], "webhook.test");
        assert_eq!(got[0].json()["data"]["webhook_id"], hook["id"]);
        assert_eq!(got[0].header("webhook-id"), res.body["event_id"].as_str().unwrap());
        // A failing endpoint: reported, not retried.
        receiver.answer(&[503]);
        let res = app.post(&path, &ann, json!({})).await;
        assert_eq!(res.body["status_code"], 503);
        assert!(res.body["error"].as_str().unwrap().contains("HTTP 503"), "{}", res.body);
        assert_eq!(deliveries(app, &ann, &hook).await.len(), 2);
        assert_eq!(app.count_jobs("job_type = 'webhook'").await, 0);
    }

    async fn unsafe_and_malformed_urls_are_refused_at_registration(app) {
        let node = guarded_node(app);
        let ann = node.new_user("ann@example.com").await;
        for url in [
            "http://127.0.0.1:9/x", "http://localhost:9/x", "http://10.0.0.1/", "http://192.168.1.20/",
            "http://172.16.0.1/", "http://169.254.169.254/latest/meta-data", "http://[::1]/", "http://[fd00:ec2::254]/",
            "http://[::ffff:127.0.0.1]/", "http://100.64.0.1/", "http://0.0.0.0/", "http://2130706433/",
        ] {
            let res = node.post("/api/v2/webhooks", &ann, json!({"url": url})).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {}", res.body);
            assert_eq!(res.body["error"]["code"], "unsafe_webhook_url", "{url}: {}", res.body);
            assert!(res.body["error"]["message"].as_str().unwrap().contains("address"), "{}", res.body);
        }
        for url in ["ftp://example.com/", "http://user:pw@example.com/", "not a url", "http:///"] {
            let res = node.post("/api/v2/webhooks", &ann, json!({"url": url})).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {}", res.body);
            assert_eq!(res.body["error"]["code"], "invalid_field", "{url}: {}", res.body);
        }
        let res = node.post("/api/v2/webhooks", &ann, json!({"url": "http://1.1.1.1/", "events": ["job.started"]})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        let message = res.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("job.completed, job.failed, job.cancelled"), "{message}");
        let res = node.post("/api/v2/webhooks", &ann, json!({"url": "http://1.1.1.1/", "events": []})).await;
        assert_eq!(res.body["error"]["code"], "invalid_field", "{}", res.body);
        // A public address passes (nothing is sent when registering).
        let res = node.post("/api/v2/webhooks", &ann, json!({"url": "http://1.1.1.1/hook"})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        assert!(node.get("/api/v2/webhooks", &ann).await.body.as_array().unwrap().len() == 1);
    }

    async fn a_delivery_to_a_private_address_is_refused_after_resolving(app) {
        let ann = app.new_user("ann@example.com").await;
        let receiver = Receiver::start().await;
        let port = receiver.base.rsplit(':').next().unwrap();
        // Registered while private addresses were allowed: `localhost` resolves to loopback.
        let by_name = register(app, &ann, json!({"url": format!("http://localhost:{port}/name")})).await;
        let by_ip = register(app, &ann, json!({"url": receiver.url("/ip"), "events": ["job.failed"]})).await;
        let node = guarded_node(app);
        ended_job(&node, &ann, "complete").await;
        let worker = node.worker(fast_worker_settings());
        assert_eq!(worker.step().await.unwrap().ran.len(), 1);
        assert!(receiver.received().is_empty());
        assert_eq!(node.count_jobs("job_type = 'webhook' and status = 'failed'").await, 1, "refused for good");
        let log = deliveries(&node, &ann, &by_name).await;
        assert_eq!(log[0]["status_code"], Value::Null);
        let error = log[0]["error"].as_str().unwrap();
        assert!(error.contains("refused") && error.contains("loopback"), "{error}");
        // An address in the URL is checked too (no resolver sees it).
        let res = node.post(&format!("/api/v2/webhooks/{}/test", by_ip["id"].as_str().unwrap()), &ann, json!({})).await;
        let error = res.body["error"].as_str().unwrap();
        assert!(error.contains("refused") && error.contains("loopback"), "{error}");
        assert!(receiver.received().is_empty());
        // The same endpoints through the allowing node do get it.
        let res = app.post(&format!("/api/v2/webhooks/{}/test", by_name["id"].as_str().unwrap()), &ann, json!({})).await;
        assert_eq!(res.body["status_code"], 200, "{}", res.body);
        assert_eq!(receiver.received().len(), 1);
    }

    async fn jobs_without_a_wanting_endpoint_record_nothing(app) {
        let (ann, bob) = (app.new_user("ann@example.com").await, app.new_user("bob@example.com").await);
        let receiver = Receiver::start().await;
        register(app, &bob, json!({"url": receiver.url("/bob"), "events": ["job.failed"]})).await;
        ended_job(app, &ann, "complete").await;
        ended_job(app, &bob, "complete").await;
        // Neither ann's job (no endpoint) nor bob's (not an event he asked for) left a row.
        assert_eq!(app.count_rows("webhook_outbox", "true").await, 0);
        ended_job(app, &bob, "fail").await;
        assert_eq!(app.count_rows("webhook_outbox", "true").await, 1);
        let step = app.worker(fast_worker_settings()).step().await.unwrap();
        assert_eq!(step.webhooks, 1);
        assert_eq!(app.count_rows("webhook_outbox", "true").await, 0, "taken by the pass");
        assert_eq!(receiver.received().len(), 1);
    }

    async fn redirects_are_not_followed(app) {
        let ann = app.new_user("ann@example.com").await;
        let receiver = Receiver::start().await;
        receiver.answer(&[307]);
        let hook = register(app, &ann, json!({"url": receiver.url("/hook")})).await;
        ended_job(app, &ann, "complete").await;
        app.worker(fast_worker_settings()).step().await.unwrap();
        let paths: Vec<String> = receiver.received().iter().map(|r| r.path.clone()).collect();
        assert_eq!(paths, ["/hook"], "never to /elsewhere");
        assert_eq!(app.count_jobs("job_type = 'webhook' and status = 'failed'").await, 1);
        let log = deliveries(app, &ann, &hook).await;
        assert_eq!(log[0]["status_code"], 307);
        assert!(log[0]["error"].as_str().unwrap().contains("redirects are not followed"), "{}", log[0]);
    }

    async fn an_endpoint_that_does_not_answer_in_time_is_retried(app) {
        let timeout = std::time::Duration::from_millis(300);
        let webhooks = WebhookSettings { allow_private: true, timeout, connect_timeout: timeout };
        let node = app.node(AppSettings { webhooks, ..test_settings() });
        let ann = node.new_user("ann@example.com").await;
        let receiver = Receiver::start().await;
        receiver.answer(&[HANG]);
        let hook = register(&node, &ann, json!({"url": receiver.url("/hook")})).await;
        ended_job(&node, &ann, "complete").await;
        // The step waits the client's real timeout: the clock it is cut by is the network's.
        let worker = node.worker(fast_worker_settings());
        worker.step().await.unwrap();
        assert_eq!(node.count_jobs("job_type = 'webhook' and status = 'pending' and retry_count = 1").await, 1);
        let log = deliveries(&node, &ann, &hook).await;
        assert_eq!(log[0]["status_code"], Value::Null);
        assert!(log[0]["error"].as_str().unwrap().contains("timed out"), "{}", log[0]);
        node.clock.advance(Duration::seconds(11));
        worker.step().await.unwrap();
        assert_eq!(node.count_jobs("job_type = 'webhook' and status = 'completed'").await, 1);
        assert_eq!(receiver.received().len(), 2);
    }

    async fn a_delivery_for_a_deleted_endpoint_sends_nothing(app) {
        let ann = app.new_user("ann@example.com").await;
        let receiver = Receiver::start().await;
        let hook = register(app, &ann, json!({"url": receiver.url("/hook")})).await;
        ended_job(app, &ann, "complete").await;
        let worker = app.worker(fast_worker_settings());
        // The delivery job is made, then its endpoint removed before a worker runs it.
        assert_eq!(app.count_rows("webhook_outbox", "true").await, 1);
        jobwatch::webhooks::fanout::start_due(app.store.as_ref(), app.clock_now()).await.unwrap();
        let path = format!("/api/v2/webhooks/{}", hook["id"].as_str().unwrap());
        assert_eq!(app.request(Method::DELETE, &path, Some(&ann.token), None).await.status, StatusCode::NO_CONTENT);
        assert_eq!(worker.step().await.unwrap().ran.len(), 1);
        assert!(receiver.received().is_empty());
        assert_eq!(app.count_jobs("job_type = 'webhook' and status = 'completed'").await, 1);
    }

    async fn an_event_the_endpoint_took_is_not_sent_again_by_a_rerun(app) {
        let ann = app.new_user("ann@example.com").await;
        let receiver = Receiver::start().await;
        register(app, &ann, json!({"url": receiver.url("/hook")})).await;
        ended_job(app, &ann, "complete").await;
        let worker = app.worker(fast_worker_settings());
        assert_eq!(worker.step().await.unwrap().ran.len(), 1);
        assert_eq!(receiver.received().len(), 1);
        // As if its node died after the endpoint answered 200 and before the job was marked
        // done: the rescue puts it back, and it runs again as attempt 2.
        app.sql("update background_jobs set status = 'pending', completed_at = null where job_type = 'webhook'")
            .await
            .unwrap();
        assert_eq!(worker.step().await.unwrap().ran.len(), 1);
        assert_eq!(receiver.received().len(), 1, "the log says the endpoint has it");
        assert_eq!(app.count_jobs("job_type = 'webhook' and status = 'completed' and attempt = 2").await, 1);
    }
}
