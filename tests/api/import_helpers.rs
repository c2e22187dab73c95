//! `TestApp` helpers for uploads, datasets and exports.

use crate::helpers::{TestApp, TestResponse, TestUser, TestWorker, fast_worker_settings, test_settings};
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const BOUNDARY: &str = "jobwatch-test-boundary-7d1f";

/// One part of a multipart form.
pub struct Part<'a> {
    pub name: &'a str,
    pub filename: Option<&'a str>,
    pub content: Vec<u8>,
}

pub fn file_part<'a>(filename: &'a str, content: impl Into<Vec<u8>>) -> Part<'a> {
    Part { name: "file", filename: Some(filename), content: content.into() }
}

pub fn text_part<'a>(name: &'a str, value: &str) -> Part<'a> {
    Part { name, filename: None, content: value.as_bytes().to_vec() }
}

pub fn multipart_body(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part.filename {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n",
                    part.name
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{}\"\r\n\r\n", part.name).as_bytes(),
            ),
        }
        body.extend_from_slice(&part.content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub fn multipart_content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// A plain download: status, headers and raw bytes.
pub struct Download {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl TestApp {
    /// `POST /imports/suppliers`; returns the new supplier's id.
    pub async fn new_supplier(&self, user: &TestUser, name: &str) -> String {
        let res = self.post("/api/v2/imports/suppliers", user, json!({ "name": name })).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        res.body["id"].as_str().unwrap().to_owned()
    }

    /// A multipart upload of `parts` with `query` appended to the path.
    pub async fn upload_parts(&self, user: &TestUser, query: &str, parts: &[Part<'_>]) -> TestResponse {
        let body = multipart_body(parts);
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v2/imports/files/upload{query}"))
            .header("authorization", format!("Bearer {}", user.token))
            .header("content-type", multipart_content_type())
            .header("content-length", body.len())
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// Upload one file for `supplier` (the field first, as forms send it).
    pub async fn upload(&self, user: &TestUser, supplier: &str, filename: &str, content: &[u8]) -> TestResponse {
        self.upload_parts(user, "", &[text_part("supplier_id", supplier), file_part(filename, content)]).await
    }

    /// Upload and wait until the import job has finished; returns the job.
    pub async fn import(&self, user: &TestUser, supplier: &str, filename: &str, content: &[u8]) -> Value {
        self.import_with(user, supplier, filename, content, &[]).await
    }

    /// As [`TestApp::import`], with form `fields` (`sheet`, `delimiter`, …) sent before the file.
    pub async fn import_with(
        &self,
        user: &TestUser,
        supplier: &str,
        filename: &str,
        content: &[u8],
        fields: &[(&str, &str)],
    ) -> Value {
        let mut parts = vec![text_part("supplier_id", supplier)];
        parts.extend(fields.iter().map(|(name, value)| text_part(name, value)));
        parts.push(file_part(filename, content));
        let res = self.upload_parts(user, "", &parts).await;
        assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
        self.wait_for(&res.body["id"], "the import to finish", |j| {
            ["completed", "failed", "cancelled"].contains(&j["status"].as_str().unwrap())
        })
        .await
    }

    /// A node whose uploads go straight to its own running worker, as `jobwatch serve`.
    pub fn with_local_worker(&self) -> (TestApp, TestWorker) {
        let mut node = self.node(test_settings());
        // The node's own worker, counting in the node's metrics.
        let worker = node.worker(fast_worker_settings());
        node.state.imports =
            node.state.imports.clone().with_local_worker(worker.local_inbox().expect("no import limit"));
        node.router = jobwatch::http::router(node.state.clone(), jobwatch::http::DEFAULT_MAX_BODY_BYTES);
        (node, TestWorker::spawn(worker))
    }

    pub async fn download(&self, user: &TestUser, path: &str) -> Download {
        let req = Request::builder()
            .uri(path)
            .header("authorization", format!("Bearer {}", user.token))
            .body(Body::empty())
            .unwrap();
        let response = self.router.clone().oneshot(req).await.expect("router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes().to_vec();
        Download { status, headers, bytes }
    }

    /// Every object key in the test's local object directory, sorted.
    pub fn object_keys(&self) -> Vec<String> {
        let root = self.objects_dir.as_ref().expect("a local object directory");
        let mut keys = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    keys.push(path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
                }
            }
        }
        keys.sort();
        keys
    }
}
