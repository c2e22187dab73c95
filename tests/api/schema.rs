//! The schema itself: reversible migrations and the constraints other writers hit.

use crate::helpers::contract_tests;
use axum::http::StatusCode;
use serde_json::json;

contract_tests! {
    async fn migrations_roll_back_and_reapply(app) {
        let applied = app.store.applied_migrations().await.unwrap();
        assert!(!applied.is_empty());
        let undone = app.store.migrate_down(0).await.unwrap();
        assert_eq!(undone.len(), applied.len());
        assert!(app.store.applied_migrations().await.unwrap().is_empty());
        assert!(app.sql("select 1 from background_jobs").await.is_err(), "table is gone");
        assert_eq!(app.store.migrate_up().await.unwrap(), applied);
        app.sql("select 1 from background_jobs").await.unwrap();
    }

    async fn constraints_reject_invalid_rows(app) {
        let bad = [
            "insert into background_jobs (job_type, status) values ('upload', 'pending')",
            "insert into background_jobs (job_type, status) values ('import', 'done')",
            "insert into background_jobs (job_type, status, progress) values ('import', 'running', 101)",
            "insert into background_jobs (job_type, status, progress) values ('import', 'running', -1)",
            "insert into background_jobs (job_type) values (null)",
            "insert into background_jobs (job_type, status, created_by) values ('import', 'pending', '00000000-0000-4000-8000-000000000000')",
        ];
        for sql in bad {
            assert!(app.sql(sql).await.is_err(), "accepted: {sql}");
        }
        app.sql("insert into background_jobs (job_type) values ('import')").await.expect("defaults fill the rest");
    }

    // A unique violation answers 409 only for the index its service expects; any other (here
    // one added behind the service's back) is a logged 500, never a misleading "taken".
    async fn only_the_expected_unique_index_is_a_409(app) {
        let admin = app.new_admin("root@example.com").await;
        let schedule = |name: &str| json!({"name": name, "cron": "@hourly", "job_type": "validation"});
        let cases = [
            ("/api/v2/users", json!({"email": "a@example.com", "password": "long enough password"}),
             json!({"email": "A@example.com", "password": "long enough password"}), "email_taken",
             json!({"email": "b@example.com", "password": "long enough password"}),
             "create unique index users_admin_flag_key on users (is_admin)"),
            ("/api/v2/imports/suppliers", json!({"name": "Acme"}), json!({"name": "ACME"}), "name_taken",
             json!({"name": "Other"}), "create unique index suppliers_owner_key on suppliers (created_by)"),
            ("/api/v2/schedules", schedule("nightly"), schedule("nightly"), "name_taken",
             schedule("hourly"), "create unique index job_schedules_type_key on job_schedules (job_type)"),
        ];
        for (path, first, taken, code, other, index) in cases {
            assert_eq!(app.post(path, &admin, first).await.status, StatusCode::CREATED, "{path}");
            let res = app.post(path, &admin, taken).await;
            assert_eq!((res.status, res.body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some(code)), "{path}: {}", res.body);
            app.sql(index).await.unwrap();
            let res = app.post(path, &admin, other).await;
            assert_eq!((res.status, res.body["error"]["code"].as_str()), (StatusCode::INTERNAL_SERVER_ERROR, Some("internal")), "{path}: {}", res.body);
        }
    }
}
