//! A real HTTP endpoint for webhook tests: an axum server on 127.0.0.1:0 that records every
//! request and answers with the statuses it is told to, in order (then 200). A 3xx points to
//! `/elsewhere`; [`HANG`] never answers.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{KeyInit, Mac};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// An "answer" that keeps the request waiting for good.
pub const HANG: u16 = 0;

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a webhook body is JSON")
    }

    /// Whether `webhook-signature` is the HMAC-SHA256 of `{id}.{timestamp}.{body}` under
    /// `secret`, recomputed here as a receiver would.
    pub fn signed_with(&self, secret: &str) -> bool {
        let b64 = base64::engine::general_purpose::STANDARD;
        let key = b64.decode(secret.strip_prefix("whsec_").expect("a whsec_ secret")).unwrap();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.", self.header("webhook-id"), self.header("webhook-timestamp")).as_bytes());
        mac.update(&self.body);
        let expected = format!("v1,{}", b64.encode(mac.finalize().into_bytes()));
        self.header("webhook-signature").split(' ').any(|s| s == expected)
    }
}

#[derive(Clone, Default)]
struct Shared {
    seen: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

pub struct Receiver {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let shared = Shared::default();
        let app = axum::Router::new().fallback(record).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { base, shared, task }
    }

    /// The next requests get these statuses, in order; later ones 200.
    pub fn answer(&self, statuses: &[u16]) {
        self.shared.answers.lock().unwrap().extend(statuses);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(State(shared): State<Shared>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    shared.seen.lock().unwrap().push(Received { path: uri.path().to_owned(), headers, body });
    let status = shared.answers.lock().unwrap().pop_front().unwrap_or(200);
    if status == HANG {
        std::future::pending::<()>().await;
    }
    let status = StatusCode::from_u16(status).unwrap();
    match status.is_redirection() {
        true => (status, [(header::LOCATION, "/elsewhere")]).into_response(),
        false => status.into_response(),
    }
}
