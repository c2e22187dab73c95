//! What a watcher sees of a running job besides its progress: the stage it reports, an
//! estimate of when it ends, and whether it has gone quiet.

use crate::helpers::contract_tests;
use chrono::Duration;
use serde_json::json;

contract_tests! {
    async fn a_job_reports_its_stage_with_its_progress_and_a_retry_clears_it(app) {
        let user = app.new_user("u@example.com").await;
        let job = app.create_job(&user, "validation").await;
        let id = &job["id"];
        app.act(&user, id, "start", json!({})).await;
        let res = app.act(&user, id, "progress", json!({"progress": 10, "stage": "checking rows 1 000 / 10 000"})).await;
        assert_eq!((res.body["stage"].as_str(), res.body["progress"].as_i64()), (Some("checking rows 1 000 / 10 000"), Some(10)));
        let res = app.act(&user, id, "progress", json!({"progress": 20})).await;
        assert_eq!(res.body["stage"], "checking rows 1 000 / 10 000", "kept until replaced");
        let long = app.act(&user, id, "progress", json!({"progress": 30, "stage": "x".repeat(1000)})).await;
        assert_eq!(long.body["stage"].as_str().unwrap().len(), 200, "a line, not a log");

        app.act(&user, id, "fail", json!({"error_message": "bad row"})).await;
        assert_eq!(app.get(&format!("/api/v2/jobs/{}", id.as_str().unwrap()), &user).await.body["stage"].as_str().map(str::len), Some(200),
            "a failed job shows where it was");
        let retried = app.act(&user, id, "retry", json!({})).await;
        assert_eq!(retried.body["stage"], serde_json::Value::Null);
        assert!(retried.body["version"].as_i64().unwrap() > long.body["version"].as_i64().unwrap());
    }

    async fn an_estimate_appears_once_the_pace_can_be_told(app) {
        let user = app.new_user("u@example.com").await;
        let job = app.create_job(&user, "validation").await;
        let id = &job["id"];
        let started = app.act(&user, id, "start", json!({})).await;
        assert_eq!(started.body["eta_seconds"], serde_json::Value::Null, "no progress yet");
        app.clock.advance(Duration::seconds(10));
        let res = app.act(&user, id, "progress", json!({"progress": 25})).await;
        assert_eq!(res.body["eta_seconds"], 30, "a quarter in 10 s: the rest in 30 s");
        let listed = app.get("/api/v2/jobs/active", &user).await.body;
        assert_eq!(listed[0]["eta_seconds"], 30);
        let done = app.act(&user, id, "complete", json!({})).await;
        assert_eq!(done.body["eta_seconds"], serde_json::Value::Null);
    }

    async fn a_running_job_quiet_for_too_long_is_shown_stalled(app) {
        let user = app.new_user("u@example.com").await;
        let job = app.create_job(&user, "validation").await;
        let id = &job["id"];
        let path = format!("/api/v2/jobs/{}", id.as_str().unwrap());
        assert_eq!(app.act(&user, id, "start", json!({})).await.body["stalled"], false);
        app.clock.advance(Duration::seconds(19));
        assert_eq!(app.get(&path, &user).await.body["stalled"], false, "19 s of quiet: within JOBWATCH_STALLED_AFTER");
        app.clock.advance(Duration::seconds(1));
        assert_eq!(app.get(&path, &user).await.body["stalled"], true);
        assert_eq!(app.get("/api/v2/jobs/active", &user).await.body[0]["stalled"], true);
        // Any sign of life ends it.
        assert_eq!(app.act(&user, id, "progress", json!({"progress": 1})).await.body["stalled"], false);
    }

    async fn a_workers_heartbeat_keeps_a_silent_job_from_looking_stalled(app) {
        let user = app.new_user("u@example.com").await;
        // A lease longer than the clock's jump, so the job is not rescued meanwhile.
        let settings = jobwatch::worker::WorkerSettings {
            lease: std::time::Duration::from_secs(120),
            ..crate::helpers::fast_worker_settings()
        };
        let worker = app.start_worker(settings);
        let job = app.post("/api/v2/jobs", &user,
            json!({"job_type": "processing", "metadata": {"steps": 1, "step_ms": 5000}})).await.body;
        app.wait_for_status(&job["id"], "running").await;
        app.clock.advance(Duration::seconds(30));
        let path = format!("/api/v2/jobs/{}", job["id"].as_str().unwrap());
        // The lease heartbeat (every 50 ms here) stamps the job with the moved clock.
        let seen = app.wait_for(&job["id"], "a heartbeat after the clock moved", |j| j["stalled"] == false).await;
        assert_eq!(seen["status"], "running");
        assert_eq!(app.get(&path, &user).await.body["stalled"], false);
        worker.stop().await;
    }

    async fn a_handlers_stage_reaches_the_job_with_its_heartbeat(app) {
        let user = app.new_user("u@example.com").await;
        let worker = app.start_worker(crate::helpers::fast_worker_settings());
        let job = app.post("/api/v2/jobs", &user,
            json!({"job_type": "processing", "metadata": {"steps": 400, "step_ms": 10}})).await.body;
        let seen = app.wait_for(&job["id"], "a stage while running", |j| {
            j["status"] == "running" && j["stage"].as_str().is_some_and(|s| s.starts_with("step "))
        }).await;
        assert!(seen["stage"].as_str().unwrap().ends_with(" of 400"), "{}", seen["stage"]);
        worker.stop().await;
    }
}
