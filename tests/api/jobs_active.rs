//! `GET /api/v2/jobs/active`: what the frontend polls.

use crate::helpers::contract_tests;
use chrono::Duration;
use serde_json::json;

contract_tests! {
    // Spec: test_get_active_jobs_filters_by_user.
    async fn active_jobs_filters_by_user(app) {
        let a = app.new_user("a@example.com").await;
        let b = app.new_user("b@example.com").await;
        let job_a = app.create_job(&a, "import").await;
        let job_b = app.create_job(&b, "import").await;

        assert_eq!(app.active_ids(&a).await, vec![job_a["id"].as_str().unwrap()]);
        assert_eq!(app.active_ids(&b).await, vec![job_b["id"].as_str().unwrap()]);
    }

    // Spec: test_completed_jobs_disappear_after_5_minutes, with a row written 6 minutes ago.
    async fn completed_jobs_disappear_after_five_minutes(app) {
        let user = app.new_user("u@example.com").await;
        app.sql(&format!(
            "insert into background_jobs (job_type, status, progress, created_by, created_at, started_at, completed_at) \
             values ('import', 'completed', 100, '{}', '{}', '{}', '{}')",
            user.id, app.ago(Duration::minutes(20)), app.ago(Duration::minutes(19)), app.ago(Duration::minutes(6))
        ))
        .await
        .unwrap();
        assert!(app.active_ids(&user).await.is_empty());
    }

    async fn finished_jobs_stay_visible_for_five_minutes(app) {
        let user = app.new_user("u@example.com").await;
        let done = app.create_job(&user, "import").await;
        let failed = app.create_job(&user, "export").await;
        let cancelled = app.create_job(&user, "validation").await;
        for job in [&done, &failed] {
            assert_eq!(app.act(&user, &job["id"], "start", json!({})).await.status, 200);
        }
        assert_eq!(app.act(&user, &done["id"], "complete", json!({})).await.status, 200);
        assert_eq!(app.act(&user, &failed["id"], "fail", json!({"error_message": "bad row 7"})).await.status, 200);
        assert_eq!(app.act(&user, &cancelled["id"], "cancel", json!({})).await.status, 200);

        app.clock.advance(Duration::minutes(5) - Duration::milliseconds(1));
        assert_eq!(app.active_ids(&user).await.len(), 3, "all three still shown just under 5 minutes");

        app.clock.advance(Duration::milliseconds(2));
        assert!(app.active_ids(&user).await.is_empty(), "gone just over 5 minutes");
    }

    async fn long_running_jobs_stay_active_whatever_their_age(app) {
        let user = app.new_user("u@example.com").await;
        app.sql(&format!(
            "insert into background_jobs (job_type, status, progress, created_by, created_at, started_at) \
             values ('processing', 'running', 42, '{id}', '{t}', '{t}'), \
                    ('import', 'pending', 0, '{id}', '{old}', null)",
            id = user.id, t = app.ago(Duration::hours(3)), old = app.ago(Duration::days(30)),
        ))
        .await
        .unwrap();
        let res = app.get("/api/v2/jobs/active", &user).await;
        let jobs = res.body.as_array().unwrap();
        assert_eq!(jobs.len(), 2, "{}", res.body);
        assert_eq!(jobs[0]["status"], "running");
        assert_eq!(jobs[0]["progress"], 42);
        assert_eq!(jobs[1]["status"], "pending");
    }

    async fn active_jobs_are_newest_first(app) {
        let user = app.new_user("u@example.com").await;
        let mut ids = Vec::new();
        for _ in 0..4 {
            ids.push(app.create_job(&user, "import").await["id"].as_str().unwrap().to_owned());
            app.clock.advance(Duration::seconds(1));
        }
        ids.reverse();
        assert_eq!(app.active_ids(&user).await, ids);
    }

    async fn active_list_shows_the_frontend_shape(app) {
        let user = app.new_user("u@example.com").await;
        let job = app.create_job(&user, "import").await;
        let res = app.get("/api/v2/jobs/active", &user).await;
        let item = &res.body[0];
        assert_eq!(item["id"], job["id"]);
        assert_eq!(item["type"], "import");
        assert_eq!(item["status"], "pending");
        assert_eq!(item["progress"], 0);
        assert_eq!(item["version"], 1);
        for field in ["created_at", "started_at", "completed_at", "error_message", "related_dataset_id",
                      "metadata", "retry_count", "max_retries", "stage"] {
            assert!(item.get(field).is_some(), "missing {field}");
        }
    }

    async fn admins_see_only_their_own_jobs_in_the_active_list(app) {
        let user = app.new_user("u@example.com").await;
        let admin = app.new_admin("root@example.com").await;
        app.create_job(&user, "import").await;
        assert!(app.active_ids(&admin).await.is_empty());
    }

    async fn jobs_without_an_owner_are_nobodys_active_jobs(app) {
        let user = app.new_user("u@example.com").await;
        app.sql("insert into background_jobs (job_type, status) values ('import', 'running')").await.unwrap();
        assert!(app.active_ids(&user).await.is_empty());
    }

    async fn a_node_answers_repeats_from_memory_but_never_hides_its_own_writes(app) {
        let ttl = std::time::Duration::from_secs(1);
        let node = app.node_with_active_cache(ttl);
        let user = node.new_user("u@example.com").await;
        let job = node.create_job(&user, "import").await;
        assert_eq!(node.active_ids(&user).await, vec![job["id"].as_str().unwrap()], "a create shows at once");

        // Another node (plain SQL here) changes the job: seen within the cache's time.
        app.sql(&format!("update background_jobs set progress = 40 where id = '{}'", job["id"].as_str().unwrap()))
            .await
            .unwrap();
        assert_eq!(node.get("/api/v2/jobs/active", &user).await.body[0]["progress"], 0, "remembered");
        // Each entry lives between half the cache time and all of it (spread so they expire apart).
        app.clock.advance(Duration::milliseconds(499));
        assert_eq!(node.get("/api/v2/jobs/active", &user).await.body[0]["progress"], 0, "still remembered");
        app.clock.advance(Duration::milliseconds(501));
        assert_eq!(node.get("/api/v2/jobs/active", &user).await.body[0]["progress"], 40, "read again");

        // A write through this node shows at once.
        assert_eq!(node.act(&user, &job["id"], "cancel", json!({})).await.status, 200);
        assert_eq!(node.get("/api/v2/jobs/active", &user).await.body[0]["status"], "cancelled");
    }

    async fn a_revoked_token_is_refused_at_once_here_and_within_the_cache_time_elsewhere(app) {
        let ttl = std::time::Duration::from_secs(1);
        let node = app.node_with_active_cache(ttl);
        let user = node.new_user("u@example.com").await;
        assert_eq!(node.get("/api/v2/jobs/active", &user).await.status, 200);
        let logout = node.request(axum::http::Method::POST, "/api/v2/auth/logout", Some(&user.token), None).await;
        assert_eq!(logout.status, 204);
        assert_eq!(node.get("/api/v2/jobs/active", &user).await.status, 401, "logout on this node");

        let other = node.new_user("o@example.com").await;
        assert_eq!(node.get("/api/v2/jobs/active", &other).await.status, 200);
        app.sql("delete from auth_tokens").await.unwrap(); // revoked by another node
        assert_eq!(node.get("/api/v2/jobs/active", &other).await.status, 200, "within the cache time");
        app.clock.advance(Duration::seconds(1));
        assert_eq!(node.get("/api/v2/jobs/active", &other).await.status, 401);
    }

    async fn a_workers_changes_show_in_the_remembered_list_at_once(app) {
        // A cache time no test outlives: what shows comes from the job events, not expiry.
        let node = app.node_with_active_cache(std::time::Duration::from_secs(3600));
        let user = node.new_user("u@example.com").await;
        let job = node.post("/api/v2/jobs", &user,
            json!({"job_type": "processing", "metadata": {"steps": 2, "step_ms": 5}})).await.body;
        assert_eq!(node.get("/api/v2/jobs/active", &user).await.body[0]["status"], "pending", "remembered");
        let worker = app.start_worker(crate::helpers::fast_worker_settings());
        app.wait_for_status(&job["id"], "completed").await;
        let listed = node.get("/api/v2/jobs/active", &user).await.body;
        assert_eq!((listed[0]["status"].as_str(), listed[0]["progress"].as_i64()), (Some("completed"), Some(100)));
        worker.stop().await;
    }

    async fn another_nodes_changes_show_in_the_remembered_list_at_once(app) {
        let Some(other) = app.second_store().await else { return }; // SQLite serves one node
        let node = app.node_with_active_cache(std::time::Duration::from_secs(3600));
        let stop = tokio_util::sync::CancellationToken::new();
        let relay = jobwatch::jobs::events::Relay::connect(app.store.clone()).await;
        let relay = tokio::spawn(relay.run(stop.clone()));
        let user = node.new_user("u@example.com").await;
        let job = node.create_job(&user, "validation").await;
        assert_eq!(node.get("/api/v2/jobs/active", &user).await.body[0]["status"], "pending", "remembered");
        let id = job["id"].as_str().unwrap().parse().unwrap();
        other.request_cancel(id, app.clock_now(), None).await.unwrap().expect("cancelled on the other node");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while node.get("/api/v2/jobs/active", &user).await.body[0]["status"] != "cancelled" {
            assert!(std::time::Instant::now() < deadline, "the other node's cancel never showed");
            // The poll of a deadline-bounded wait: the notice comes through PostgreSQL's LISTEN.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        stop.cancel();
        relay.await.unwrap();
    }
}
