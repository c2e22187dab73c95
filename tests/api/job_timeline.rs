//! `GET /api/v2/jobs/{id}/timeline`: the audit trail — every failed attempt, who cancelled or
//! retried — with the transitions the job's timestamps tell.

use crate::helpers::{contract_tests, fast_worker_settings};
use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};

fn events(timeline: &Value) -> Vec<String> {
    timeline.as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap().to_owned()).collect()
}

contract_tests! {
    async fn the_timeline_keeps_every_failed_attempt_and_who_retried_or_cancelled(app) {
        let ann = app.new_user("ann@example.com").await;
        let worker = app.start_worker(fast_worker_settings());
        let job = app.post("/api/v2/jobs", &ann, json!({"job_type": "processing", "max_retries": 1,
            "metadata": {"steps": 1, "step_ms": 0, "fail_at": 1}})).await.body;
        app.wait_for(&job["id"], "a first failed attempt", |j| j["retry_count"] == 1).await;
        app.clock.advance(Duration::seconds(2));
        app.wait_for_status(&job["id"], "failed").await;
        worker.stop().await;
        let path = format!("/api/v2/jobs/{}/timeline", job["id"].as_str().unwrap());

        let timeline = app.get(&path, &ann).await.body;
        assert_eq!(events(&timeline), ["created", "retrying", "started", "failed"], "{timeline}");
        let t = timeline.as_array().unwrap();
        assert_eq!(t[0]["actor"]["email"], "ann@example.com");
        assert_eq!((t[1]["attempt"].as_i64(), t[1]["message"].as_str()), (Some(1), Some("step 1 of 1 failed (metadata.fail_at)")));
        assert_eq!(t[3]["attempt"], 2);
        assert!(t[3]["message"].as_str().unwrap().contains("gave up after 1 retries"));

        // Retried by hand, in bulk, then cancelled by hand: who and how are kept.
        app.post("/api/v2/jobs/bulk", &ann, json!({"action": "retry", "ids": [job["id"]]})).await;
        app.act(&ann, &job["id"], "cancel", json!({})).await;
        let timeline = app.get(&path, &ann).await.body;
        let t = timeline.as_array().unwrap();
        let retried = t.iter().find(|e| e["event"] == "retried").expect("retried");
        assert_eq!((retried["actor"]["email"].as_str(), retried["bulk"].as_bool()), (Some("ann@example.com"), Some(true)));
        let cancelled = t.last().unwrap();
        assert_eq!((cancelled["event"].as_str(), cancelled.get("bulk")), (Some("cancelled"), None));
        assert_eq!(cancelled["actor"]["id"], json!(ann.id));
    }

    async fn a_lost_attempt_and_a_stop_request_are_kept(app) {
        let ann = app.new_user("ann@example.com").await;
        let admin = app.new_admin("root@example.com").await;
        let job = app.create_job(&ann, "processing").await;
        let now = app.clock_now();
        let id: uuid::Uuid = job["id"].as_str().unwrap().parse().unwrap();
        let claimed = app.store.claim_jobs("ghost", &[jobwatch::jobs::JobType::Processing], 1,
            jobwatch::storage::ClaimKey::start(), now, now + Duration::seconds(1)).await.unwrap();
        assert_eq!(claimed[0].id, id);
        app.clock.advance(Duration::seconds(2));
        app.store.rescue_expired(app.clock_now(), 10).await.unwrap();
        app.store.claim_jobs("w", &[jobwatch::jobs::JobType::Processing], 1,
            jobwatch::storage::ClaimKey::start(), app.clock_now(), app.clock_now() + Duration::seconds(30)).await.unwrap();
        assert_eq!(app.act(&admin, &job["id"], "cancel", json!({})).await.status, StatusCode::OK);
        let path = format!("/api/v2/jobs/{}/timeline", job["id"].as_str().unwrap());
        let timeline = app.get(&path, &ann).await.body;
        assert_eq!(events(&timeline), ["created", "retrying", "started", "stopping"], "{timeline}");
        let t = timeline.as_array().unwrap();
        assert_eq!(t[1]["message"], jobwatch::storage::queue::LEASE_EXPIRED);
        assert_eq!(t[3]["actor"]["email"], "root@example.com", "an admin's stop request names the admin");
    }

    async fn another_users_timeline_is_not_found(app) {
        let ann = app.new_user("ann@example.com").await;
        let bob = app.new_user("bob@example.com").await;
        let job = app.create_job(&ann, "validation").await;
        let path = format!("/api/v2/jobs/{}/timeline", job["id"].as_str().unwrap());
        assert_eq!(app.get(&path, &bob).await.status, StatusCode::NOT_FOUND);
        assert_eq!(events(&app.get(&path, &ann).await.body), ["created"]);
        assert_eq!(app.get("/api/v2/jobs/not-a-uuid/timeline", &ann).await.status, StatusCode::BAD_REQUEST);
    }
}
