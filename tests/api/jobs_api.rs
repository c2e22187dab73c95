//! `POST /api/v2/jobs` and `GET /api/v2/jobs/{id}`: creation, visibility, rows written by
//! other tools.

use crate::helpers::contract_tests;
use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::json;

contract_tests! {
    // Spec: test_create_background_job.
    async fn create_job_is_pending_with_zero_progress(app) {
        let user = app.new_user("u@example.com").await;
        let res = app.post("/api/v2/jobs", &user,
            json!({"job_type": "import", "metadata": {"filename": "suppliers.csv"}})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let job = res.body;
        assert_eq!(job["type"], "import");
        assert_eq!(job["status"], "pending");
        assert_eq!(job["progress"], 0);
        assert_eq!(job["metadata"], json!({"filename": "suppliers.csv"}));
        assert_eq!(job["retry_count"], 0);
        assert_eq!(job["max_retries"], 3);
        assert!(job["started_at"].is_null() && job["completed_at"].is_null());
        assert_eq!(job["created_at"], app.clock_now().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
    }

    async fn create_job_answers_on_the_specs_trailing_slash_too(app) {
        let user = app.new_user("u@example.com").await;
        let res = app.post("/api/v2/jobs/", &user, json!({"job_type": "export"})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        assert_eq!(res.body["metadata"], json!({}));
    }

    async fn get_job_returns_own_job(app) {
        let user = app.new_user("u@example.com").await;
        let job = app.create_job(&user, "validation").await;
        let res = app.get(&format!("/api/v2/jobs/{}", job["id"].as_str().unwrap()), &user).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(res.body, job);
    }

    async fn another_users_job_is_not_found_on_every_route(app) {
        let owner = app.new_user("owner@example.com").await;
        let other = app.new_user("other@example.com").await;
        let job = app.create_job(&owner, "import").await;
        let id = job["id"].as_str().unwrap();

        let res = app.get(&format!("/api/v2/jobs/{id}"), &other).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let missing = app.get(&format!("/api/v2/jobs/{}", uuid::Uuid::new_v4()), &other).await;
        assert_eq!(res.body, missing.body, "someone else's job looks exactly like no job");

        for (action, body) in [("start", json!({})), ("progress", json!({"progress": 5})), ("complete", json!({})),
                               ("fail", json!({"error_message": "x"})), ("cancel", json!({})), ("retry", json!({}))] {
            let res = app.act(&other, &job["id"], action, body).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{action}: {}", res.body);
        }
        let unchanged = app.get(&format!("/api/v2/jobs/{id}"), &owner).await;
        assert_eq!(unchanged.body, job, "nothing changed");
    }

    async fn admins_see_and_act_on_every_job(app) {
        let owner = app.new_user("owner@example.com").await;
        let admin = app.new_admin("root@example.com").await;
        let job = app.create_job(&owner, "import").await;
        let res = app.get(&format!("/api/v2/jobs/{}", job["id"].as_str().unwrap()), &admin).await;
        assert_eq!(res.status, StatusCode::OK);
        let res = app.act(&admin, &job["id"], "cancel", json!({})).await;
        assert_eq!(res.body["status"], "cancelled");
    }

    async fn unknown_job_is_404_and_malformed_id_is_400(app) {
        let user = app.new_user("u@example.com").await;
        let res = app.get(&format!("/api/v2/jobs/{}", uuid::Uuid::new_v4()), &user).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert_eq!(res.body["error"]["code"], "not_found");
        for bad in ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"] {
            let res = app.get(&format!("/api/v2/jobs/{bad}"), &user).await;
            assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(res.body["error"]["code"], "invalid_path");
        }
    }

    async fn unknown_job_type_lists_the_allowed_ones(app) {
        let user = app.new_user("u@example.com").await;
        let res = app.post("/api/v2/jobs", &user, json!({"job_type": "upload"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.body["error"]["code"], "invalid_body");
        let message = res.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("import, export, validation, processing"), "{message}");
    }

    async fn create_job_rejects_bad_fields(app) {
        let user = app.new_user("u@example.com").await;
        for body in [json!({}), json!({"job_type": "import", "metadata": [1, 2]}),
                     json!({"job_type": "import", "metdata": {}}), json!({"job_type": 7}),
                     json!({"job_type": "import", "related_dataset_id": "nope"})] {
            let res = app.post("/api/v2/jobs", &user, body.clone()).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", res.body);
        }
        assert!(app.active_ids(&user).await.is_empty(), "nothing was created");
    }

    async fn related_dataset_must_be_the_callers(app) {
        let user = app.new_user("u@example.com").await;
        let other = app.new_user("o@example.com").await;
        let mine = uuid::Uuid::new_v4();
        let theirs = uuid::Uuid::new_v4();
        app.sql(&format!("insert into datasets (id, name, created_by) values ('{mine}', 'mine', '{}'), \
                          ('{theirs}', 'theirs', '{}')", user.id, other.id)).await.unwrap();
        let res = app.post("/api/v2/jobs", &user, json!({"job_type": "export", "related_dataset_id": mine})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        assert_eq!(res.body["related_dataset_id"], mine.to_string());
        for id in [theirs, uuid::Uuid::new_v4()] {
            let res = app.post("/api/v2/jobs", &user, json!({"job_type": "export", "related_dataset_id": id})).await;
            // 404, as wherever another user's rows are named: never a hint that they exist.
            assert_eq!((res.status, res.body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{}", res.body);
        }
    }

    async fn deleting_a_dataset_or_user_keeps_the_job(app) {
        let user = app.new_user("u@example.com").await;
        let dataset = uuid::Uuid::new_v4();
        app.sql(&format!("insert into datasets (id, name, created_by) values ('{dataset}', 'd', '{}')", user.id))
            .await.unwrap();
        let job = app.post("/api/v2/jobs", &user, json!({"job_type": "export", "related_dataset_id": dataset})).await.body;
        app.sql(&format!("delete from datasets where id = '{dataset}'")).await.unwrap();
        app.sql(&format!("delete from users where id = '{}'", user.id)).await.unwrap();
        let kept = app.state.jobs.apply(job["id"].as_str().unwrap().parse().unwrap(),
            jobwatch::jobs::Action::Start).await.unwrap();
        assert_eq!(kept.related_dataset_id, None);
        assert_eq!(kept.created_by, None);
    }

    // Other tools write this table with plain SQL; their rows must be valid and served.
    async fn rows_written_with_plain_sql_are_served(app) {
        let user = app.new_user("u@example.com").await;
        app.sql(&format!(
            "insert into background_jobs (job_type, status, created_by) values ('export', 'pending', '{}')", user.id
        )).await.unwrap();
        app.sql(&format!(
            "insert into background_jobs (job_type, status, created_by, progress, created_at, started_at, \
             completed_at, error_message) values ('import', 'failed', '{}', 35, '{}', '{}', '{}', 'line 7: bad date')",
            user.id, app.ago(Duration::minutes(3)), app.ago(Duration::minutes(2)), app.ago(Duration::minutes(1))
        )).await.unwrap();
        let res = app.get("/api/v2/jobs/active", &user).await;
        let jobs = res.body.as_array().unwrap();
        assert_eq!(jobs.len(), 2, "{}", res.body);
        let pending = jobs.iter().find(|j| j["status"] == "pending").unwrap();
        assert_eq!(pending["type"], "export");
        assert_eq!(pending["progress"], 0);
        assert_eq!(pending["metadata"], json!({}));
        assert_eq!(pending["retry_count"], 0);
        assert_eq!(pending["max_retries"], 3);
        uuid::Uuid::parse_str(pending["id"].as_str().unwrap()).expect("the database generated a uuid");
        let failed = jobs.iter().find(|j| j["status"] == "failed").unwrap();
        assert_eq!(failed["error_message"], "line 7: bad date");
        assert_eq!(failed["progress"], 35);

        let one = app.get(&format!("/api/v2/jobs/{}", pending["id"].as_str().unwrap()), &user).await;
        assert_eq!(one.status, StatusCode::OK);
        // And the plain-SQL job goes through the state machine like any other.
        let started = app.act(&user, &pending["id"], "start", json!({})).await;
        assert_eq!(started.body["status"], "running");
    }

    async fn plain_sql_timestamps_in_other_formats_are_understood(app) {
        let user = app.new_user("u@example.com").await;
        // Completed 1 minute ago, written with an offset: still in the 5-minute window.
        let t = (app.clock_now() - Duration::minutes(1)).with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap());
        app.sql(&format!(
            "insert into background_jobs (job_type, status, created_by, completed_at) values ('import', 'completed', '{}', '{}')",
            user.id, t.format("%Y-%m-%d %H:%M:%S%:z")
        )).await.unwrap();
        let res = app.get("/api/v2/jobs/active", &user).await;
        assert_eq!(res.body.as_array().unwrap().len(), 1, "{}", res.body);
        let completed_at: chrono::DateTime<chrono::Utc> = res.body[0]["completed_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(completed_at.timestamp(), t.timestamp());
    }

    async fn create_job_takes_queue_options(app) {
        let user = app.new_user("u@example.com").await;
        let later = app.clock_now() + Duration::hours(2);
        let res = app.post("/api/v2/jobs", &user, json!({"job_type": "export", "priority": 5, "max_retries": 0,
                                                         "run_at": later})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        assert_eq!(res.body["priority"], 5);
        assert_eq!(res.body["max_retries"], 0);
        assert_eq!(res.body["attempt"], 0);
        let run_at: chrono::DateTime<chrono::Utc> = res.body["run_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(run_at, later);

        let past = app.clock_now() - Duration::days(1);
        let res = app.post("/api/v2/jobs", &user, json!({"job_type": "export", "run_at": past})).await;
        let run_at: chrono::DateTime<chrono::Utc> = res.body["run_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(run_at, app.clock_now(), "a past run_at means now, not a jump ahead of the queue");

        for body in [json!({"job_type": "export", "priority": 101}), json!({"job_type": "export", "max_retries": -1}),
                     json!({"job_type": "export", "max_retries": 1000}), json!({"job_type": "export", "run_at": "soon"})] {
            let res = app.post("/api/v2/jobs", &user, body.clone()).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", res.body);
        }
    }

    async fn create_requires_auth(app) {
        let res = app.request(Method::POST, "/api/v2/jobs", None, Some(json!({"job_type": "import"}))).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
}
