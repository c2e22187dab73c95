//! `jobwatch jobs watch | list` against a real `jobwatch serve` (a fresh SQLite database and a
//! free port per test). Output goes to pipes, so watch prints plain lines, as in CI.

use super::{data_dir, http};
use serde_json::Value;
use std::io::{BufRead, BufReader, Lines};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const ADMIN_PASSWORD: &str = "cli-test-password";
/// Longer than any job here takes; a command still running then has failed the test.
const WAIT: Duration = Duration::from_secs(60);

struct Server {
    child: Child,
    dir: PathBuf,
    addr: String,
    admin: String,
    /// Kept open: serve writes to its stdout.
    _stdout: Lines<BufReader<ChildStdout>>,
}

impl Server {
    fn start() -> Server {
        let dir = data_dir();
        let mut child = Command::new(env!("CARGO_BIN_EXE_jobwatch"))
            .arg("serve")
            .env("JOBWATCH_DATA_DIR", &dir)
            .env("JOBWATCH_BIND", "127.0.0.1:0")
            .env("JOBWATCH_ADMIN_PASSWORD", ADMIN_PASSWORD)
            // Progress reaches the database once per heartbeat: keep the jobs short.
            .env("JOBWATCH_HEARTBEAT", "100ms")
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = stdout.next().expect("serve printed its address").unwrap();
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split(' ').next().unwrap().to_owned();
            }
        };
        let mut server = Server { child, dir, addr, admin: String::new(), _stdout: stdout };
        server.admin = server.login("admin@localhost", ADMIN_PASSWORD);
        server
    }

    fn login(&self, email: &str, password: &str) -> String {
        let (status, body) =
            self.post("/api/v2/auth/login", None, &format!(r#"{{"email":"{email}","password":"{password}"}}"#));
        assert_eq!(status, 200, "{body}");
        json(&body)["access_token"].as_str().unwrap().to_owned()
    }

    fn post(&self, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
        let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        http(
            &self.addr,
            &format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    }

    /// A job of the caller's; its id.
    fn create_job(&self, token: &str, job: &str) -> String {
        let (status, body) = self.post("/api/v2/jobs", Some(token), job);
        assert_eq!(status, 201, "{body}");
        json(&body)["id"].as_str().unwrap().to_owned()
    }

    /// `jobwatch jobs ARGS` against this server with `token`, stdin not a terminal.
    fn jobs(&self, token: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_jobwatch"));
        command
            .arg("jobs")
            .args(args)
            .env("JOBWATCH_URL", format!("http://{}", self.addr))
            .env("JOBWATCH_TOKEN", token)
            // Proof that `jobs` never opens a database: this one would be refused.
            .env("DATABASE_URL", "mysql://nowhere/x")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Waits for the command to end, within `WAIT`.
fn finish(child: Child) -> Output {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(WAIT) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("jobwatch did not finish within {WAIT:?}");
        }
    }
}

fn run(mut command: Command) -> Output {
    finish(command.spawn().unwrap())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn last_line(out: &Output) -> String {
    text(&out.stdout).lines().last().unwrap_or_default().to_owned()
}

#[test]
fn jobs_watch_follows_a_job_to_completion_and_exits_0() {
    let server = Server::start();
    let id = server.create_job(&server.admin, r#"{"job_type":"processing","metadata":{"steps":3,"step_ms":150}}"#);
    let out = run(server.jobs(&server.admin, &["watch", &id]));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout.lines().next(), Some(format!("watching processing job {id}").as_str()), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("running ")), "plain progress lines off a terminal: {stdout}");
    assert!(last_line(&out).starts_with("completed in "), "{stdout}");
}

#[test]
fn jobs_watch_exits_1_with_the_error_of_a_failed_job() {
    let server = Server::start();
    let job = r#"{"job_type":"processing","metadata":{"steps":3,"step_ms":100,"fail_at":2,"fail":"permanent"}}"#;
    let id = server.create_job(&server.admin, job);
    let out = run(server.jobs(&server.admin, &["watch", &id]));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(last_line(&out), "failed: step 2 of 3 failed (metadata.fail_at)", "{out:?}");
}

#[test]
fn a_job_cancelled_while_watched_ends_the_watch_with_1() {
    let server = Server::start();
    let id = server.create_job(&server.admin, r#"{"job_type":"processing","metadata":{"steps":600,"step_ms":100}}"#);
    let mut child = server.jobs(&server.admin, &["watch", &id]).spawn().unwrap();
    // Cancel once the watch shows the job running.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    while !seen.last().is_some_and(|l: &String| l.starts_with("running ")) {
        seen.push(lines.next().unwrap_or_else(|| panic!("watch ended early: {seen:?}")).unwrap());
    }
    let (status, body) = server.post(&format!("/api/v2/jobs/{id}/cancel"), Some(&server.admin), "");
    assert_eq!(status, 200, "{body}");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(lines.map(Result::unwrap).collect::<Vec<String>>()));
    let rest = rx.recv_timeout(WAIT).expect("the watch ends once the job is cancelled");
    let out = finish(child);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(rest.last().is_some_and(|l| l.starts_with("cancelled at ")), "{seen:?} {rest:?}");
}

#[test]
fn a_session_ended_while_watching_exits_2_saying_so() {
    let server = Server::start();
    let token = server.login("admin@localhost", ADMIN_PASSWORD);
    let id = server.create_job(&token, r#"{"job_type":"processing","metadata":{"steps":600,"step_ms":100}}"#);
    let mut child = server.jobs(&token, &["watch", &id]).spawn().unwrap();
    let first = BufReader::new(child.stdout.as_mut().unwrap()).lines().next().unwrap().unwrap();
    assert!(first.starts_with("watching "), "{first}");
    let (status, body) = server.post("/api/v2/auth/logout", Some(&token), "");
    assert_eq!(status, 204, "{body}");
    let out = finish(child);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // 4401 on the open socket, or 401 if the logout beat the upgrade.
    assert!(text(&out.stderr).contains("the session ended"), "{out:?}");
}

#[test]
fn an_admin_watches_another_users_job_and_gets_it_as_json() {
    let server = Server::start();
    let (status, body) =
        server.post("/api/v2/users", Some(&server.admin), r#"{"email":"ann@example.com","password":"ann-password"}"#);
    assert_eq!(status, 201, "{body}");
    let ann = server.login("ann@example.com", "ann-password");
    let id = server.create_job(&ann, r#"{"job_type":"processing","metadata":{"steps":2,"step_ms":100}}"#);
    // Not in the admin's own live view: followed by asking for it.
    let out = run(server.jobs(&server.admin, &["watch", "--json", &id]));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let job = json(&text(&out.stdout));
    assert_eq!((job["id"].as_str(), job["status"].as_str()), (Some(id.as_str()), Some("completed")));
    assert!(text(&out.stderr).contains("completed in "), "the outcome goes to stderr beside --json: {out:?}");
}

#[test]
fn watching_an_unknown_job_exits_2_saying_not_found() {
    let server = Server::start();
    let id = uuid::Uuid::new_v4().to_string();
    let out = run(server.jobs(&server.admin, &["watch", &id]));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains(&format!("job {id} not found")), "{out:?}");

    let refused = run(server.jobs("not-a-token", &["watch", &id]));
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(text(&refused.stderr).contains("the token was refused"), "{refused:?}");
}

#[test]
fn jobs_commands_without_a_token_off_a_terminal_fail_naming_jobwatch_token() {
    let parent = data_dir();
    let dir = parent.join("never-made");
    for args in [&["watch", "01a2373a-83c8-72d9-9653-0aaa3e908942"][..], &["list"][..]] {
        let out = run({
            let mut command = Command::new(env!("CARGO_BIN_EXE_jobwatch"));
            command
                .arg("jobs")
                .args(args)
                .env_remove("JOBWATCH_TOKEN")
                .env("JOBWATCH_DATA_DIR", &dir)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            command
        });
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(text(&out.stderr).contains("set JOBWATCH_TOKEN"), "{args:?}: {out:?}");
    }
    assert!(!dir.exists(), "no database, no data dir");
    std::fs::remove_dir_all(parent).ok();
}

#[test]
fn jobs_list_shows_the_callers_jobs_with_filters() {
    let server = Server::start();
    // `validation` has no handler: it stays pending.
    let id = server.create_job(&server.admin, r#"{"job_type":"validation","metadata":{"filename":"a.csv"}}"#);

    let out = run(server.jobs(&server.admin, &["list"]));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    assert!(lines.next().unwrap().starts_with("ID "), "{stdout}");
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!((row[0], row[1], row[2], row[3]), (id.as_str(), "validation", "pending", "0%"), "{stdout}");
    assert_eq!(row.last(), Some(&"a.csv"), "{stdout}");

    let failed = run(server.jobs(&server.admin, &["list", "--status", "failed,cancelled"]));
    assert_eq!(text(&failed.stdout), "no jobs\n", "{failed:?}");
    let active = run(server.jobs(&server.admin, &["list", "--active", "--json"]));
    assert_eq!(json(&text(&active.stdout))[0]["id"].as_str(), Some(id.as_str()), "{active:?}");

    let bad = run(server.jobs(&server.admin, &["list", "--status", "done"]));
    assert_eq!(bad.status.code(), Some(2), "a usage error: {bad:?}");
    assert!(text(&bad.stderr).contains("expected one of: pending, running"), "{bad:?}");
}
