//! `JOBWATCH_OTLP_ENDPOINT`: a served request's span reaches an OTLP/HTTP receiver — a tiny
//! one this test runs on 127.0.0.1 — by the time `serve` has stopped.

use super::{data_dir, http};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What the receiver was sent: the request line, its content type and its body.
struct Received {
    request_line: String,
    content_type: String,
    body: Vec<u8>,
}

/// Accepts connections on a free port, answering each request 200 with an empty protobuf.
fn receiver() -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                    break;
                }
                let (mut length, mut content_type) = (0, String::new());
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    let (name, value) = line.split_once(':').unwrap();
                    match name.to_ascii_lowercase().as_str() {
                        "content-length" => length = value.trim().parse().unwrap(),
                        "content-type" => content_type = value.trim().to_owned(),
                        _ => {}
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                stream.write_all(answer.as_bytes()).unwrap();
                let _ = tx.send(Received { request_line: request_line.trim_end().to_owned(), content_type, body });
            }
        }
    });
    (addr, rx)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn with_an_otlp_endpoint_request_spans_reach_the_collector() {
    let (collector, received) = receiver();
    let dir = data_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jobwatch"))
        .arg("serve")
        .env("JOBWATCH_DATA_DIR", &dir)
        .env("JOBWATCH_BIND", "127.0.0.1:0")
        .env("JOBWATCH_OTLP_ENDPOINT", format!("http://{collector}/"))
        .env("JOBWATCH_ADMIN_PASSWORD", "not-printed-here")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let listening = lines.find_map(|l| l.ok().filter(|l| l.contains("listening on"))).expect("serve starts");
    let addr = listening.split("http://").nth(1).unwrap().split(' ').next().unwrap().to_owned();
    let (status, _) = http(&addr, "GET /api/v2/jobs/active HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 401);

    // Stopping sends what is still batched.
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "did not stop within 15 s of SIGTERM");
        // The poll of a deadline-bounded wait: the process drains and exits in its own time.
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    let sent: Vec<Received> = received.try_iter().collect();
    let traces = sent.iter().find(|r| r.request_line.starts_with("POST /v1/traces ")).expect("a trace export");
    assert_eq!(traces.content_type, "application/x-protobuf");
    // The protobuf carries the span's name, its path attribute and the service's name as text.
    assert!(contains(&traces.body, b"request"), "the request span");
    assert!(contains(&traces.body, b"/api/v2/jobs/active"), "its path");
    assert!(contains(&traces.body, b"jobwatch"), "the service name");
    std::fs::remove_dir_all(dir).ok();
}
