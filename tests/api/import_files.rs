//! Files as users really send them (tests/fixtures/imports/): saved by Excel in a legacy encoding or
//! as UTF-16, a workbook whose first sheet is a cover, JSON Lines named .json, rows shorter or longer
//! than the header, a column-aligned report; and the upload fields that say how to read them.

use crate::helpers::{TestApp, TestUser, contract_tests};
use crate::import_helpers::{file_part, text_part};
use axum::http::StatusCode;
use serde_json::{Value, json};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/imports/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Imports a fixture with `fields` and returns (the finished job, its dataset when it completed).
async fn import(node: &TestApp, user: &TestUser, name: &str, fields: &[(&str, &str)]) -> (Value, Value) {
    let supplier = node.new_supplier(user, &format!("{name} {fields:?}")).await;
    let job = node.import_with(user, &supplier, name, &fixture(name), fields).await;
    let dataset = match job["related_dataset_id"].as_str() {
        Some(id) => node.get(&format!("/api/v2/imports/datasets/{id}"), user).await.body,
        None => Value::Null,
    };
    (job, dataset)
}

fn error_of(job: &Value) -> &str {
    assert_eq!(job["status"], "failed", "{job}");
    job["error_message"].as_str().unwrap()
}

contract_tests! {
    async fn legacy_and_utf16_text_is_decoded(app) {
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;

        // Excel's "CSV (semicolon)" on a German Windows: Windows-1252, CRLF.
        let name = "excel-semicolon-windows-1252.csv";
        let (job, _) = import(&node, &user, name, &[]).await;
        let error = error_of(&job);
        assert!(error.starts_with("line 2, column \"Bezeichnung\": not valid UTF-8"), "{error}");
        assert!(error.contains("encoding=windows-1252"), "{error}");
        let (job, dataset) = import(&node, &user, name, &[("encoding", "windows-1252")]).await;
        assert_eq!(job["status"], "completed", "{job}");
        assert_eq!(dataset["preview"][0], json!(["A-100", "Kühlschrank „Eco“", "499,00 €", "Müller GmbH", "2024-03-01"]));
        assert_eq!(dataset["read_as"], json!({"format": "csv", "delimiter": ";", "encoding": "windows-1252"}));

        // Excel's "Unicode Text": UTF-16 LE with a byte order mark, tabs, saved as .txt.
        let (job, dataset) = import(&node, &user, "excel-unicode-text-utf16le.txt", &[]).await;
        assert_eq!(job["status"], "completed", "{job}");
        assert_eq!(dataset["preview"], json!([["Z-1", "Crème brûlée", "4.50"], ["Z-2", "日本茶", "12.00"]]));
        assert_eq!(dataset["read_as"]["encoding"], "utf-16le");
        assert_eq!(dataset["read_as"]["delimiter"], "tab");
        let (_, dataset) = import(&node, &user, "utf16be-bom.csv", &[]).await;
        assert_eq!(dataset["preview"], json!([["Z-1", "Ölfilter"]]));
        worker.stop().await;
    }

    async fn a_workbook_is_read_from_its_first_sheet_holding_values_or_the_one_named(app) {
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let name = "first-sheet-empty.xlsx";
        let (job, dataset) = import(&node, &user, name, &[]).await;
        assert_eq!(job["status"], "completed", "{job}");
        assert_eq!(dataset["read_as"], json!({"format": "xlsx", "sheet": "Prices"}));
        assert_eq!(dataset["preview"][0], json!(["A-1", "2.5", "2024-03-01"]));
        let (_, dataset) = import(&node, &user, name, &[("sheet", "3")]).await;
        assert_eq!(dataset["columns"], json!([{"name": "prices include VAT", "type": "text"}]));
        assert_eq!(dataset["read_as"]["sheet"], "Notes");
        let (job, _) = import(&node, &user, name, &[("sheet", "Stock")]).await;
        assert_eq!(
            error_of(&job),
            "no sheet \"Stock\" in this file: its sheets are \"Cover\", \"Prices\", \"Notes\" (name one, or give its position, 1 to 3)"
        );
        worker.stop().await;
    }

    async fn a_json_file_holding_json_lines_becomes_a_jsonl_dataset(app) {
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let (job, dataset) = import(&node, &user, "json-lines-named.json", &[]).await;
        assert_eq!(job["status"], "completed", "{job}");
        assert_eq!(dataset["format"], "jsonl");
        assert_eq!(dataset["row_count"], 3);
        let types: Vec<&str> = dataset["columns"].as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["text", "decimal", "boolean"]);
        worker.stop().await;
    }

    async fn short_rows_are_padded_with_a_warning_and_extra_data_needs_ragged_trim(app) {
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let (job, dataset) = import(&node, &user, "short-rows.csv", &[]).await;
        assert_eq!(job["status"], "completed", "{job}");
        assert_eq!(dataset["row_count"], 4);
        assert_eq!(dataset["preview"][2], json!(["A-3", "washer", "", ""]));
        assert_eq!(
            dataset["warnings"],
            json!([{"kind": "padded", "rows": 2, "first_line": 3,
                    "message": "2 rows shorter than the header, padded with empty values (the first on line 3)"}])
        );
        let listed = node.get("/api/v2/imports/datasets", &user).await;
        assert_eq!(listed.body["items"][0]["warnings"][0]["rows"], 2, "lists show warnings too");

        let (job, _) = import(&node, &user, "short-rows.csv", &[("ragged", "strict")]).await;
        assert!(error_of(&job).starts_with("line 3: 3 fields, the header has 4"), "{job}");
        let (job, _) = import(&node, &user, "note-past-last-column.csv", &[]).await;
        assert!(
            error_of(&job).starts_with("line 3: 4 fields, the header has 3, and field 4 holds \"discontinued — ask Bob\""),
            "{job}"
        );
        let (job, dataset) = import(&node, &user, "note-past-last-column.csv", &[("ragged", "trim")]).await;
        assert_eq!(job["status"], "completed", "{job}");
        assert_eq!(dataset["preview"][1], json!(["A-2", "nut", "0.05"]));
        assert_eq!(dataset["warnings"][0]["kind"], "trimmed");
        worker.stop().await;
    }

    async fn a_column_aligned_file_is_never_one_silent_column(app) {
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let (job, _) = import(&node, &user, "space-aligned.txt", &[]).await;
        assert!(error_of(&job).contains("send delimiter=whitespace"), "{job}");
        let (job, dataset) = import(&node, &user, "space-aligned.txt", &[("delimiter", "whitespace")]).await;
        assert_eq!(job["status"], "completed", "{job}");
        assert_eq!(dataset["preview"][1], json!(["A-22", "hex-nut", "0.05"]));
        assert_eq!(dataset["read_as"]["delimiter"], "whitespace");
        worker.stop().await;
    }

    async fn reading_fields_are_checked_before_anything_is_stored(app) {
        let user = app.new_user("ann@example.com").await;
        let supplier = app.new_supplier(&user, "Acme").await;
        let cases: [(&str, &str, &str, &str); 7] = [
            ("prices.xlsx", "sheet", "a\u{0}b", "sheet must name a sheet"),
            ("prices.csv", "delimiter", "ab", "delimiter must be one character"),
            ("prices.csv", "encoding", "klingon", "unknown encoding \"klingon\""),
            ("prices.csv", "ragged", "loose", "unknown ragged 'loose'; expected one of: pad, trim, strict"),
            ("prices.csv", "sheet", "Prices", "sheet applies to XLSX files only, and this is a csv file"),
            ("prices.xlsx", "encoding", "latin1", "encoding applies to text files only"),
            ("prices.jsonl", "delimiter", ";", "delimiter applies to CSV and TSV files only"),
        ];
        for (file, field, value, message) in cases {
            let parts = [text_part("supplier_id", &supplier), text_part(field, value), file_part(file, "a\n1\n")];
            let res = app.upload_parts(&user, "", &parts).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}={value}: {}", res.body);
            assert_eq!(res.body["error"]["code"], "invalid_field");
            let got = res.body["error"]["message"].as_str().unwrap();
            assert!(got.starts_with(message), "{field}={value}: {got}");
        }
        // The query string works as the form does.
        let res = app.upload_parts(&user, "?ragged=sideways", &[text_part("supplier_id", &supplier), file_part("a.csv", "a\n")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        assert_eq!(app.count_jobs("true").await, 0, "no job was made");
        assert!(app.object_keys().is_empty(), "nothing stored: {:?}", app.object_keys());
    }
}
