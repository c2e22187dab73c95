//! Imports and exports on an S3-compatible store: a real server (moto) started per test.

use crate::helpers::{contract_tests, test_settings};
use crate::imports::PRICES_CSV;
use axum::http::StatusCode;
use futures_util::TryStreamExt;
use jobwatch::objects::Objects;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BUCKET: &str = "jobwatch-test";

/// A moto server on a free port, with one empty bucket; killed when dropped.
struct S3Server {
    child: Child,
    endpoint: String,
}

impl S3Server {
    fn start() -> S3Server {
        let bin = std::env::var("JOBWATCH_TEST_S3_SERVER").unwrap_or_else(|_| {
            format!("{}/.cache/jobwatch-venv/bin/moto_server", std::env::var("HOME").unwrap_or_default())
        });
        assert!(
            std::path::Path::new(&bin).exists(),
            "no S3-compatible server at {bin}: run `bash scripts/s3-server.sh` (make test does)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let server = S3Server { child, endpoint: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut conn) = TcpStream::connect(("127.0.0.1", port)) {
                // Create the bucket: moto takes unsigned requests.
                write!(
                    conn,
                    "PUT /{BUCKET} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                let mut answer = String::new();
                let _ = conn.read_to_string(&mut answer);
                assert!(answer.starts_with("HTTP/1.1 200"), "creating the bucket: {answer}");
                return server;
            }
            assert!(Instant::now() < deadline, "moto_server did not start");
            // A real wait: moto is another process, starting up.
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn settings(&self) -> [(&'static str, String); 5] {
        [
            ("aws_endpoint", self.endpoint.clone()),
            ("aws_allow_http", "true".into()),
            ("aws_access_key_id", "test".into()),
            ("aws_secret_access_key", "test".into()),
            ("aws_region", "us-east-1".into()),
        ]
    }

    fn objects(&self, prefix: &str) -> Objects {
        let settings = self.settings();
        let pairs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Objects::s3(&format!("s3://{BUCKET}/{prefix}"), &pairs).unwrap()
    }

    /// The bucket's multipart uploads begun and neither completed nor aborted.
    fn unfinished_uploads(&self) -> usize {
        let port = self.endpoint.rsplit(':').next().unwrap();
        let mut conn = TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).unwrap();
        write!(conn, "GET /{BUCKET}?uploads HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "listing uploads: {answer}");
        answer.matches("<UploadId>").count()
    }

    /// Every key in the bucket.
    async fn keys(&self) -> Vec<String> {
        let mut builder = AmazonS3Builder::new().with_bucket_name(BUCKET);
        for (key, value) in self.settings() {
            builder = builder.with_config(key.parse().unwrap(), value);
        }
        let store = builder.build().unwrap();
        let mut keys: Vec<String> = store.list(None).map_ok(|m| m.location.to_string()).try_collect().await.unwrap();
        keys.sort();
        keys
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

contract_tests! {
    async fn imports_and_exports_work_on_s3_and_failures_leave_no_objects(app) {
        let s3 = S3Server::start();
        let (node, worker) = app.node_with_objects(s3.objects("tenant-a"), test_settings()).with_local_worker();
        let user = node.new_user("ann@example.com").await;
        let supplier = node.new_supplier(&user, "Acme").await;

        let job = node.import(&user, &supplier, "prices.csv", PRICES_CSV.as_bytes()).await;
        assert_eq!(job["status"], "completed", "{job}");
        let dataset = job["related_dataset_id"].as_str().unwrap().to_owned();
        let res = node.post("/api/v2/exports", &user, json!({"dataset_id": dataset, "format": "csv"})).await;
        let export = node.wait_for_status(&res.body["id"], "completed").await;
        let file = node.download(&user, &format!("/api/v2/exports/{}/download", export["id"].as_str().unwrap())).await;
        assert_eq!(file.status, StatusCode::OK);
        assert_eq!(String::from_utf8(file.bytes).unwrap(), PRICES_CSV);

        // XLSX needs seeking: from S3 it is parsed from a local copy.
        let sheet = node.import(&user, &supplier, "prices.xlsx", &crate::imports::prices_xlsx()).await;
        assert_eq!(sheet["status"], "completed", "{sheet}");
        let sheet_dataset = sheet["related_dataset_id"].as_str().unwrap();
        let rows = node.get(&format!("/api/v2/imports/datasets/{sheet_dataset}"), &user).await.body;
        assert_eq!(rows["columns"], crate::imports::expected_columns());

        let bad = node.import(&user, &supplier, "ragged.csv", b"a,b\n1,2,3\n").await;
        assert_eq!(bad["status"], "failed", "{bad}");
        let mut expected = vec![
            format!("tenant-a/exports/{}.csv", export["id"].as_str().unwrap()),
            format!("tenant-a/raw/{}", job["id"].as_str().unwrap()),
            format!("tenant-a/raw/{}", sheet["id"].as_str().unwrap()),
            format!("tenant-a/rows/{dataset}.csv"),
            format!("tenant-a/rows/{sheet_dataset}.csv"),
        ];
        expected.sort();
        assert_eq!(s3.keys().await, expected);
        worker.stop().await;
    }

    async fn an_upload_cut_off_mid_way_leaves_no_object_and_no_unfinished_multipart_upload(app) {
        let s3 = S3Server::start();
        let node = app.node_with_objects(s3.objects("tenant-b"), test_settings());
        let user = node.new_user("ann@example.com").await;
        let supplier = node.new_supplier(&user, "Acme").await;
        // 12 MiB before the cut: two 5 MiB parts are already uploaded.
        let body = crate::import_helpers::multipart_body(&[
            crate::import_helpers::text_part("supplier_id", &supplier),
            crate::import_helpers::file_part("big.csv", "n\n".repeat(12 << 20)),
        ]);
        let mut chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            body[..body.len() / 2].chunks(256 * 1024).map(|c| Ok(c.to_vec())).collect();
        chunks.push(Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "client went away")));
        let chunks = futures_util::StreamExt::then(futures_util::stream::iter(chunks), |c| async {
            // A real wait: paced like a network, so parts reach moto (another process) before the cut.
            tokio::time::sleep(Duration::from_millis(1)).await;
            c
        });
        let req = axum::http::Request::builder()
            .method(axum::http::Method::POST)
            .uri("/api/v2/imports/files/upload")
            .header("authorization", format!("Bearer {}", user.token))
            .header("content-type", crate::import_helpers::multipart_content_type())
            .body(axum::body::Body::from_stream(chunks))
            .unwrap();
        let res = node.send(req).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
        assert_eq!(node.count_jobs("status = 'failed'").await, 1);
        assert_eq!(s3.keys().await, Vec::<String>::new());
        assert_eq!(s3.unfinished_uploads(), 0, "the multipart upload was aborted");
    }
}
