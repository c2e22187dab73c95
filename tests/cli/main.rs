//! The `jobwatch` binary as an operator uses it: migrate, user add, serve and stop; and as a
//! user does, watching and listing jobs of a running service (`jobs.rs`).

mod jobs;
mod traces;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn data_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jobwatch-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn jobwatch(dir: &PathBuf, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jobwatch"))
        .args(args)
        .env("JOBWATCH_DATA_DIR", dir)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run jobwatch")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One HTTP/1.1 request over a plain socket; returns (status, body).
fn http(addr: &str, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

#[test]
fn migrate_and_user_add_on_the_default_sqlite_database() {
    let dir = data_dir();
    let out = jobwatch(&dir, &["user", "add", "--email", "ops@example.com", "--password", "long-enough", "--admin"]);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).contains("created user ops@example.com"), "{}", stdout(&out));
    assert!(dir.join("jobwatch.db").exists(), "the default database lives in the data dir");

    let again = jobwatch(&dir, &["user", "add", "--email", "OPS@example.com", "--password", "long-enough"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let status = jobwatch(&dir, &["migrate", "status"]);
    assert!(stdout(&status).starts_with("applied migrations: [1"), "{}", stdout(&status));
    let down = jobwatch(&dir, &["migrate", "down"]);
    assert!(down.status.success() && stdout(&down).contains("rolled back 1"), "{down:?}");
    let up = jobwatch(&dir, &["migrate", "up"]);
    assert!(up.status.success() && stdout(&up).contains("applied 1"), "{up:?}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn schedules_are_managed_from_the_command_line() {
    let dir = data_dir();
    let add = jobwatch(&dir, &["schedule", "add", "--name", "nightly", "--cron", "0 2 * * *", "--job-type", "export"]);
    assert!(add.status.success() && stdout(&add).contains("created schedule nightly"), "{add:?}");
    let list = jobwatch(&dir, &["schedule", "list"]);
    assert!(stdout(&list).contains("nightly\t0 2 * * * [UTC]\texport"), "{}", stdout(&list));
    let bad = jobwatch(&dir, &["schedule", "add", "--name", "x", "--cron", "61 * * * *", "--job-type", "export"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("cron '61 * * * *'"));
    assert!(jobwatch(&dir, &["schedule", "rm", "nightly"]).status.success());
    assert!(!jobwatch(&dir, &["schedule", "rm", "nightly"]).status.success(), "already gone");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn impossible_worker_settings_are_refused_before_start() {
    let dir = data_dir();
    for (args, message) in [
        (&["worker", "--heartbeat", "10s", "--lease", "5s"][..], "--heartbeat must be shorter than --lease"),
        (&["worker", "--concurrency", "0"][..], "--concurrency must be at least 1"),
        (&["worker", "--type-limit", "upload=2"][..], "expected one of"),
    ] {
        let out = jobwatch(&dir, args);
        assert!(!out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(message), "{args:?}: {out:?}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn unsupported_database_urls_are_refused_clearly() {
    let out = Command::new(env!("CARGO_BIN_EXE_jobwatch"))
        .args(["migrate", "up"])
        .env("DATABASE_URL", "mysql://localhost/x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported DATABASE_URL"));
}

#[test]
fn serve_bootstraps_an_admin_and_stops_gracefully_on_sigterm() {
    let dir = data_dir();
    // What a crash mid-write leaves: swept at start-up when old, kept when a writer may be at it.
    let uploads = dir.join("objects/uploads");
    std::fs::create_dir_all(&uploads).unwrap();
    let (stale, young) = (uploads.join(".dead.partial"), uploads.join(".busy.partial"));
    for path in [&stale, &young] {
        std::fs::write(path, b"half a file").unwrap();
    }
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options().write(true).open(&stale).unwrap().set_modified(hour_ago).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jobwatch"))
        .arg("serve")
        .env("JOBWATCH_DATA_DIR", &dir)
        .env("JOBWATCH_BIND", "127.0.0.1:0")
        .env_remove("DATABASE_URL")
        .env_remove("JOBWATCH_ADMIN_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let admin_line = lines.next().unwrap().unwrap();
    let password = admin_line.rsplit("password ").next().unwrap().to_owned();
    assert!(admin_line.contains("email admin@localhost"), "{admin_line}");
    let listen_line = lines.next().unwrap().unwrap();
    let addr = listen_line.split("http://").nth(1).unwrap().split(' ').next().unwrap().to_owned();

    let (status, body) = http(&addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    assert!(!stale.exists(), "an hour-old staging file is removed at start-up");
    assert!(young.exists(), "a fresh one may be another process's write in progress");
    let login = format!(r#"{{"email":"admin@localhost","password":"{password}"}}"#);
    let (status, body) = http(
        &addr,
        &format!(
            "POST /api/v2/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{login}",
            login.len()
        ),
    );
    assert_eq!(status, 200, "the printed password works: {body}");

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "did not stop within 15 s of SIGTERM");
        // The poll of a deadline-bounded wait: the process drains and exits in its own time.
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "clean exit after SIGTERM: {exit:?}");
    std::fs::remove_dir_all(dir).ok();
}
