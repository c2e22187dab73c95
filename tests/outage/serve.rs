//! `jobwatch serve` as a child process on a free port, with the test's API client.

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use std::io::{BufRead, BufReader, Lines};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

pub const ADMIN_PASSWORD: &str = "outage-test-password";

pub struct Serve {
    child: Child,
    dir: PathBuf,
    pub addr: String,
    pub client: Client,
    /// Kept open: serve writes to its stdout.
    _stdout: Lines<BufReader<ChildStdout>>,
}

/// One API answer: its status and whether it said when to retry.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub retry_after: bool,
    pub body: Value,
}

impl Serve {
    /// Serving `database_url` with `env` on top of the defaults; `timeout` bounds every request.
    pub fn start(database_url: &str, env: &[(&str, &str)], timeout: Duration) -> Serve {
        let dir = std::env::temp_dir().join(format!("jobwatch-outage-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join("serve.log")).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_jobwatch"));
        cmd.arg("serve")
            .env("DATABASE_URL", database_url)
            .env("JOBWATCH_DATA_DIR", &dir)
            .env("JOBWATCH_BIND", "127.0.0.1:0")
            .env("JOBWATCH_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start jobwatch serve");
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = stdout.next().expect("serve printed its address").unwrap();
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split(' ').next().unwrap().to_owned();
            }
        };
        let client = Client::builder().timeout(timeout).build().unwrap();
        Serve { child, dir, addr, client, _stdout: stdout }
    }

    /// A request; `Err` when it failed or took longer than the client's bound.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        let mut req = self.client.request(method, format!("http://{}{path}", self.addr));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = req.send().await.map_err(|e| format!("{path}: {e}"))?;
        let status = res.status();
        let retry_after = res.headers().contains_key("retry-after");
        let body = res.json().await.unwrap_or(Value::Null);
        Ok(Answer { status, retry_after, body })
    }

    /// `GET /metrics`, as text (the node's counters since it started).
    pub async fn metrics(&self) -> String {
        let res = self.client.get(format!("http://{}/metrics", self.addr)).send().await.expect("GET /metrics");
        assert_eq!(res.status(), StatusCode::OK);
        res.text().await.unwrap()
    }

    pub async fn login(&self) -> String {
        let body = serde_json::json!({"email": "admin@localhost", "password": ADMIN_PASSWORD});
        let answer = self.call(Method::POST, "/api/v2/auth/login", None, Some(&body)).await.unwrap();
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        answer.body["access_token"].as_str().unwrap().to_owned()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- the last lines jobwatch serve logged ---");
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
