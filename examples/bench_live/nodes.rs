//! The two `jobwatch serve` nodes the bench drives: started, probed for readiness, and read
//! from /proc for memory and CPU.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Node {
    child: Child,
    pub base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    /// Resident memory and CPU seconds used so far, from /proc.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or(0)
    }

    pub fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let fields: Vec<&str> =
            stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
        let ticks: f64 =
            fields.get(11..13).map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()).unwrap_or(0.0);
        ticks / 100.0
    }
}

pub async fn start_node(bin: &str, db_url: &str, port: u16) -> Node {
    let mut child = Command::new(bin)
        .arg("serve")
        .env("DATABASE_URL", db_url)
        .env("JOBWATCH_BIND", format!("127.0.0.1:{port}"))
        .env("JOBWATCH_NO_WORKERS", "true")
        .env("JOBWATCH_NO_MIGRATE", "true")
        .env("JOBWATCH_WS_PER_USER", "200")
        .env("JOBWATCH_DATA_DIR", format!("/tmp/jobwatch-live-bench/{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start jobwatch serve");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Node { child, base };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("node on port {port} did not become ready");
}
