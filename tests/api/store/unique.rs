//! Unique indexes: a violation names the index the migrations created, the same on both
//! backends (SQLite's message is read for it), so a service can tell the conflict it expects
//! from any other.

use crate::helpers::{TestApp, contract_tests};
use jobwatch::imports::Supplier;
use jobwatch::imports::model::NewDataset;
use jobwatch::imports::parse::FileFormat;
use jobwatch::jobs::JobType;
use jobwatch::schedules::NewSchedule;
use jobwatch::storage::{StoreError, StoreResult, unique};
use jobwatch::users::NewUser;
use uuid::Uuid;

#[track_caller]
fn assert_violates<T: std::fmt::Debug>(result: StoreResult<T>, index: &str) {
    match result {
        Err(StoreError::Unique(name)) => assert_eq!(name, index),
        other => panic!("expected a violation of {index}, got {other:?}"),
    }
}

fn user(app: &TestApp, email: &str, is_admin: bool) -> NewUser {
    NewUser { email: email.into(), password_hash: "not a hash".into(), is_admin, created_at: app.clock_now() }
}

fn dataset(app: &TestApp, supplier: Uuid, import_job: Uuid) -> NewDataset {
    NewDataset {
        id: Uuid::now_v7(),
        supplier_id: supplier,
        original_filename: "prices.csv".into(),
        format: FileFormat::Csv,
        size_bytes: 4,
        sha256: "ab".repeat(32),
        row_count: 1,
        columns: Vec::new(),
        preview: Vec::new(),
        read_as: Default::default(),
        warnings: Vec::new(),
        rows_key: format!("rows/{import_job}.csv"),
        import_job_id: import_job,
        created_by: None,
        created_at: app.clock_now(),
    }
}

contract_tests! {
    async fn unique_violations_name_their_index(app) {
        let ann = app.store.insert_user(&user(app, "Ann@example.com", false)).await.unwrap();
        assert_violates(app.store.insert_user(&user(app, "ann@EXAMPLE.com", false)).await, unique::USER_EMAIL);

        let acme = Supplier { id: Uuid::now_v7(), name: "Acme".into(), created_by: Some(ann.id), created_at: app.clock_now() };
        app.store.insert_supplier(&acme).await.unwrap();
        let twin = Supplier { id: Uuid::now_v7(), name: "ACME".into(), ..acme.clone() };
        assert_violates(app.store.insert_supplier(&twin).await, unique::SUPPLIER_NAME);

        let nightly = NewSchedule {
            name: "nightly".into(), cron: "@daily".into(), timezone: "UTC".into(), job_type: JobType::Validation,
            metadata: serde_json::json!({}), priority: 0, max_retries: 3, created_by: Some(ann.id),
            next_run_at: app.clock_now(), created_at: app.clock_now(),
        };
        app.store.insert_schedule(&nightly).await.unwrap();
        assert_violates(app.store.insert_schedule(&nightly).await, unique::SCHEDULE_NAME);

        let first = crate::store::insert(app, crate::store::new_job(app, 0, app.clock_now())).await;
        let second = crate::store::insert(app, crate::store::new_job(app, 0, app.clock_now())).await;
        app.store.insert_dataset(&dataset(app, acme.id, first.id)).await.unwrap();
        assert_violates(app.store.insert_dataset(&dataset(app, acme.id, second.id)).await, unique::DATASET_SHA256);

        // An index no service expects is named for itself (PostgreSQL) or by its column
        // (SQLite), never as one of the indexes above.
        app.sql("create unique index users_admin_flag_key on users (is_admin)").await.unwrap();
        match app.store.insert_user(&user(app, "bob@example.com", false)).await {
            Err(StoreError::Unique(name)) => assert!(["users_admin_flag_key", "users.is_admin"].contains(&name.as_str()), "{name}"),
            other => panic!("expected a unique violation, got {other:?}"),
        }
    }
}
