//! Exports: a dataset back out as CSV (identical rows), JSON Lines and XLSX, to its owner only.

use crate::helpers::{TestApp, TestUser, contract_tests};
use crate::imports::PRICES_CSV;
use axum::http::StatusCode;
use serde_json::{Value, json};

async fn imported(app: &TestApp, user: &TestUser) -> String {
    let supplier = app.new_supplier(user, "Acme").await;
    let job = app.import(user, &supplier, "prices.csv", PRICES_CSV.as_bytes()).await;
    assert_eq!(job["status"], "completed", "{job}");
    job["related_dataset_id"].as_str().unwrap().to_owned()
}

async fn export(app: &TestApp, user: &TestUser, dataset: &str, format: &str) -> Value {
    let res = app.post("/api/v2/exports", user, json!({"dataset_id": dataset, "format": format})).await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    assert_eq!(res.body["type"], "export");
    assert_eq!(res.body["related_dataset_id"].as_str(), Some(dataset));
    app.wait_for(&res.body["id"], "the export", |j| j["status"] != "pending" && j["status"] != "running").await
}

fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes);
    reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
}

contract_tests! {
    async fn an_exported_csv_holds_the_imported_rows(app) {
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let dataset = imported(&node, &user).await;
        let job = export(&node, &user, &dataset, "csv").await;
        assert_eq!((job["status"].as_str(), job["progress"].as_i64()), (Some("completed"), Some(100)), "{job}");
        let file = node.download(&user, &format!("/api/v2/exports/{}/download", job["id"].as_str().unwrap())).await;
        assert_eq!(file.status, StatusCode::OK);
        assert_eq!(file.headers["content-type"], "text/csv; charset=utf-8");
        assert_eq!(file.headers["content-disposition"], "attachment; filename=\"prices.csv\"");
        assert_eq!(csv_rows(&file.bytes), csv_rows(PRICES_CSV.as_bytes()));
        worker.stop().await;
    }

    async fn json_lines_and_xlsx_exports_carry_typed_values(app) {
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let dataset = imported(&node, &user).await;

        let job = export(&node, &user, &dataset, "jsonl").await;
        let file = node.download(&user, &format!("/api/v2/exports/{}/download", job["id"].as_str().unwrap())).await;
        let lines: Vec<Value> =
            String::from_utf8(file.bytes.clone()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], json!({"id": 1, "name": "Widget", "price": 9.99, "active": true, "since": "2026-01-31"}));
        let first = String::from_utf8(file.bytes).unwrap().lines().next().unwrap().to_owned();
        assert_eq!(first, r#"{"id":1,"name":"Widget","price":9.99,"active":true,"since":"2026-01-31"}"#, "the columns' order");
        assert_eq!(lines[2]["price"], Value::Null);
        assert_eq!(lines[2]["active"], true, "yes is true");

        let job = export(&node, &user, &dataset, "xlsx").await;
        let file = node.download(&user, &format!("/api/v2/exports/{}/download", job["id"].as_str().unwrap())).await;
        assert_eq!(file.headers["content-disposition"], "attachment; filename=\"prices.xlsx\"");
        use calamine::Reader;
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(file.bytes)).expect("a readable XLSX");
        let range = book.worksheet_range_at(0).unwrap().unwrap();
        assert_eq!(range.get_size(), (4, 5));
        assert_eq!(range.get_value((0, 2)), Some(&calamine::Data::String("price".into())));
        assert_eq!(range.get_value((1, 2)), Some(&calamine::Data::Float(9.99)));
        assert_eq!(range.get_value((2, 3)), Some(&calamine::Data::Bool(false)));
        assert_eq!(range.get_value((1, 0)), Some(&calamine::Data::Float(1.0)), "integers are numbers");
        let Some(calamine::Data::DateTime(since)) = range.get_value((1, 4)) else { panic!("{:?}", range.get_value((1, 4))) };
        assert_eq!(since.to_ymd_hms_milli(), (2026, 1, 31, 0, 0, 0, 0), "a date cell");
        worker.stop().await;
    }

    async fn an_unfinished_export_answers_409_and_others_get_404(app) {
        let (node, worker) = app.with_local_worker();
        let ann = node.new_user("ann@example.com").await;
        let bob = node.new_user("bob@example.com").await;
        let dataset = imported(&node, &ann).await;
        worker.stop().await;
        // No worker now: the export stays pending.
        let res = node.post("/api/v2/exports", &ann, json!({"dataset_id": dataset, "format": "csv"})).await;
        let path = format!("/api/v2/exports/{}/download", res.body["id"].as_str().unwrap());
        let early = node.download(&ann, &path).await;
        assert_eq!(early.status, StatusCode::CONFLICT);
        assert_eq!(node.download(&bob, &path).await.status, StatusCode::NOT_FOUND);
        let theirs = node.post("/api/v2/exports", &bob, json!({"dataset_id": dataset, "format": "csv"})).await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{}", theirs.body);
        let bad = node.post("/api/v2/exports", &ann, json!({"dataset_id": dataset, "format": "pdf"})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert!(bad.body["error"]["message"].as_str().unwrap().contains("csv, xlsx, jsonl"), "{}", bad.body);
        // Not an export job: 404, not a leak of its existence or state.
        let other = node.create_job(&ann, "processing").await;
        let res = node.download(&ann, &format!("/api/v2/exports/{}/download", other["id"].as_str().unwrap())).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
    }

    async fn an_export_job_made_by_hand_cannot_read_another_users_dataset(app) {
        let (node, worker) = app.with_local_worker();
        let ann = node.new_user("ann@example.com").await;
        let bob = node.new_user("bob@example.com").await;
        let dataset = imported(&node, &ann).await;
        let res = node.post("/api/v2/jobs", &bob, json!({"job_type": "export", "metadata": {"dataset_id": dataset, "format": "csv"}})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let job = node.wait_for(&res.body["id"], "the export to end", |j| j["status"] == "failed").await;
        assert!(job["error_message"].as_str().unwrap().contains("not found"), "{job}");
        worker.stop().await;
    }

    async fn an_export_pruned_past_retention_takes_its_file_with_it(app) {
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let dataset = imported(&node, &user).await;
        let job = export(&node, &user, &dataset, "jsonl").await;
        let file = format!("exports/{}.jsonl", job["id"].as_str().unwrap());
        assert!(node.object_keys().contains(&file));
        worker.stop().await;
        // Retention is 7 days.
        node.clock.advance(chrono::Duration::days(8));
        let step = node.worker(crate::helpers::fast_worker_settings()).step().await.unwrap();
        assert_eq!(step.pruned, 2, "the import's job and the export's");
        assert_eq!(node.count_jobs("true").await, 0);
        assert!(!node.object_keys().contains(&file), "the export's file went with its job");
        // The dataset and its files stay.
        assert_eq!(node.object_keys().len(), 2, "{:?}", node.object_keys());
    }
}
