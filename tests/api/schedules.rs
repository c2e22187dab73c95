//! Cron schedules: the admin API, and one job per tick however many nodes run.

use crate::helpers::{contract_tests, fast_worker_settings};
use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::json;

contract_tests! {
    async fn admins_manage_schedules(app) {
        let admin = app.new_admin("root@example.com").await;
        let user = app.new_user("u@example.com").await;
        let body = json!({"name": "nightly-export", "cron": "0 2 * * *", "timezone": "Europe/Paris",
                          "job_type": "export", "metadata": {"format": "csv"}});
        assert_eq!(app.post("/api/v2/schedules", &user, body.clone()).await.status, StatusCode::FORBIDDEN);

        let res = app.post("/api/v2/schedules", &admin, body.clone()).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let next: chrono::DateTime<chrono::Utc> = res.body["next_run_at"].as_str().unwrap().parse().unwrap();
        assert!(next > app.clock_now() && next <= app.clock_now() + Duration::days(1));
        assert_eq!(res.body["created_by"], admin.id.to_string());

        assert_eq!(app.post("/api/v2/schedules", &admin, body).await.status, StatusCode::CONFLICT);
        let list = app.get("/api/v2/schedules", &admin).await.body;
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(app.get("/api/v2/schedules", &user).await.status, StatusCode::FORBIDDEN);

        let path = format!("/api/v2/schedules/{}", res.body["id"].as_str().unwrap());
        let del = app.request(Method::DELETE, &path, Some(&admin.token), None).await;
        assert_eq!(del.status, StatusCode::NO_CONTENT);
        let again = app.request(Method::DELETE, &path, Some(&admin.token), None).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
    }

    async fn bad_schedules_are_refused_with_a_reason(app) {
        let admin = app.new_admin("root@example.com").await;
        for (body, needle) in [
            (json!({"name": "a", "cron": "61 * * * *", "job_type": "export"}), "cron"),
            (json!({"name": "a", "cron": "* * * * *", "timezone": "Mars/Base", "job_type": "export"}), "time zone"),
            (json!({"name": "", "cron": "* * * * *", "job_type": "export"}), "name"),
            (json!({"name": "a", "cron": "* * * * *", "job_type": "upload"}), "expected one of"),
            (json!({"name": "a", "cron": "* * * * *", "job_type": "export", "metadata": 3}), "metadata"),
        ] {
            let res = app.post("/api/v2/schedules", &admin, body.clone()).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert!(res.body["error"]["message"].as_str().unwrap().contains(needle), "{}", res.body);
        }
    }

    // Two nodes' schedulers race for every tick; the compare-and-set lets one win.
    async fn two_nodes_create_one_job_per_tick(app) {
        let admin = app.new_admin("root@example.com").await;
        let (a, b) = (app.worker(fast_worker_settings()), app.worker(fast_worker_settings()));
        let res = app.post("/api/v2/schedules", &admin, json!({"name": "every-second", "cron": "* * * * * *",
            "job_type": "processing", "metadata": {"steps": 1, "step_ms": 0}})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        // Both nodes step at once; returns how many jobs their schedulers made between them.
        let race = async || {
            let (x, y) = tokio::join!(a.step(), b.step());
            x.unwrap().scheduled + y.unwrap().scheduled
        };

        assert_eq!(race().await, 0, "the first tick is not due yet");
        for tick in 1..=5 {
            app.clock.advance(Duration::seconds(1));
            assert_eq!(race().await, 1, "tick {tick} fired");
            assert_eq!(race().await, 0, "tick {tick} fired once");
            assert_eq!(app.active_ids(&admin).await.len(), tick, "after tick {tick}");
        }
        // Ten ticks missed while nobody looked: one job, not ten.
        app.clock.advance(Duration::seconds(10));
        assert_eq!(race().await, 1);
        assert_eq!(race().await, 0);
        assert_eq!(app.active_ids(&admin).await.len(), 6);
        let schedule = &app.get("/api/v2/schedules", &admin).await.body[0];
        let next: chrono::DateTime<chrono::Utc> = schedule["next_run_at"].as_str().unwrap().parse().unwrap();
        assert!(next > app.clock_now());
    }

    // A cron written by hand, past the API's checks, must not stay due and crowd out the rest.
    async fn an_unreadable_schedule_is_postponed_and_the_others_still_fire(app) {
        let admin = app.new_admin("root@example.com").await;
        for name in ["good", "broken"] {
            let res = app.post("/api/v2/schedules", &admin, json!({"name": name, "cron": "* * * * * *",
                "job_type": "processing"})).await;
            assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        }
        app.sql("update job_schedules set cron = 'not a cron' where name = 'broken'").await.unwrap();
        app.clock.advance(Duration::seconds(1));
        assert_eq!(app.state.schedules.fire_due().await.unwrap(), 1, "the good one fired");

        let list = app.get("/api/v2/schedules", &admin).await.body;
        let broken = list.as_array().unwrap().iter().find(|s| s["name"] == "broken").unwrap();
        let next: chrono::DateTime<chrono::Utc> = broken["next_run_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(next, app.clock_now() + Duration::hours(1), "read again in an hour");
        assert_eq!(app.state.schedules.fire_due().await.unwrap(), 0, "nothing due any more");
    }

    async fn deleting_a_schedule_keeps_its_jobs(app) {
        let admin = app.new_admin("root@example.com").await;
        let res = app.post("/api/v2/schedules", &admin, json!({"name": "tick", "cron": "* * * * * *",
            "job_type": "processing"})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        app.clock.advance(Duration::seconds(1));
        assert_eq!(app.state.schedules.fire_due().await.unwrap(), 1);
        assert_eq!(app.count_jobs("schedule_id is not null").await, 1);

        let path = format!("/api/v2/schedules/{}", res.body["id"].as_str().unwrap());
        assert_eq!(app.request(Method::DELETE, &path, Some(&admin.token), None).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.count_jobs("schedule_id is null").await, 1, "the job stays, no longer tied to the schedule");
    }
}
