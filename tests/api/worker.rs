//! The worker runtime over the real store: running, retrying, cancelling, rescuing and
//! draining jobs. The clock stands still unless a test moves it; what must *not* happen is
//! shown by stepping a worker (`worker.step()`), not by waiting.

use crate::helpers::{contract_tests, fast_worker_settings};
use axum::http::StatusCode;
use chrono::Duration;
use jobwatch::jobs::JobType;
use jobwatch::storage::queue::LEASE_EXPIRED;
use jobwatch::worker::Step;
use serde_json::{Value, json};
use uuid::Uuid;

fn processing(metadata: Value) -> Value {
    json!({"job_type": "processing", "metadata": metadata})
}

fn time(job: &Value, field: &str) -> chrono::DateTime<chrono::Utc> {
    job[field].as_str().unwrap().parse().unwrap()
}

fn id(job: &Value) -> Uuid {
    job["id"].as_str().unwrap().parse().unwrap()
}

contract_tests! {
    async fn a_worker_runs_a_job_to_completion(app) {
        let user = app.new_user("u@example.com").await;
        let worker = app.start_worker(fast_worker_settings());
        let job = app.post("/api/v2/jobs", &user, processing(json!({"steps": 3, "step_ms": 5}))).await.body;
        let done = app.wait_for_status(&job["id"], "completed").await;
        assert_eq!(done["progress"], 100);
        assert_eq!(done["attempt"], 1);
        assert_eq!(done["retry_count"], 0);
        assert!(done["started_at"].is_string() && done["completed_at"].is_string());
        worker.stop().await;
    }

    async fn progress_shows_while_the_job_runs(app) {
        let user = app.new_user("u@example.com").await;
        let worker = app.start_worker(fast_worker_settings());
        let job = app.post("/api/v2/jobs", &user, processing(json!({"steps": 400, "step_ms": 10}))).await.body;
        let running = app.wait_for(&job["id"], "progress while running",
            |j| j["status"] == "running" && j["progress"].as_i64().unwrap() > 0).await;
        assert!(running["progress"].as_i64().unwrap() < 100);
        worker.stop().await;
    }

    async fn retryable_failures_back_off_then_fail_when_retries_are_spent(app) {
        let user = app.new_user("u@example.com").await;
        let worker = app.worker(fast_worker_settings());
        let body = json!({"job_type": "processing", "max_retries": 1,
                          "metadata": {"steps": 2, "step_ms": 0, "fail_at": 2}});
        let job = app.post("/api/v2/jobs", &user, body).await.body;

        assert_eq!(worker.step().await.unwrap().ran, vec![id(&job)]);
        let waiting = app.job(&job["id"]).await;
        assert_eq!((waiting["status"].as_str(), waiting["retry_count"].as_i64()), (Some("pending"), Some(1)));
        assert_eq!(waiting["error_message"], "step 2 of 2 failed (metadata.fail_at)");
        let delay = time(&waiting, "run_at") - app.clock_now();
        assert!(delay >= Duration::milliseconds(500) && delay <= Duration::seconds(1), "backoff {delay}");

        // Not due yet: a step a moment before run_at claims nothing.
        app.clock.advance(delay - Duration::milliseconds(1));
        assert_eq!(worker.step().await.unwrap(), Step::default());
        assert_eq!(app.job(&job["id"]).await["attempt"], 1);
        app.clock.advance(Duration::seconds(1));

        assert_eq!(worker.step().await.unwrap().ran, vec![id(&job)]);
        let failed = app.job(&job["id"]).await;
        assert_eq!(failed["status"], "failed");
        assert_eq!(failed["attempt"], 2);
        assert_eq!(failed["retry_count"], 1);
        assert_eq!(failed["error_message"], "step 2 of 2 failed (metadata.fail_at) (gave up after 1 retries)");
        assert_eq!(failed["progress"], 50, "progress frozen where it failed");
        assert_eq!(worker.step().await.unwrap(), Step::default(), "a failed job is not run again");
    }

    async fn permanent_failures_fail_at_once(app) {
        let user = app.new_user("u@example.com").await;
        let worker = app.start_worker(fast_worker_settings());
        let job = app.post("/api/v2/jobs", &user,
            processing(json!({"steps": 1, "step_ms": 0, "fail_at": 1, "fail": "permanent"}))).await.body;
        let failed = app.wait_for_status(&job["id"], "failed").await;
        assert_eq!((failed["attempt"].as_i64(), failed["retry_count"].as_i64()), (Some(1), Some(0)));
        worker.stop().await;
    }

    async fn cancelling_a_running_job_stops_its_handler(app) {
        let user = app.new_user("u@example.com").await;
        let worker = app.start_worker(fast_worker_settings());
        let job = app.post("/api/v2/jobs", &user, processing(json!({"steps": 10000, "step_ms": 10}))).await.body;
        // Its stage shows after the first 10 ms step (progress would take 100 of them).
        app.wait_for(&job["id"], "the handler to run a step", |j| j["stage"].is_string()).await;

        let asked = std::time::Instant::now();
        let res = app.act(&user, &job["id"], "cancel", json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(res.body["status"], "running", "a running job is asked to stop, not killed");
        assert!(res.body["cancel_requested_at"].is_string());

        let cancelled = app.wait_for_status(&job["id"], "cancelled").await;
        assert!(asked.elapsed() < std::time::Duration::from_secs(1), "stopped within a second");
        // Once its worker has stopped, all it was going to write is written: the job stays as it
        // ended (no late progress from a heartbeat), and no worker runs it again.
        worker.stop().await;
        assert_eq!(app.job(&job["id"]).await, cancelled);
        assert_eq!(app.worker(fast_worker_settings()).step().await.unwrap(), Step::default());
        assert_eq!(app.act(&user, &job["id"], "cancel", json!({})).await.status, StatusCode::CONFLICT);
    }

    async fn failed_jobs_are_retried_by_hand(app) {
        let user = app.new_user("u@example.com").await;
        let other = app.new_user("o@example.com").await;
        let worker = app.start_worker(fast_worker_settings());
        let job = app.post("/api/v2/jobs", &user,
            processing(json!({"steps": 1, "step_ms": 0, "fail_at": 1, "fail": "permanent"}))).await.body;
        app.wait_for_status(&job["id"], "failed").await;

        assert_eq!(app.act(&other, &job["id"], "retry", json!({})).await.status, StatusCode::NOT_FOUND);
        let res = app.act(&user, &job["id"], "retry", json!({})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(res.body["status"], "pending");
        assert_eq!(res.body["progress"], 0);
        assert!(res.body["completed_at"].is_null());
        let again = app.wait_for(&job["id"], "second attempt", |j| j["status"] == "failed" && j["attempt"] == 2).await;
        assert_eq!(again["retry_count"], 0, "a retry by hand is not an automatic retry");

        let ok = app.post("/api/v2/jobs", &user, processing(json!({"steps": 1, "step_ms": 0}))).await.body;
        app.wait_for_status(&ok["id"], "completed").await;
        let res = app.act(&user, &ok["id"], "retry", json!({})).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "a completed job is done");
        worker.stop().await;
    }

    // A worker that stops renewing (killed, frozen, cut off) loses its jobs to the rescuer.
    async fn a_dead_workers_job_is_rescued_and_run_again(app) {
        let user = app.new_user("u@example.com").await;
        let job = app.post("/api/v2/jobs", &user, processing(json!({"steps": 1, "step_ms": 0}))).await.body;
        let now = app.clock_now();
        let ghost = app.store.claim_jobs("ghost", &[JobType::Processing], 10, jobwatch::storage::ClaimKey::start(), now, now + Duration::seconds(2)).await.unwrap();
        assert_eq!(ghost.len(), 1);

        let worker = app.worker(fast_worker_settings());
        assert_eq!(worker.step().await.unwrap(), Step::default(), "nothing to rescue or claim");
        let held = app.job(&job["id"]).await;
        assert_eq!((held["status"].as_str(), held["attempt"].as_i64()), (Some("running"), Some(1)),
                   "nobody else runs a job while its lease is live");

        app.clock.advance(Duration::seconds(3));
        let step = worker.step().await.unwrap();
        assert_eq!((step.rescued, step.ran), (1, vec![id(&job)]), "rescued, then claimed in the same step");
        let done = app.job(&job["id"]).await;
        assert_eq!(done["status"], "completed");
        assert_eq!(done["attempt"], 2);
        assert_eq!(done["retry_count"], 1, "the lost attempt counts as a retry");
        assert_eq!(done["error_message"], LEASE_EXPIRED);
    }

    async fn rescue_fails_a_job_whose_retries_are_spent(app) {
        let user = app.new_user("u@example.com").await;
        let job = app.post("/api/v2/jobs", &user, json!({"job_type": "processing", "max_retries": 0})).await.body;
        let now = app.clock_now();
        app.store.claim_jobs("ghost", &[JobType::Processing], 1, jobwatch::storage::ClaimKey::start(), now, now + Duration::seconds(1)).await.unwrap();
        assert_eq!(app.store.rescue_expired(now + Duration::seconds(2), 100).await.unwrap().count, 1);
        let failed = app.wait_for_status(&job["id"], "failed").await;
        assert_eq!(failed["error_message"], LEASE_EXPIRED);
        assert!(failed["completed_at"].is_string());
    }

    async fn shutdown_hands_running_jobs_back(app) {
        let user = app.new_user("u@example.com").await;
        let worker = app.start_worker(fast_worker_settings());
        let job = app.post("/api/v2/jobs", &user, processing(json!({"steps": 10000, "step_ms": 10}))).await.body;
        app.wait_for_status(&job["id"], "running").await;
        worker.stop().await;
        let back = app.wait_for_status(&job["id"], "pending").await;
        assert_eq!(back["attempt"], 1);
        assert_eq!(back["retry_count"], 0, "a shutdown is not the job's failure");
        app.sql("select 1").await.unwrap();
    }

    async fn jobs_are_claimed_by_priority_then_due_time(app) {
        let user = app.new_user("u@example.com").await;
        let mut ids = Vec::new();
        for (priority, delay) in [(0, 2), (5, 3), (0, 1), (5, 1)] {
            let run_at = app.clock_now() + Duration::seconds(delay);
            let body = json!({"job_type": "processing", "priority": priority, "run_at": run_at});
            ids.push(app.post("/api/v2/jobs", &user, body).await.body["id"].as_str().unwrap().to_owned());
        }
        let now = app.clock_now();
        let lease = now + Duration::hours(1);
        assert!(app.store.claim_jobs("w", &[JobType::Processing], 10, jobwatch::storage::ClaimKey::start(), now, lease).await.unwrap().is_empty(),
                "none due yet");
        let later = now + Duration::seconds(5);
        let mut order = Vec::new();
        for _ in 0..4 {
            let claimed = app.store.claim_jobs("w", &[JobType::Processing], 1, jobwatch::storage::ClaimKey::start(), later, lease).await.unwrap();
            order.push(claimed[0].id.to_string());
        }
        assert_eq!(order, vec![ids[3].clone(), ids[1].clone(), ids[2].clone(), ids[0].clone()]);
        assert!(app.store.claim_jobs("w", &[JobType::Export], 10, jobwatch::storage::ClaimKey::start(), later, lease).await.unwrap().is_empty());
    }

    // A worker resumes after the last job it claimed; from the start it sees everything.
    async fn claims_resume_after_a_key(app) {
        let user = app.new_user("u@example.com").await;
        let mut jobs = Vec::new();
        for (priority, delay) in [(5, 0), (0, 1), (0, 2)] {
            let run_at = app.clock_now() + Duration::seconds(delay);
            let body = json!({"job_type": "processing", "priority": priority, "run_at": run_at});
            jobs.push(app.post("/api/v2/jobs", &user, body).await.body);
        }
        let key = |job: &Value| jobwatch::storage::ClaimKey {
            priority: job["priority"].as_i64().unwrap() as i32,
            run_at: time(job, "run_at"),
            id: job["id"].as_str().unwrap().parse().unwrap(),
        };
        let later = app.clock_now() + Duration::seconds(5);
        let lease = later + Duration::hours(1);
        let claim = |after| app.store.claim_jobs("w", &[JobType::Processing], 10, after, later, lease);
        let tail = claim(key(&jobs[1])).await.unwrap();
        assert_eq!(tail.iter().map(|j| j.id.to_string()).collect::<Vec<_>>(), vec![jobs[2]["id"].as_str().unwrap()]);
        let rest = claim(jobwatch::storage::ClaimKey::start()).await.unwrap();
        let ids: Vec<String> = rest.iter().map(|j| j.id.to_string()).collect();
        assert_eq!(ids, vec![jobs[0]["id"].as_str().unwrap(), jobs[1]["id"].as_str().unwrap()], "in claim order");
    }

    // A type at its limit waits, both while one of its jobs runs and within one claim.
    async fn per_type_limits_hold(app) {
        let user = app.new_user("u@example.com").await;
        let mut settings = fast_worker_settings();
        settings.type_limits.insert(JobType::Processing, 1);
        let worker = app.worker(settings);
        let long = app.post("/api/v2/jobs", &user, json!({"job_type": "processing", "priority": 10,
            "metadata": {"steps": 10000, "step_ms": 10}})).await.body;
        for _ in 0..2 {
            app.post("/api/v2/jobs", &user, processing(json!({"steps": 1, "step_ms": 0}))).await;
        }
        let first = tokio::spawn({
            let worker = worker.clone();
            async move { worker.step().await.unwrap() }
        });
        app.wait_for(&long["id"], "the long job's handler to run", |j| j["stage"].is_string()).await;
        assert_eq!(worker.step().await.unwrap(), Step::default(), "the type's one slot is taken");
        assert_eq!(app.count_jobs("status = 'pending'").await, 2);

        app.act(&user, &long["id"], "cancel", json!({})).await;
        assert_eq!(first.await.unwrap().ran, vec![id(&long)]);
        assert_eq!(worker.step().await.unwrap().ran.len(), 1, "one at a time, though there is room for four");
        assert_eq!(app.count_jobs("status = 'pending'").await, 1);
        assert_eq!(worker.step().await.unwrap().ran.len(), 1);
        assert_eq!(app.count_jobs("status = 'completed'").await, 2);
    }

    async fn bulk_enqueued_jobs_all_run(app) {
        let user = app.new_user("u@example.com").await;
        let now = app.clock_now();
        let jobs: Vec<_> = (0..50)
            .map(|i| jobwatch::jobs::model::NewJob {
                job_type: JobType::Processing,
                created_by: Some(user.id),
                related_dataset_id: None,
                metadata: json!({"steps": 1, "step_ms": 0, "n": i}),
                created_at: now,
                run_at: now,
                priority: 0,
                max_retries: 3,
            })
            .collect();
        assert_eq!(app.store.insert_jobs(&jobs).await.unwrap().count, 50);
        // No poll to fall back on: the insert's signal and finished jobs must keep it going.
        let mut settings = fast_worker_settings();
        settings.poll = std::time::Duration::from_secs(3600);
        settings.rescue_every = std::time::Duration::from_secs(3600);
        let worker = app.start_worker(settings);
        let mine = format!("created_by = '{}' and status = 'completed' and attempt = 1", user.id);
        app.wait_for_count("the 50 jobs to complete", &mine, 50).await;
        worker.stop().await;
    }

    async fn finished_jobs_past_retention_are_pruned(app) {
        let user = app.new_user("u@example.com").await;
        app.sql(&format!(
            "insert into background_jobs (job_type, status, created_by, completed_at) values \
             ('import', 'completed', '{id}', '{old}'), ('import', 'failed', '{id}', '{old}'), \
             ('import', 'completed', '{id}', '{recent}'), ('import', 'pending', '{id}', null)",
            id = user.id, old = app.ago(Duration::days(8)), recent = app.ago(Duration::days(6))
        )).await.unwrap();
        let pruned = app.store.prune_finished(app.clock_now() - Duration::days(7), 1000).await.unwrap();
        assert_eq!(pruned.len(), 2);
        assert_eq!(app.get("/api/v2/jobs/active", &user).await.body.as_array().unwrap().len(), 1, "pending kept");
    }

    // Lease renewal and batched completion both lock many of a worker's rows at once. Taken in
    // different orders they deadlocked, each time stalling both for deadlock_timeout (1 s).
    async fn renewals_and_completions_of_the_same_jobs_never_deadlock(app) {
        let now = app.clock_now();
        let new = |i: usize| jobwatch::jobs::model::NewJob {
            job_type: JobType::Processing, created_by: None, related_dataset_id: None,
            metadata: json!({"n": i}), created_at: now, run_at: now, priority: 0, max_retries: 3,
        };
        for round in 0..20 {
            let jobs: Vec<_> = (0..200).map(new).collect();
            app.store.insert_jobs(&jobs).await.unwrap();
            let lease = now + Duration::seconds(30);
            let claimed = app.store
                .claim_jobs("w", &[JobType::Processing], 200, jobwatch::storage::ClaimKey::start(), now, lease)
                .await.unwrap();
            assert_eq!(claimed.len(), 200);
            let beats: Vec<_> = claimed.iter()
                .map(|j| jobwatch::storage::Beat { id: j.id, attempt: j.attempt, progress: Some(50), stage: None })
                .collect();
            let mut done: Vec<_> = claimed.iter().map(|j| (j.id, j.attempt)).collect();
            done.reverse();
            let (renewed, completed) = tokio::join!(
                app.store.renew_leases("w", &beats, now, lease),
                app.store.complete_jobs(&done, now),
            );
            renewed.unwrap_or_else(|e| panic!("round {round}: renewal failed: {e}"));
            assert_eq!(completed.unwrap_or_else(|e| panic!("round {round}: completion failed: {e}")).count, 200);
        }
    }

    // A worker claims ahead while jobs are short. When long jobs then hold every slot, what
    // waits in its buffer goes back to the queue, and an idle node runs it meanwhile.
    async fn jobs_waiting_behind_long_ones_go_to_an_idle_node(app) {
        let now = app.clock_now();
        let new = |steps: u64, step_ms: u64, priority: i32| jobwatch::jobs::model::NewJob {
            job_type: JobType::Processing, created_by: None, related_dataset_id: None,
            metadata: json!({"steps": steps, "step_ms": step_ms}), created_at: now, run_at: now,
            priority, max_retries: 3,
        };
        let mut settings = fast_worker_settings();
        settings.concurrency = 2;
        let busy = app.start_worker(settings);
        // Short jobs first, so this worker learns to claim ahead.
        let warmup: Vec<_> = (0..40).map(|_| new(1, 0, 0)).collect();
        app.store.insert_jobs(&warmup).await.unwrap();
        app.wait_for_count("the warm-up jobs to finish", "status = 'completed'", 40).await;

        // Two long jobs (first by priority) and short ones behind them, claimed together.
        let mut batch = vec![new(40, 100, 10), new(40, 100, 10)];
        batch.extend((0..30).map(|_| new(1, 0, 0)));
        app.store.insert_jobs(&batch).await.unwrap();
        app.wait_for_count("the long jobs to start", "priority = 10 and status = 'running'", 2).await;

        let idle = app.start_worker(fast_worker_settings());
        app.wait_for_count("the short jobs to finish on the idle node", "priority = 0 and status = 'completed'", 70).await;
        assert_eq!(app.count_jobs("priority = 10 and status = 'running'").await, 2, "the short jobs did not wait for the long ones");
        idle.stop().await;
        busy.stop().await;
    }

    // What a worker gives back (shutdown, or jobs waiting behind a long one) in one statement.
    async fn released_jobs_go_back_to_the_queue_unless_cancelled(app) {
        let user = app.new_user("u@example.com").await;
        let now = app.clock_now();
        for _ in 0..3 {
            app.create_job(&user, "processing").await;
        }
        let lease = now + Duration::seconds(30);
        let claimed = app.store
            .claim_jobs("w", &[JobType::Processing], 3, jobwatch::storage::ClaimKey::start(), now, lease)
            .await.unwrap();
        assert_eq!(claimed.len(), 3);
        let cancel = &claimed[0];
        assert!(app.act(&user, &json!(cancel.id), "cancel", json!({})).await.body["cancel_requested_at"].is_string());

        let later = now + Duration::seconds(5);
        let mut held: Vec<_> = claimed.iter().map(|j| (j.id, j.attempt)).collect();
        held[2].1 += 1; // a run this worker no longer holds: fenced out
        assert_eq!(app.store.release_jobs(&held, later).await.unwrap().count, 2);

        let cancelled = app.get(&format!("/api/v2/jobs/{}", cancel.id), &user).await.body;
        assert_eq!(cancelled["status"], "cancelled");
        let back = app.get(&format!("/api/v2/jobs/{}", claimed[1].id), &user).await.body;
        assert_eq!((back["status"].as_str(), back["retry_count"].as_i64()), (Some("pending"), Some(0)));
        assert_eq!(app.count_jobs("status = 'pending' and locked_by is null and lease_expires_at is null").await, 1);
        assert_eq!(app.count_jobs("status = 'running'").await, 1, "the fenced-out run is untouched");
    }
}
