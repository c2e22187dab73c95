//! The schema itself: reversible migrations and the constraints other writers hit.

use crate::helpers::contract_tests;

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
}
