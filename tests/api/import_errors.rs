//! Bad uploads: a clear error or a failed job that says what is wrong — and nothing half-made
//! left behind (no dataset, no stored object).

use crate::helpers::{TestApp, TestUser, contract_tests, test_settings};
use crate::import_helpers::{file_part, multipart_body, multipart_content_type, text_part};
use crate::imports::PRICES_CSV;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use jobwatch::imports::ImportSettings;
use jobwatch::startup::AppSettings;
use serde_json::Value;

/// A zip whose one entry unpacks 10,000 times larger than it is stored.
fn zip_bomb() -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    let zeros = vec![b'0'; 1 << 20];
    for _ in 0..32 {
        zip.write_all(&zeros).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

async fn assert_nothing_left(app: &TestApp, user: &TestUser) {
    let datasets = app.get("/api/v2/imports/datasets", user).await;
    assert_eq!(datasets.body["items"], Value::Array(vec![]), "no dataset");
    assert_eq!(app.object_keys(), Vec::<String>::new(), "no stored object");
}

/// Upload `content` as `name`; the import must fail with a message containing each of `says`.
async fn fails_with(app: &TestApp, user: &TestUser, supplier: &str, name: &str, content: &[u8], says: &[&str]) {
    let job = app.import(user, supplier, name, content).await;
    assert_eq!(job["status"], "failed", "{name}: {job}");
    let message = job["error_message"].as_str().unwrap();
    for part in says {
        assert!(message.contains(part), "{name}: {message:?} should mention {part:?}");
    }
}

contract_tests! {
    async fn bad_files_fail_their_job_with_a_message_a_person_can_act_on(app) {
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let supplier = node.new_supplier(&user, "Acme").await;
        fails_with(&node, &user, &supplier, "empty.csv", b"", &["empty"]).await;
        fails_with(&node, &user, &supplier, "blank.csv", b"  \n\n", &["empty"]).await;
        fails_with(&node, &user, &supplier, "ragged.csv", b"a,b\n1,2\n4,5,6\n", &["line 3", "3 fields", "the header has 2"]).await;
        fails_with(&node, &user, &supplier, "latin1.csv", b"name,city\nJos\xe9,Paris\n", &["line 2", "UTF-8"]).await;
        fails_with(&node, &user, &supplier, "broken.jsonl", b"{\"a\": 1}\n{\"a\": 2,,}\n", &["line 2"]).await;
        fails_with(&node, &user, &supplier, "broken.json", b"[{\"a\": 1}, {\"a\" 2}]", &["line 1", "column"]).await;
        fails_with(&node, &user, &supplier, "not-objects.jsonl", b"[1, 2]\n", &["line 1", "object"]).await;
        fails_with(&node, &user, &supplier, "garbage.xlsx", b"this is not a spreadsheet", &["XLSX"]).await;
        fails_with(&node, &user, &supplier, "bomb.xlsx", &zip_bomb(), &["zip bomb"]).await;
        assert_nothing_left(&node, &user).await;
        worker.stop().await;
    }

    async fn a_rejected_file_cannot_be_retried_and_says_to_upload_it_again(app) {
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let supplier = node.new_supplier(&user, "Acme").await;
        let job = node.import(&user, &supplier, "ragged.csv", b"a,b\n1,2,3\n").await;
        assert_eq!(job["status"], "failed", "{job}");
        let id = job["id"].as_str().unwrap();
        let res = node.post(&format!("/api/v2/jobs/{id}/retry"), &user, serde_json::json!({})).await;
        assert_eq!((res.status, res.body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("cannot_retry")), "{}", res.body);
        assert!(res.body["error"]["message"].as_str().unwrap().contains("upload the file again"));
        let bulk = node.post("/api/v2/jobs/bulk", &user, serde_json::json!({"action": "retry", "ids": [id]})).await;
        assert_eq!(bulk.body["results"][0]["result"], "conflict", "{}", bulk.body);
        assert!(bulk.body["results"][0]["reason"].as_str().unwrap().contains("upload the file again"));
        assert_eq!(node.get(&format!("/api/v2/jobs/{id}"), &user).await.body["status"], "failed", "left as it was");
        // A completed import still gets the usual answer.
        let done = node.import(&user, &supplier, "prices.csv", PRICES_CSV.as_bytes()).await;
        let res = node.post(&format!("/api/v2/jobs/{}/retry", done["id"].as_str().unwrap()), &user, serde_json::json!({})).await;
        assert_eq!(res.body["error"]["code"], "invalid_transition");
        worker.stop().await;
    }

    async fn an_unsupported_type_is_refused_before_anything_is_stored(app) {
        let user = app.new_user("ann@example.com").await;
        let supplier = app.new_supplier(&user, "Acme").await;
        for name in ["report.pdf", "archive", "macro.xls", "evil.csv.exe"] {
            let res = app.upload(&user, &supplier, name, b"a,b\n1,2\n").await;
            assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{name}: {}", res.body);
            assert_eq!(res.body["error"]["code"], "unsupported_file_type");
        }
        assert_eq!(app.count_jobs("true").await, 0);
        assert_nothing_left(app, &user).await;
    }

    async fn a_file_over_the_limit_gets_413_and_leaves_nothing(app) {
        let settings = AppSettings { imports: ImportSettings { max_upload_bytes: 1_000, ..Default::default() }, ..test_settings() };
        let node = app.node(settings);
        let user = node.new_user("ann@example.com").await;
        let supplier = node.new_supplier(&user, "Acme").await;
        let big = "n\n".repeat(100_000);
        // With a Content-Length: refused before a job exists.
        let res = node.upload(&user, &supplier, "big.csv", big.as_bytes()).await;
        assert_eq!((res.status, res.body["error"]["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("file_too_large")));
        assert_eq!(node.count_jobs("true").await, 0);
        // Streamed without one: found out on the way, the job fails, the partial object goes.
        let body = multipart_body(&[text_part("supplier_id", &supplier), file_part("big.csv", big.as_bytes())]);
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body.chunks(256).map(|c| Ok(c.to_vec())).collect();
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v2/imports/files/upload")
            .header("authorization", format!("Bearer {}", user.token))
            .header("content-type", multipart_content_type())
            .body(Body::from_stream(futures_util::stream::iter(chunks)))
            .unwrap();
        let res = node.send(req).await;
        assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.body);
        assert_eq!(node.count_jobs("status = 'failed' and error_message like '%larger than the limit%'").await, 1);
        assert_nothing_left(&node, &user).await;
    }

    async fn a_client_that_disconnects_mid_upload_leaves_a_failed_job_and_no_object(app) {
        let user = app.new_user("ann@example.com").await;
        let supplier = app.new_supplier(&user, "Acme").await;
        // Over 5 MiB arrives first: past the first multipart part, so a part is staged.
        let body = multipart_body(&[text_part("supplier_id", &supplier), file_part("prices.csv", PRICES_CSV.repeat(100_000))]);
        let half = &body[..body.len() / 2];
        let mut chunks: Vec<Result<Vec<u8>, std::io::Error>> = half.chunks(16 * 1024).map(|c| Ok(c.to_vec())).collect();
        chunks.push(Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "client went away")));
        // As over a network: each chunk arrives after the server has waited for it.
        let chunks = futures_util::StreamExt::then(futures_util::stream::iter(chunks), |c| async {
            tokio::task::yield_now().await;
            c
        });
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v2/imports/files/upload")
            .header("authorization", format!("Bearer {}", user.token))
            .header("content-type", multipart_content_type())
            .body(Body::from_stream(chunks))
            .unwrap();
        let res = app.send(req).await;
        assert_eq!((res.status, res.body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("upload_interrupted")));
        let active = app.get("/api/v2/jobs/active", &user).await;
        assert_eq!(active.body[0]["status"], "failed", "{}", active.body);
        assert!(active.body[0]["error_message"].as_str().unwrap().contains("interrupted"));
        assert_nothing_left(app, &user).await;
    }

    async fn a_file_name_cannot_escape_the_storage_prefix(app) {
        let (node, worker) = app.with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let supplier = node.new_supplier(&user, "Acme").await;
        let job = node.import(&user, &supplier, "../../../etc/cron.d/prices.csv", PRICES_CSV.as_bytes()).await;
        assert_eq!(job["status"], "completed", "{job}");
        let id = job["related_dataset_id"].as_str().unwrap();
        let dataset = node.get(&format!("/api/v2/imports/datasets/{id}"), &user).await.body;
        assert_eq!(dataset["original_filename"], "prices.csv");
        let keys = node.object_keys();
        assert_eq!(keys, [format!("raw/{}", job["id"].as_str().unwrap()), format!("rows/{id}.csv")]);
        worker.stop().await;
    }

    async fn the_form_must_name_one_of_your_suppliers_and_carry_a_file(app) {
        let ann = app.new_user("ann@example.com").await;
        let bob = app.new_user("bob@example.com").await;
        let bobs = app.new_supplier(&bob, "Bob's").await;
        let cases: Vec<(Vec<crate::import_helpers::Part>, &str)> = vec![
            (vec![file_part("a.csv", "a\n1\n")], "supplier_id"),
            (vec![text_part("supplier_id", "not-a-uuid"), file_part("a.csv", "a\n1\n")], "UUID"),
            (vec![text_part("supplier_id", &bobs), file_part("a.csv", "a\n1\n")], "supplier"),
            (vec![text_part("supplier_id", &bobs)], "file"),
        ];
        for (parts, says) in cases {
            let res = app.upload_parts(&ann, "", &parts).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
            assert!(res.body["error"]["message"].as_str().unwrap().contains(says), "{}", res.body);
        }
        // The supplier may also come in the query string.
        let mine = app.new_supplier(&ann, "Ann's").await;
        let res = app.upload_parts(&ann, &format!("?supplier_id={mine}"), &[file_part("a.csv", "a\n1\n")]).await;
        assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
        let latin1 = crate::import_helpers::Part { name: "supplier_id", filename: None, content: b"caf\xe9".to_vec() };
        let res = app.upload_parts(&ann, "", &[latin1, file_part("a.csv", "a\n1\n")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        assert!(res.body["error"]["message"].as_str().unwrap().contains("UTF-8"), "{}", res.body);
        // Fields other than the file are small; a huge one is refused, not buffered.
        let huge = "x".repeat(100 * 1024);
        let res = app.upload_parts(&ann, "", &[text_part("note", &huge), file_part("a.csv", "a\n1\n")]).await;
        assert_eq!((res.status, res.body["error"]["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large")));
        // Not multipart at all.
        let res = app.post("/api/v2/imports/files/upload", &ann, serde_json::json!({})).await;
        assert_eq!((res.status, res.body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("not_multipart")));
        assert_eq!(app.count_jobs("true").await, 1);
    }

    async fn datasets_are_visible_to_their_owner_only(app) {
        let (node, worker) = app.with_local_worker();
        let ann = node.new_user("ann@example.com").await;
        let bob = node.new_user("bob@example.com").await;
        let admin = node.new_admin("root@example.com").await;
        let supplier = node.new_supplier(&ann, "Acme").await;
        let job = node.import(&ann, &supplier, "prices.csv", PRICES_CSV.as_bytes()).await;
        let id = job["related_dataset_id"].as_str().unwrap();
        for other in [&bob, &admin] {
            let res = node.get(&format!("/api/v2/imports/datasets/{id}"), other).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
            assert_eq!(node.get("/api/v2/imports/datasets", other).await.body["items"], Value::Array(vec![]));
            assert_eq!(node.get("/api/v2/imports/suppliers", other).await.body, Value::Array(vec![]));
            let res = node.get(&format!("/api/v2/jobs/{}", job["id"].as_str().unwrap()), &bob).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND);
        }
        // Naming another user's dataset anywhere answers as a dataset that does not exist: 404.
        let unknown = uuid::Uuid::new_v4().to_string();
        for dataset in [id, unknown.as_str()] {
            let export = node.post("/api/v2/exports", &bob, serde_json::json!({"dataset_id": dataset, "format": "csv"})).await;
            let job = node.post("/api/v2/jobs", &bob, serde_json::json!({"job_type": "export", "related_dataset_id": dataset})).await;
            for res in [&export, &job] {
                assert_eq!((res.status, res.body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{}", res.body);
            }
            assert_eq!(job.body["error"]["message"], export.body["error"]["message"], "one answer for both");
        }
        let res = node.get("/api/v2/imports/datasets/not-a-uuid", &ann).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        let res = node.request(Method::GET, "/api/v2/imports/datasets", None, None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        worker.stop().await;
    }

    async fn an_import_job_made_by_hand_reads_no_file(app) {
        let (node, worker) = app.with_local_worker();
        let ann = node.new_user("ann@example.com").await;
        let bob = node.new_user("bob@example.com").await;
        let dir = node.objects_dir.clone().unwrap();
        let secret = dir.parent().unwrap().join(format!("jobwatch-secret-{}.csv", uuid::Uuid::new_v4().simple()));
        std::fs::write(&secret, "password\nhunter2\n").unwrap();
        let secret_key = format!("../{}", secret.file_name().unwrap().to_string_lossy());
        let suppliers = [node.new_supplier(&bob, "Bob's").await, node.new_supplier(&ann, "Ann's").await];
        for supplier in &suppliers {
            let metadata = serde_json::json!({"filename": "x.csv", "format": "csv", "supplier_id": supplier,
                "raw_key": secret_key, "sha256": "0".repeat(64), "size_bytes": 17});
            let res = node.post("/api/v2/jobs", &ann, serde_json::json!({"job_type": "import", "metadata": metadata})).await;
            assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
            let job = node.wait_for(&res.body["id"], "the job to fail", |j| j["status"] == "failed").await;
            let message = job["error_message"].as_str().unwrap();
            assert!(message.contains("not made by an upload") || message.contains("interrupted"), "{message}");
        }
        assert_eq!(node.get("/api/v2/imports/datasets", &ann).await.body["items"], Value::Array(vec![]));
        assert!(secret.exists(), "nothing outside the store is touched");
        std::fs::remove_file(&secret).unwrap();
        worker.stop().await;
    }
}
