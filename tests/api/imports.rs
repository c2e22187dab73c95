//! Uploads become datasets: the spec's integration test, every format, progress, duplicates.

use crate::helpers::{TestApp, contract_tests};
use axum::http::StatusCode;
use serde_json::{Value, json};

pub const PRICES_CSV: &str = "id,name,price,active,since\n\
                              1,Widget,9.99,true,2026-01-31\n\
                              2,\"Gadget, large\",19.5,false,2025-12-01\n\
                              3,Gizmo,,yes,2024-02-29\n";

pub fn expected_columns() -> Value {
    json!([
        {"name": "id", "type": "integer"},
        {"name": "name", "type": "text"},
        {"name": "price", "type": "decimal"},
        {"name": "active", "type": "boolean"},
        {"name": "since", "type": "date"},
    ])
}

/// The prices table as an XLSX file.
pub fn prices_xlsx() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, name) in ["id", "name", "price", "active", "since"].iter().enumerate() {
        sheet.write_string(0, col as u16, *name).unwrap();
    }
    let rows: [(f64, &str, Option<f64>, bool, &str); 3] = [
        (1.0, "Widget", Some(9.99), true, "2026-01-31"),
        (2.0, "Gadget, large", Some(19.5), false, "2025-12-01"),
        (3.0, "Gizmo", None, true, "2024-02-29"),
    ];
    for (i, (id, name, price, active, since)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        sheet.write_number(r, 0, *id).unwrap();
        sheet.write_string(r, 1, *name).unwrap();
        if let Some(p) = price {
            sheet.write_number(r, 2, *p).unwrap();
        }
        sheet.write_boolean(r, 3, *active).unwrap();
        sheet.write_string(r, 4, *since).unwrap();
    }
    book.save_to_buffer().unwrap()
}

async fn dataset_of(app: &TestApp, user: &crate::helpers::TestUser, job: &Value) -> Value {
    let id = job["related_dataset_id"].as_str().unwrap_or_else(|| panic!("no dataset: {job}"));
    let res = app.get(&format!("/api/v2/imports/datasets/{id}"), user).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.body
}

contract_tests! {
    // The files README.md's first session and the docs point at (examples/data/).
    async fn the_sample_files_import_as_the_readme_says(app) {
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/");
        for name in ["prices.csv", "prices.xlsx", "prices.jsonl"] {
            let supplier = node.new_supplier(&user, name).await;
            let job = node.import(&user, &supplier, name, &std::fs::read(format!("{dir}{name}")).unwrap()).await;
            assert_eq!(job["status"], "completed", "{name}: {job}");
        }
        let datasets = node.get("/api/v2/imports/datasets", &user).await;
        for dataset in datasets.body["items"].as_array().unwrap() {
            assert_eq!(dataset["row_count"], 20, "{dataset}");
            let types: Vec<&str> = dataset["columns"].as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
            assert_eq!(types, ["text", "text", "decimal", "boolean", "date"], "{}", dataset["original_filename"]);
        }
        let supplier = node.new_supplier(&user, "broken").await;
        let broken = node.import(&user, &supplier, "broken.csv", &std::fs::read(format!("{dir}broken.csv")).unwrap()).await;
        assert_eq!(broken["status"], "failed");
        assert!(broken["error_message"].as_str().unwrap().contains("line 3"), "{broken}");
        worker.stop().await;
    }

    async fn an_upload_shows_in_active_jobs_as_a_running_or_finished_import(app) {
        // The spec's integration test, against a node that runs workers as `serve` does.
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let supplier = node.new_supplier(&user, "Acme").await;
        let res = node.upload(&user, &supplier, "prices.csv", PRICES_CSV.as_bytes()).await;
        assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
        assert_eq!(res.body["type"], "import");
        assert!(res.body["progress"].as_i64().unwrap() >= 40, "stored: {}", res.body);

        let active = node.get("/api/v2/jobs/active", &user).await;
        let jobs = active.body.as_array().unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0]["type"], "import");
        assert!(["running", "completed"].contains(&jobs[0]["status"].as_str().unwrap()), "{}", jobs[0]);

        let done = node.wait_for_status(&res.body["id"], "completed").await;
        assert_eq!(done["progress"], 100);
        let dataset = dataset_of(&node, &user, &done).await;
        assert_eq!(dataset["row_count"], 3);
        assert_eq!(dataset["columns"], expected_columns());
        assert_eq!(dataset["original_filename"], "prices.csv");
        assert_eq!(dataset["format"], "csv");
        assert_eq!(dataset["supplier_id"].as_str(), Some(supplier.as_str()));
        assert_eq!(dataset["size_bytes"], PRICES_CSV.len());
        assert_eq!(dataset["preview"][1], json!(["2", "Gadget, large", "19.5", "false", "2025-12-01"]));
        worker.stop().await;
    }

    async fn without_a_worker_on_the_node_a_stored_upload_waits_in_the_queue(app) {
        let user = app.new_user("ann@example.com").await;
        let supplier = app.new_supplier(&user, "Acme").await;
        let res = app.upload(&user, &supplier, "prices.csv", PRICES_CSV.as_bytes()).await;
        assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
        assert_eq!((res.body["status"].as_str(), res.body["progress"].as_i64()), (Some("pending"), Some(40)));
        assert!(res.body["metadata"]["sha256"].as_str().is_some_and(|s| s.len() == 64), "{}", res.body);
        let worker = app.start_worker(crate::helpers::fast_worker_settings());
        let done = app.wait_for_status(&res.body["id"], "completed").await;
        assert_eq!(dataset_of(app, &user, &done).await["row_count"], 3);
        worker.stop().await;
    }

    async fn every_format_becomes_the_same_dataset(app) {
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let semicolons = PRICES_CSV.replace(',', ";").replace("\"Gadget; large\"", "\"Gadget, large\"");
        let tabs = PRICES_CSV.replace(',', "\t").replace("\"Gadget\t large\"", "Gadget, large");
        let pipes_bom = format!("\u{feff}{}", PRICES_CSV.replace(',', "|").replace("\"Gadget| large\"", "\"Gadget, large\""));
        let jsonl = "{\"id\": 1, \"name\": \"Widget\", \"price\": 9.99, \"active\": true, \"since\": \"2026-01-31\"}\n\
                     {\"id\": 2, \"name\": \"Gadget, large\", \"price\": 19.5, \"active\": false, \"since\": \"2025-12-01\"}\n\
                     {\"id\": 3, \"name\": \"Gizmo\", \"price\": null, \"active\": \"yes\", \"since\": \"2024-02-29\"}\n";
        let array = format!("[{}]", jsonl.trim().replace('\n', ","));
        let files: Vec<(&str, Vec<u8>)> = vec![
            ("commas.csv", PRICES_CSV.as_bytes().to_vec()),
            ("semicolons.csv", semicolons.into_bytes()),
            ("tabs.tsv", tabs.into_bytes()),
            ("pipes-with-bom.csv", pipes_bom.into_bytes()),
            ("rows.jsonl", jsonl.as_bytes().to_vec()),
            ("rows.json", array.into_bytes()),
            ("sheet.xlsx", crate::imports::prices_xlsx()),
        ];
        for (i, (name, content)) in files.iter().enumerate() {
            // One supplier each: the same content twice would be a duplicate.
            let supplier = node.new_supplier(&user, &format!("supplier {i}")).await;
            let job = node.import(&user, &supplier, name, content).await;
            assert_eq!(job["status"], "completed", "{name}: {job}");
            let dataset = dataset_of(&node, &user, &job).await;
            assert_eq!(dataset["row_count"], 3, "{name}");
            let names: Vec<&str> = dataset["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
            assert_eq!(names, ["id", "name", "price", "active", "since"], "{name}");
            assert_eq!(dataset["preview"][1][1], "Gadget, large", "{name}: {}", dataset["preview"]);
        }
        worker.stop().await;
    }

    async fn progress_only_rises_and_reaches_100(app) {
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let supplier = node.new_supplier(&user, "Acme").await;
        let mut big = String::from("n,text\n");
        for i in 0..200_000 {
            big.push_str(&format!("{i},row number {i}\n"));
        }
        let res = node.upload(&user, &supplier, "big.csv", big.as_bytes()).await;
        assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
        let mut seen = vec![res.body["progress"].as_i64().unwrap()];
        loop {
            let job = node.get(&format!("/api/v2/jobs/{}", res.body["id"].as_str().unwrap()), &user).await.body;
            seen.push(job["progress"].as_i64().unwrap());
            if job["status"] != "running" {
                assert_eq!(job["status"], "completed", "{job}");
                break;
            }
            // Not a wait for time: samples progress as often as it reasonably can while the import runs.
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "progress went down: {seen:?}");
        assert_eq!(seen.last(), Some(&100));
        worker.stop().await;
    }

    async fn the_same_file_twice_fails_as_a_duplicate_naming_the_dataset(app) {
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let supplier = node.new_supplier(&user, "Acme").await;
        let first = node.import(&user, &supplier, "prices.csv", PRICES_CSV.as_bytes()).await;
        let dataset = first["related_dataset_id"].as_str().unwrap().to_owned();
        let second = node.upload(&user, &supplier, "prices-again.csv", PRICES_CSV.as_bytes()).await;
        assert_eq!(second.status, StatusCode::ACCEPTED);
        assert_eq!(second.body["status"], "failed", "{}", second.body);
        let message = second.body["error_message"].as_str().unwrap();
        assert!(message.contains("duplicate") && message.contains(&dataset), "{message}");
        let list = node.get("/api/v2/imports/datasets", &user).await;
        assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
        // Only the first upload's file is kept.
        let raws: Vec<String> = node.object_keys().into_iter().filter(|k| k.starts_with("raw/")).collect();
        assert_eq!(raws, [format!("raw/{}", first["id"].as_str().unwrap())]);
        // Another supplier may send the same file.
        let other = node.new_supplier(&user, "Other").await;
        assert_eq!(node.import(&user, &other, "prices.csv", PRICES_CSV.as_bytes()).await["status"], "completed");
        worker.stop().await;
    }

    async fn datasets_list_newest_first_a_page_at_a_time(app) {
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let supplier = node.new_supplier(&user, "Acme").await;
        let mut ids = Vec::new();
        for i in 0..3 {
            let job = node.import(&user, &supplier, &format!("f{i}.csv"), format!("n\n{i}\n").as_bytes()).await;
            ids.push(job["related_dataset_id"].as_str().unwrap().to_owned());
        }
        let page = node.get("/api/v2/imports/datasets?limit=2", &user).await.body;
        let got: Vec<&str> = page["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
        assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
        assert!(page["items"][0].get("preview").is_none(), "lists leave previews out");
        let next = page["next_before"].as_str().unwrap();
        let rest = node.get(&format!("/api/v2/imports/datasets?limit=2&before={next}"), &user).await.body;
        assert_eq!(rest["items"][0]["id"].as_str(), Some(ids[0].as_str()));
        assert_eq!(rest["next_before"], Value::Null);
        let bad = node.get("/api/v2/imports/datasets?limit=many", &user).await;
        assert_eq!((bad.status, bad.body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));
        worker.stop().await;
    }

    async fn suppliers_are_per_user_and_unique_by_name(app) {
        let ann = app.new_user("ann@example.com").await;
        let bob = app.new_user("bob@example.com").await;
        app.new_supplier(&ann, "Acme").await;
        let again = app.post("/api/v2/imports/suppliers", &ann, json!({"name": "ACME"})).await;
        assert_eq!((again.status, again.body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("name_taken")));
        app.new_supplier(&ann, "Émile").await;
        let accented = app.post("/api/v2/imports/suppliers", &ann, json!({"name": "ÉMILE"})).await;
        assert_eq!(accented.status, StatusCode::CONFLICT, "case is ignored beyond ASCII too: {}", accented.body);
        app.new_supplier(&bob, "Acme").await;
        let list = app.get("/api/v2/imports/suppliers", &ann).await;
        let names: Vec<&str> = list.body.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Acme", "Émile"]);
        for bad in [json!({"name": "  "}), json!({"name": "a\u{7}b"}), json!({"name": "x".repeat(201)})] {
            let res = app.post("/api/v2/imports/suppliers", &ann, bad).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        }
    }
}
