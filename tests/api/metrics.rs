//! `GET /metrics`: the node's series after real work (jobs through the worker, requests,
//! uploads), the database's gauges, and the optional scrape token.

use crate::helpers::{TestApp, contract_tests, fast_worker_settings, test_settings};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Duration;
use http_body_util::BodyExt;
use jobwatch::jobs::JobType;
use jobwatch::metrics::MetricsSettings;
use jobwatch::startup::AppSettings;
use serde_json::json;
use tower::ServiceExt;

/// The scrape's status, content type and text.
async fn scrape(app: &TestApp, authorization: Option<&str>) -> (StatusCode, String, String) {
    let mut req = Request::builder().method(Method::GET).uri("/metrics");
    if let Some(value) = authorization {
        req = req.header(header::AUTHORIZATION, value);
    }
    let response = app.router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let content_type = response.headers().get(header::CONTENT_TYPE).map_or("", |v| v.to_str().unwrap()).to_owned();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, String::from_utf8(body.to_vec()).unwrap())
}

async fn metrics(app: &TestApp) -> String {
    let (status, content_type, text) = scrape(app, None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    text
}

/// The value of the series `name{labels}` (exactly as rendered), or `None` when absent.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[track_caller]
fn assert_series(text: &str, series: &str, expected: f64) {
    assert_eq!(value(text, series), Some(expected), "{series} in:\n{text}");
}

contract_tests! {
    async fn metrics_show_jobs_run_by_the_worker_and_the_requests_made(app) {
        let user = app.new_user("u@example.com").await;
        let worker = app.worker(fast_worker_settings());
        let done = app.post("/api/v2/jobs", &user, json!({"job_type": "processing", "metadata": {"steps": 2, "step_ms": 0}})).await.body;
        // Due for 3 s before a worker takes it.
        app.clock.advance(Duration::seconds(3));
        let failed = json!({"job_type": "processing", "metadata": {"steps": 1, "step_ms": 0, "fail_at": 1, "fail": "permanent"}});
        app.post("/api/v2/jobs", &user, failed).await;
        let retried = json!({"job_type": "processing", "max_retries": 2, "metadata": {"steps": 1, "step_ms": 0, "fail_at": 1}});
        let retried = app.post("/api/v2/jobs", &user, retried).await.body;
        assert_eq!(worker.step().await.unwrap().ran.len(), 3);
        app.clock.advance(Duration::seconds(10));
        assert_eq!(app.get(&format!("/api/v2/jobs/{}", done["id"].as_str().unwrap()), &user).await.status, StatusCode::OK);
        assert_eq!(app.get("/api/v2/no-such-thing", &user).await.status, StatusCode::NOT_FOUND);

        let text = metrics(app).await;
        assert_series(&text, r#"jobwatch_job_claims_total{job_type="processing"}"#, 3.0);
        assert_series(&text, r#"jobwatch_job_runs_total{job_type="processing",outcome="completed"}"#, 1.0);
        assert_series(&text, r#"jobwatch_job_runs_total{job_type="processing",outcome="failed"}"#, 1.0);
        assert_series(&text, r#"jobwatch_job_runs_total{job_type="processing",outcome="retried"}"#, 1.0);
        assert_series(&text, r#"jobwatch_job_run_seconds_count{job_type="processing"}"#, 3.0);
        // Only the first job waited (3 s on the test's clock); the others were taken at once.
        assert_series(&text, r#"jobwatch_job_wait_seconds_sum{job_type="processing"}"#, 3.0);
        assert_series(&text, r#"jobwatch_job_wait_seconds_count{job_type="processing"}"#, 3.0);
        // The retried job waits in the queue again, created 10 s ago.
        assert_series(&text, r#"jobwatch_jobs{job_type="processing",status="pending"}"#, 1.0);
        assert_series(&text, r#"jobwatch_jobs{job_type="processing",status="running"}"#, 0.0);
        assert_series(&text, r#"jobwatch_jobs{job_type="import",status="pending"}"#, 0.0);
        assert_series(&text, r#"jobwatch_queue_oldest_pending_seconds{job_type="processing"}"#, 10.0);
        assert_series(&text, r#"jobwatch_queue_oldest_pending_seconds{job_type="export"}"#, 0.0);
        assert_eq!(app.job(&retried["id"]).await["status"], "pending");
        // Routes by their pattern, never the raw path; what no route matched under one label.
        assert_series(&text, r#"jobwatch_http_request_duration_seconds_count{method="GET",route="/api/v2/jobs/{job_id}",status="2xx"}"#, 1.0);
        assert_series(&text, r#"jobwatch_http_request_duration_seconds_count{method="POST",route="/api/v2/jobs",status="2xx"}"#, 3.0);
        assert_series(&text, r#"jobwatch_http_request_duration_seconds_count{method="GET",route="unmatched",status="4xx"}"#, 1.0);
        assert!(!text.contains(done["id"].as_str().unwrap()), "no job id in a label");
        assert_series(&text, "jobwatch_websocket_clients", 0.0);
        assert_series(&text, "jobwatch_lease_rescues_total", 0.0);
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    async fn a_rescued_lease_is_counted(app) {
        let user = app.new_user("u@example.com").await;
        app.post("/api/v2/jobs", &user, json!({"job_type": "processing", "metadata": {"steps": 1, "step_ms": 0}})).await;
        let now = app.clock_now();
        let start = jobwatch::storage::ClaimKey::start();
        app.store.claim_jobs("gone", &[JobType::Processing], 1, start, now, now + Duration::seconds(1)).await.unwrap();
        app.clock.advance(Duration::seconds(2));
        assert_eq!(app.worker(fast_worker_settings()).step().await.unwrap().rescued, 1);
        let text = metrics(app).await;
        assert_series(&text, "jobwatch_lease_rescues_total", 1.0);
        assert_series(&text, r#"jobwatch_job_runs_total{job_type="processing",outcome="completed"}"#, 1.0);
    }

    async fn uploaded_bytes_and_imported_rows_are_counted(app) {
        let user = app.new_user("u@example.com").await;
        let supplier = app.new_supplier(&user, "acme").await;
        let csv = b"sku,price\na,1.5\nb,2\nc,3\n";
        assert_eq!(app.upload(&user, &supplier, "prices.csv", csv).await.status, StatusCode::ACCEPTED);
        app.worker(fast_worker_settings()).step().await.unwrap();
        let text = metrics(app).await;
        assert_series(&text, "jobwatch_import_bytes_total", csv.len() as f64);
        assert_series(&text, "jobwatch_import_rows_total", 3.0);
        assert_series(&text, r#"jobwatch_job_runs_total{job_type="import",outcome="completed"}"#, 1.0);
    }

    async fn with_a_token_set_a_scrape_must_bring_it(app) {
        let open = scrape(app, None).await;
        assert_eq!(open.0, StatusCode::OK, "no token configured: open");
        let metrics = MetricsSettings { token: Some("s3cret-scrape".into()), ..Default::default() };
        let node = app.node(AppSettings { metrics, ..test_settings() });
        for refused in [None, Some("Bearer wrong"), Some("Bearer s3cret-scrap"), Some("Basic s3cret-scrape")] {
            let (status, content_type, body) = scrape(&node, refused).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused:?}: {body}");
            assert!(content_type.starts_with("application/json"), "{content_type}");
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["error"]["code"], "unauthorized", "{body}");
        }
        let (status, _, text) = scrape(&node, Some("Bearer s3cret-scrape")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(text.contains("jobwatch_jobs{"), "{text}");
        // A user's login token is no scrape token.
        let user = node.new_user("u@example.com").await;
        assert_eq!(scrape(&node, Some(&format!("Bearer {}", user.token))).await.0, StatusCode::UNAUTHORIZED);
    }
}
