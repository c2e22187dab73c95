//! Uploads that do not end normally: the receiving node dies, or the user cancels while the
//! bytes arrive. Either way the job ends, and no object is left.

use crate::helpers::{contract_tests, fast_worker_settings, test_settings};
use crate::import_helpers::{file_part, multipart_body, multipart_content_type, text_part};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use jobwatch::imports::ImportSettings;
use jobwatch::jobs::JobType;
use jobwatch::jobs::model::NewJob;
use jobwatch::objects::raw_key;
use jobwatch::startup::AppSettings;
use serde_json::json;

contract_tests! {
    async fn an_upload_whose_node_died_is_rescued_failed_and_its_partial_file_removed(app) {
        let user = app.new_user("ann@example.com").await;
        let supplier = app.new_supplier(&user, "Acme").await;
        // What an upload holds while its bytes arrive, on a node that then dies.
        let now = app.clock_now();
        let new = NewJob {
            job_type: JobType::Import,
            created_by: Some(user.id),
            related_dataset_id: None,
            metadata: json!({"filename": "a.csv", "supplier_id": supplier, "format": "csv"}),
            created_at: now,
            run_at: now,
            priority: 0,
            max_retries: 3,
        };
        let held = app.store.insert_held_job(&new, "upload:dead-node", now, now + chrono::Duration::seconds(1)).await.unwrap();
        let mut partial = app.objects.writer(&raw_key(held.id));
        partial.put(bytes::Bytes::from_static(b"id,name\n1,half a ro")).await.unwrap();
        partial.finish().await.unwrap();

        app.clock.advance(chrono::Duration::seconds(5));
        let worker = app.start_worker(fast_worker_settings());
        let job = app.wait_for_status(&json!(held.id.to_string()), "failed").await;
        assert!(job["error_message"].as_str().unwrap().contains("interrupted"), "{job}");
        assert_eq!(app.object_keys(), Vec::<String>::new());
        worker.stop().await;
    }

    async fn cancelling_an_upload_while_it_arrives_stops_it_and_removes_the_file(app) {
        // Renewed every third of its lease: 100 ms here, so the cancel is heard soon.
        let imports = ImportSettings { lease: std::time::Duration::from_millis(300), ..Default::default() };
        let node = app.node(AppSettings { imports, ..test_settings() });
        let user = node.new_user("ann@example.com").await;
        let supplier = node.new_supplier(&user, "Acme").await;
        let body = multipart_body(&[text_part("supplier_id", &supplier), file_part("big.csv", "n\n".repeat(1 << 20))]);
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
        let chunks = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v2/imports/files/upload")
            .header("authorization", format!("Bearer {}", user.token))
            .header("content-type", multipart_content_type())
            .body(Body::from_stream(chunks))
            .unwrap();
        let router = node.router.clone();
        let upload = tokio::spawn(async move { tower::ServiceExt::oneshot(router, req).await.unwrap() });

        let mut pieces = body.chunks(4 * 1024);
        tx.send(Ok(pieces.next().unwrap().to_vec())).await.unwrap();
        node.wait_for_count("the upload's job", "job_type = 'import'", 1).await;
        let id = node.get("/api/v2/jobs/active", &user).await.body[0]["id"].clone();
        let cancel = node.act(&user, &id, "cancel", json!({})).await;
        assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.body);
        // The upload learns of it at its next lease renewal (within 100 ms) and stops.
        for piece in pieces {
            if upload.is_finished() || tx.send(Ok(piece.to_vec())).await.is_err() {
                break;
            }
            // A real wait: the upload renews its lease by elapsed time (std Instant), not the clock.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let response = upload.await.unwrap();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let job = node.wait_for_status(&id, "cancelled").await;
        assert!(job["progress"].as_i64().unwrap() < 40, "{job}");
        assert_eq!(node.object_keys(), Vec::<String>::new());
    }

    async fn cancelling_an_upload_waiting_for_a_worker_removes_its_file(app) {
        let user = app.new_user("ann@example.com").await;
        let supplier = app.new_supplier(&user, "Acme").await;
        // No worker on this node: the stored upload waits in the queue.
        let res = app.upload(&user, &supplier, "prices.csv", crate::imports::PRICES_CSV.as_bytes()).await;
        assert_eq!(res.body["status"], "pending", "{}", res.body);
        assert_eq!(app.object_keys().len(), 1);
        let cancel = app.act(&user, &res.body["id"], "cancel", json!({})).await;
        assert_eq!(cancel.body["status"], "cancelled", "{}", cancel.body);
        assert_eq!(app.object_keys(), Vec::<String>::new());
    }
}
