//! The bench's WebSocket clients and pollers, and what they record of the changes it makes.

use futures_util::StreamExt;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use uuid::Uuid;

#[derive(Deserialize)]
struct Message {
    #[serde(rename = "type")]
    kind: String,
    job: Option<JobSeen>,
    jobs: Option<Vec<JobSeen>>,
}

#[derive(Deserialize)]
struct JobSeen {
    id: Uuid,
    progress: i32,
    metadata: Probe,
}

#[derive(Deserialize)]
struct Probe {
    probe: Option<u64>,
}

/// When the bench made each change it measures, and what the clients saw of them.
#[derive(Default)]
pub struct Probes {
    pub created: Mutex<HashMap<u64, Instant>>,
    pub progress: Mutex<HashMap<(Uuid, i32), Instant>>,
    pub here: Mutex<Vec<f64>>,
    pub elsewhere: Mutex<Vec<f64>>,
    pub progressed: Mutex<Vec<f64>>,
    pub messages: AtomicU64,
}

impl Probes {
    fn saw(&self, job: &JobSeen, last_progress: &mut HashMap<Uuid, i32>, elsewhere: bool, at: Instant) {
        let created = job.metadata.probe.and_then(|n| self.created.lock().unwrap().get(&n).copied());
        if let Some(t0) = created
            && !last_progress.contains_key(&job.id)
        {
            let ms = (at - t0).as_secs_f64() * 1e3;
            if elsewhere { &self.elsewhere } else { &self.here }.lock().unwrap().push(ms);
        }
        let before = last_progress.insert(job.id, job.progress).unwrap_or(0);
        if job.progress > before {
            let sent = self.progress.lock().unwrap();
            let mut samples = self.progressed.lock().unwrap();
            for p in before + 1..=job.progress {
                if let Some(t0) = sent.get(&(job.id, p)) {
                    samples.push((at - *t0).as_secs_f64() * 1e3);
                }
            }
        }
    }
}

pub async fn client(
    base: String,
    token: String,
    elsewhere: bool,
    probes: Arc<Probes>,
    stop: tokio_util::sync::CancellationToken,
) {
    let url = format!("{}/api/v2/jobs/ws", base.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", format!("jobwatch.v1, jobwatch.bearer.{token}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.expect("socket opens");
    let mut last_progress = HashMap::new();
    loop {
        let message = tokio::select! {
            () = stop.cancelled() => return,
            m = ws.next() => m,
        };
        let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) = message else {
            match message {
                Some(Ok(_)) => continue,
                _ => return,
            }
        };
        let at = Instant::now();
        probes.messages.fetch_add(1, Ordering::Relaxed);
        let message: Message = serde_json::from_str(&text).expect("a live message");
        match message.kind.as_str() {
            "job" => probes.saw(message.job.as_ref().unwrap(), &mut last_progress, elsewhere, at),
            _ => {
                for job in message.jobs.unwrap_or_default() {
                    last_progress.insert(job.id, job.progress);
                }
            }
        }
    }
}

pub async fn poller(base: String, token: String, offset: Duration, stop: tokio_util::sync::CancellationToken) {
    let http = reqwest::Client::new();
    tokio::select! { () = stop.cancelled() => return, () = tokio::time::sleep(offset) => {} }
    let mut every = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! { () = stop.cancelled() => return, _ = every.tick() => {} }
        let _ = http.get(format!("{base}/api/v2/jobs/active")).bearer_auth(&token).send().await;
    }
}
