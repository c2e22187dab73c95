//! The state machine, over HTTP and through the service operations the spec names.

use crate::helpers::contract_tests;
use axum::http::StatusCode;
use chrono::Duration;
use jobwatch::jobs::service::CreateJob;
use jobwatch::jobs::{JobError, JobStatus, JobType};
use serde_json::json;

contract_tests! {
    async fn a_job_runs_from_pending_to_completed(app) {
        let user = app.new_user("u@example.com").await;
        let job = app.create_job(&user, "import").await;
        let id = &job["id"];

        app.clock.advance(Duration::seconds(1));
        let started = app.act(&user, id, "start", json!({})).await;
        assert_eq!(started.status, StatusCode::OK, "{}", started.body);
        assert_eq!(started.body["status"], "running");
        assert!(started.body["started_at"].is_string());

        for (report, expect) in [(10, 10), (40, 40), (20, 40), (-3, 40), (70, 70), (250, 100)] {
            let res = app.act(&user, id, "progress", json!({"progress": report})).await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.body);
            assert_eq!(res.body["progress"], expect, "after reporting {report}");
            assert_eq!(res.body["status"], "running");
        }

        app.clock.advance(Duration::seconds(1));
        let done = app.act(&user, id, "complete", json!({})).await;
        assert_eq!(done.body["status"], "completed");
        assert_eq!(done.body["progress"], 100);
        assert!(done.body["completed_at"].as_str() > started.body["started_at"].as_str());
    }

    async fn a_failed_job_keeps_its_message_and_progress(app) {
        let user = app.new_user("u@example.com").await;
        let job = app.create_job(&user, "import").await;
        app.act(&user, &job["id"], "start", json!({})).await;
        app.act(&user, &job["id"], "progress", json!({"progress": 70})).await;
        let res = app.act(&user, &job["id"], "fail", json!({"error_message": "line 12: expected a date"})).await;
        assert_eq!(res.body["status"], "failed");
        assert_eq!(res.body["error_message"], "line 12: expected a date");
        assert_eq!(res.body["progress"], 70);
        assert!(res.body["completed_at"].is_string());
    }

    async fn cancelling_freezes_progress(app) {
        let user = app.new_user("u@example.com").await;
        let pending = app.create_job(&user, "export").await;
        let res = app.act(&user, &pending["id"], "cancel", json!({})).await;
        assert_eq!(res.body["status"], "cancelled");
        assert_eq!(res.body["progress"], 0);

        let running = app.create_job(&user, "export").await;
        app.act(&user, &running["id"], "start", json!({})).await;
        app.act(&user, &running["id"], "progress", json!({"progress": 55})).await;
        let res = app.act(&user, &running["id"], "cancel", json!({})).await;
        assert_eq!(res.body["status"], "cancelled");
        assert_eq!(res.body["progress"], 55);
    }

    async fn illegal_transitions_are_conflicts_and_change_nothing(app) {
        let user = app.new_user("u@example.com").await;
        let job = app.create_job(&user, "import").await;
        let id = &job["id"];
        let path = format!("/api/v2/jobs/{}", id.as_str().unwrap());

        // From pending: only start and cancel.
        for (action, body) in [("progress", json!({"progress": 5})), ("complete", json!({})),
                               ("fail", json!({"error_message": "x"}))] {
            let res = app.act(&user, id, action, body).await;
            assert_eq!(res.status, StatusCode::CONFLICT, "{action} from pending: {}", res.body);
            assert_eq!(res.body["error"]["code"], "invalid_transition");
            assert_eq!(res.body["error"]["details"], json!({"action": action, "status": "pending"}));
        }
        assert_eq!(app.get(&path, &user).await.body, job);

        // From running: not start again.
        app.act(&user, id, "start", json!({})).await;
        assert_eq!(app.act(&user, id, "start", json!({})).await.status, StatusCode::CONFLICT);

        // Terminal stays terminal.
        let done = app.act(&user, id, "complete", json!({})).await.body;
        for (action, body) in [("start", json!({})), ("progress", json!({"progress": 5})), ("complete", json!({})),
                               ("fail", json!({"error_message": "x"})), ("cancel", json!({}))] {
            let res = app.act(&user, id, action, body).await;
            assert_eq!(res.status, StatusCode::CONFLICT, "{action} from completed");
        }
        assert_eq!(app.get(&path, &user).await.body, done);
    }

    // The spec's service operations, as application code (and later the workers) call them.
    async fn service_operations_follow_the_state_machine(app) {
        let user = app.state.users.create("svc@example.com", crate::helpers::PASSWORD, false).await.unwrap();
        let jobs = &app.state.jobs;
        let job = jobs.create(&user, CreateJob::new(JobType::Processing)).await.unwrap();
        assert_eq!((job.status, job.progress), (JobStatus::Pending, 0));

        let job = jobs.start(job.id).await.unwrap();
        assert_eq!(job.status, JobStatus::Running);
        assert_eq!(job.started_at, Some(app.clock_now()));
        assert_eq!(jobs.update_progress(job.id, 30).await.unwrap().progress, 30);
        assert_eq!(jobs.update_progress(job.id, 10).await.unwrap().progress, 30, "never backwards");
        assert_eq!(jobs.update_progress(job.id, 1_000).await.unwrap().progress, 100, "clamped");
        let done = jobs.complete(job.id).await.unwrap();
        assert_eq!((done.status, done.progress), (JobStatus::Completed, 100));
        assert_eq!(done.completed_at, Some(app.clock_now()));

        match jobs.fail(job.id, "too late").await {
            Err(JobError::Conflict { action: "fail", status: JobStatus::Completed }) => {}
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert!(matches!(jobs.start(uuid::Uuid::new_v4()).await, Err(JobError::NotFound)));

        app.clock.advance(Duration::seconds(1));
        let other = jobs.create(&user, CreateJob { metadata: Some(json!({"k": 1})), ..CreateJob::new(JobType::Export) }).await.unwrap();
        jobs.start(other.id).await.unwrap();
        let failed = jobs.fail(other.id, "disk full").await.unwrap();
        assert_eq!((failed.status, failed.error_message.as_deref()), (JobStatus::Failed, Some("disk full")));
        app.clock.advance(Duration::seconds(1));
        let third = jobs.create(&user, CreateJob::new(JobType::Import)).await.unwrap();
        assert_eq!(jobs.cancel(third.id, None).await.unwrap().status, JobStatus::Cancelled);

        // The active list as the service gives it: all three finished just now, newest first.
        let active: Vec<_> = jobs.active(&user).await.unwrap().into_iter().map(|j| j.id).collect();
        assert_eq!(active, vec![third.id, other.id, job.id]);
    }

    async fn concurrent_transitions_let_exactly_one_win(app) {
        let user = app.new_user("u@example.com").await;
        let job = app.create_job(&user, "import").await;
        let id: uuid::Uuid = job["id"].as_str().unwrap().parse().unwrap();
        let attempts = (0..8).map(|i| {
            let jobs = app.state.jobs.clone();
            async move { if i % 2 == 0 { jobs.start(id).await } else { jobs.cancel(id, None).await } }
        });
        let results = futures_util::future::join_all(attempts).await;
        let started = results.iter().filter(|r| matches!(r, Ok(j) if j.status == JobStatus::Running)).count();
        let cancelled = results.iter().filter(|r| matches!(r, Ok(j) if j.status == JobStatus::Cancelled)).count();
        // Either start won (then one cancel may follow it) or cancel won (then nothing else).
        assert!(started <= 1 && cancelled <= 1 && started + cancelled >= 1, "{results:?}");
        assert!(results.iter().all(|r| matches!(r, Ok(_) | Err(JobError::Conflict { .. }))), "{results:?}");
    }

    async fn progress_needs_a_number(app) {
        let user = app.new_user("u@example.com").await;
        let job = app.create_job(&user, "import").await;
        app.act(&user, &job["id"], "start", json!({})).await;
        for body in [json!({}), json!({"progress": "50"}), json!({"progress": 1.5})] {
            let res = app.act(&user, &job["id"], "progress", body.clone()).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        }
    }
}
