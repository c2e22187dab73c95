//! `GET /api/v2/admin/stats`: the queue now and the last hour's and day's finished jobs, on
//! the test's clock.

use crate::helpers::{TestApp, TestUser, contract_tests};
use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};

/// A `job_type` job taken through `actions` (`start`, `complete`, `fail`, `cancel`) now.
async fn job(app: &TestApp, user: &TestUser, job_type: &str, actions: &[&str]) -> Value {
    let job = app.create_job(user, job_type).await;
    for action in actions {
        let body = if *action == "fail" { json!({"error_message": "broken"}) } else { json!({}) };
        let res = app.act(user, &job["id"], action, body).await;
        assert_eq!(res.status, StatusCode::OK, "{action}: {}", res.body);
    }
    job
}

contract_tests! {
    async fn admin_stats_count_the_queue_and_the_last_hour_and_day(app) {
        let ann = app.new_user("ann@example.com").await;
        let admin = app.new_admin("root@example.com").await;
        // Finished 27.5 hours before the stats: in neither window.
        job(app, &ann, "validation", &["start", "complete"]).await;
        app.clock.advance(Duration::hours(25));
        // 2.5 hours before: in the day only.
        job(app, &ann, "validation", &["start", "complete"]).await;
        job(app, &ann, "validation", &["start", "fail"]).await;
        app.clock.advance(Duration::hours(2));
        // Half an hour before: in both.
        job(app, &ann, "export", &["start", "complete"]).await;
        job(app, &ann, "validation", &["start", "fail"]).await;
        job(app, &ann, "validation", &["cancel"]).await;
        app.clock.advance(Duration::minutes(30));
        let pending = job(app, &ann, "validation", &[]).await;
        job(app, &ann, "export", &["start"]).await;

        let res = app.get("/api/v2/admin/stats", &admin).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let stats = res.body;
        let now = app.clock_now();
        assert_eq!(stats["generated_at"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap(), now);
        let queue: Vec<(&str, &str, i64)> = stats["queue"].as_array().unwrap().iter()
            .map(|d| (d["job_type"].as_str().unwrap(), d["status"].as_str().unwrap(), d["count"].as_i64().unwrap()))
            .collect();
        assert_eq!(queue, [("export", "running", 1), ("validation", "pending", 1)]);
        assert_eq!(stats["queue"][1]["oldest_created_at"], pending["created_at"]);

        let day = &stats["last_day"];
        assert_eq!((&day["completed"], &day["failed"], &day["cancelled"]), (&json!(2), &json!(2), &json!(1)), "{day}");
        assert_eq!(day["failure_rate"], 0.5);
        assert_eq!(day["completed_per_hour"], 2.0 / 24.0);
        assert_eq!(day["by_type"], json!([
            {"job_type": "export", "completed": 1, "failed": 0, "cancelled": 0},
            {"job_type": "validation", "completed": 1, "failed": 2, "cancelled": 1},
        ]));
        let hour = &stats["last_hour"];
        assert_eq!((&hour["completed"], &hour["failed"], &hour["cancelled"]), (&json!(1), &json!(1), &json!(1)), "{hour}");
        assert_eq!(hour["completed_per_hour"], 1.0);
        assert_eq!(hour["failure_rate"], 0.5);
        assert_eq!(hour["since"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap(), now - Duration::hours(1));
    }

    async fn admin_stats_are_for_admins_only(app) {
        let ann = app.new_user("ann@example.com").await;
        let res = app.get("/api/v2/admin/stats", &ann).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
        let res = app.request(Method::GET, "/api/v2/admin/stats", None, None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
        // Nothing finished yet: no failure rate to speak of.
        let admin = app.new_admin("root@example.com").await;
        let stats = app.get("/api/v2/admin/stats", &admin).await.body;
        assert_eq!(stats["last_day"]["failure_rate"], Value::Null);
        assert_eq!(stats["last_day"]["by_type"], json!([]));
    }
}

/// The windows' counts as the API gives them: `(last_day, last_hour)` of (completed, failed, cancelled).
async fn windows(app: &TestApp, admin: &TestUser) -> Value {
    let stats = app.get("/api/v2/admin/stats", admin).await.body;
    let counts = |w: &Value| json!([w["completed"], w["failed"], w["cancelled"], w["by_type"]]);
    json!({"day": counts(&stats["last_day"]), "hour": counts(&stats["last_hour"])})
}

contract_tests! {
    async fn finished_jobs_folded_into_minutes_are_counted_exactly_once(app) {
        let ann = app.new_user("ann@example.com").await;
        let admin = app.new_admin("root@example.com").await;
        // Half a minute past a whole minute, so the hour's window starts inside a minute.
        let seconds = app.clock_now().timestamp() % 60;
        app.clock.advance(Duration::seconds(90 - seconds));
        let a = job(app, &ann, "validation", &["start", "complete"]).await;
        app.clock.advance(Duration::minutes(20) + Duration::seconds(15));
        // 5 s before the hour's window starts, and 5 s into it: the same minute.
        job(app, &ann, "export", &["start", "fail"]).await;
        app.clock.advance(Duration::seconds(10));
        job(app, &ann, "export", &["start", "complete"]).await;
        app.clock.advance(Duration::minutes(40) - Duration::seconds(25));
        let b = job(app, &ann, "validation", &["start", "fail"]).await;
        app.clock.advance(Duration::minutes(10));
        let c = job(app, &ann, "validation", &["cancel"]).await;
        app.clock.advance(Duration::minutes(10));
        // Not folded yet (the fold waits ROLLUP_LAG): from the index.
        job(app, &ann, "validation", &["start", "complete"]).await;
        app.clock.advance(Duration::seconds(20));

        let before = windows(app, &admin).await;
        assert_eq!(before["day"], json!([3, 2, 1, [
            {"job_type": "export", "completed": 1, "failed": 1, "cancelled": 0},
            {"job_type": "validation", "completed": 2, "failed": 1, "cancelled": 1}]]), "{before}");
        assert_eq!((&before["hour"][0], &before["hour"][1], &before["hour"][2]), (&json!(2), &json!(1), &json!(1)), "{before}");
        // The worker's pass folds every minute up to five minutes ago.
        app.worker(crate::helpers::fast_worker_settings()).step().await.unwrap();
        assert_eq!(windows(app, &admin).await, before, "folded minutes count as the jobs did");
        // Folded jobs are read from their minutes now, not the index: gone from the table
        // (as pruning would take them), they still count.
        for job in [&a, &b, &c] {
            app.sql(&format!("delete from background_jobs where id = '{}'", job["id"].as_str().unwrap())).await.unwrap();
        }
        assert_eq!(windows(app, &admin).await, before, "read from the minutes");
        // A second pass has nothing new to fold and counts nothing twice.
        app.worker(crate::helpers::fast_worker_settings()).step().await.unwrap();
        assert_eq!(windows(app, &admin).await, before);

        // The worker's pass folds on its own (the overview folds only when the fold is
        // 10 min behind): a job finished since, folded by a step, then deleted, still counts.
        let d = job(app, &ann, "processing", &["start", "complete"]).await;
        app.clock.advance(Duration::minutes(6));
        app.worker(crate::helpers::fast_worker_settings()).step().await.unwrap();
        app.sql(&format!("delete from background_jobs where id = '{}'", d["id"].as_str().unwrap())).await.unwrap();
        let after = app.get("/api/v2/admin/stats", &admin).await.body;
        let processing = json!({"job_type": "processing", "completed": 1, "failed": 0, "cancelled": 0});
        assert!(after["last_day"]["by_type"].as_array().unwrap().contains(&processing), "{after}");
    }
}
