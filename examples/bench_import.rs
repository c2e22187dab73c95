//! `make bench-import`: upload a generated CSV of each size to a running `jobwatch serve` on
//! PostgreSQL and time it end to end, from the first byte sent to the job `completed`.
//!
//! Each dataset is then exported whole (EXPORTS, default "jsonl,xlsx"), and the server's peak
//! RSS read again. First, in this process, the parser alone against the csv crate only splitting
//! the same file into records (`csv::ByteRecord`): the parser's share of the work, side by side
//! (best of three interleaved rounds each).
//!
//! Env: BENCH_IMPORT_URL (PostgreSQL server, default the local one), SIZES_MIB (default
//! "100,1024"), BENCH_DIR (generated files and the server's data, default /tmp/jobwatch-bench-import),
//! JOBWATCH_BIN (the release binary).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sqlx::{Connection, Executor};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// A CSV of just under `mib` MiB with integer, text, decimal, boolean and date columns.
fn generate(path: &Path, mib: u64) -> std::io::Result<u64> {
    if let Ok(meta) = std::fs::metadata(path) {
        return Ok(meta.len());
    }
    let target = mib << 20;
    let tmp = path.with_extension("partial");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
    let mut rng = StdRng::seed_from_u64(mib);
    let mut written = out.write(b"id,sku,name,price,quantity,active,updated_on,note\n")? as u64;
    let words = ["bolt", "nut", "washer", "hinge", "bracket", "screw", "rivet", "spring", "clamp", "pin"];
    let mut id: u64 = 0;
    while written < target {
        id += 1;
        let line = format!(
            "{id},SKU-{:08},\"{} {}, size {}\",{}.{:02},{},{},20{:02}-{:02}-{:02},{}\n",
            rng.random_range(0..100_000_000u32),
            words[rng.random_range(0..words.len())],
            words[rng.random_range(0..words.len())],
            rng.random_range(1..60u32),
            rng.random_range(0..10_000u32),
            rng.random_range(0..100u32),
            rng.random_range(0..5_000u32),
            if rng.random_bool(0.5) { "true" } else { "false" },
            rng.random_range(10..27u32),
            rng.random_range(1..13u32),
            rng.random_range(1..29u32),
            if rng.random_bool(0.1) { "check stock" } else { "" },
        );
        // At most the target: 1 GiB is also the default upload limit.
        if written + line.len() as u64 > target {
            break;
        }
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    out.flush()?;
    drop(out);
    std::fs::rename(&tmp, path)?;
    Ok(written)
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(bin: &str, db: &str, data: &Path) -> Server {
        let mut child = Command::new(bin)
            .arg("serve")
            .env("DATABASE_URL", db)
            .env("JOBWATCH_DATA_DIR", data)
            .env("JOBWATCH_BIND", "127.0.0.1:0")
            .env("JOBWATCH_ADMIN_EMAIL", "bench@example.com")
            .env("JOBWATCH_ADMIN_PASSWORD", "bench-password")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start jobwatch serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads on for the server's life: a closed pipe would fail its later prints.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("jobwatch listening on ") {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => Server { child, base },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server did not start listening");
            }
        }
    }

    /// Peak resident memory so far, in MiB (VmHWM).
    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(f64::NAN);
        kib / 1024.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// Poll a job until it is neither pending nor running.
async fn finished(http: &reqwest::Client, base: &str, token: &str, id: &str) -> Value {
    loop {
        let job = call(http, format!("{base}/api/v2/jobs/{id}"), Some(token), None).await;
        if !["pending", "running"].contains(&job["status"].as_str().unwrap_or_default()) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One API call; the JSON answer.
async fn call(http: &reqwest::Client, url: String, token: Option<&str>, body: Option<Value>) -> Value {
    let mut req = match body {
        Some(body) => http.post(url).json(&body),
        None => http.get(url),
    };
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("the server answers").json().await.expect("a JSON answer")
}

async fn fresh_database(server: &str) -> String {
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await.expect("PostgreSQL");
    admin.execute("drop database if exists jobwatch_bench_import with (force)").await.unwrap();
    admin.execute("create database jobwatch_bench_import").await.unwrap();
    format!("{server}/jobwatch_bench_import")
}

async fn run(bin: &str, server: &str, dir: &Path, file: &Path, size: u64) -> String {
    let data = dir.join("server-data");
    let _ = std::fs::remove_dir_all(&data);
    let db = fresh_database(server).await;
    let srv = Server::start(bin, &db, &data);
    let http = reqwest::Client::new();
    let credentials = json!({"email": "bench@example.com", "password": "bench-password"});
    let login = call(&http, format!("{}/api/v2/auth/login", srv.base), None, Some(credentials)).await;
    let token = login["access_token"].as_str().expect("token").to_owned();
    let supplier =
        call(&http, format!("{}/api/v2/imports/suppliers", srv.base), Some(&token), Some(json!({"name": "bench"})))
            .await;
    let supplier = supplier["id"].as_str().unwrap().to_owned();

    let started = Instant::now();
    // Watches /jobs/active as a frontend would, from the first byte on.
    let watcher = {
        let (http, base, token) = (http.clone(), srv.base.clone(), token.clone());
        tokio::spawn(async move {
            loop {
                let active = call(&http, format!("{base}/api/v2/jobs/active"), Some(&token), None).await;
                if active.as_array().is_some_and(|a| a.iter().any(|j| j["type"] == "import")) {
                    return started.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
        tokio::fs::File::open(file).await.unwrap(),
        256 * 1024,
    ));
    let form = reqwest::multipart::Form::new()
        .text("supplier_id", supplier)
        .part("file", reqwest::multipart::Part::stream_with_length(body, size).file_name("bench.csv"));
    let response = http
        .post(format!("{}/api/v2/imports/files/upload", srv.base))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap_or_default());
    let stored = started.elapsed();
    let job: Value = response.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    let job = finished(&http, &srv.base, &token, &id).await;
    let total = started.elapsed();
    assert_eq!(job["status"], "completed", "{job}");
    let first_seen = watcher.await.unwrap();
    let rss = srv.peak_rss_mib();
    let dataset = job["related_dataset_id"].as_str().unwrap_or_default();
    let rows = call(&http, format!("{}/api/v2/imports/datasets/{dataset}", srv.base), Some(&token), None).await;
    // Then the whole dataset back out, as JSON Lines and as XLSX: memory must stay flat.
    let mut exports = Vec::new();
    for format in env("EXPORTS", "jsonl,xlsx").split(',').filter(|f| !f.is_empty()) {
        let began = Instant::now();
        let request = json!({"dataset_id": dataset, "format": format});
        let export = call(&http, format!("{}/api/v2/exports", srv.base), Some(&token), Some(request)).await;
        let export = finished(&http, &srv.base, &token, export["id"].as_str().unwrap_or_default()).await;
        assert_eq!(export["status"], "completed", "{export}");
        exports.push(format!("{format} {:.1} s", began.elapsed().as_secs_f64()));
    }
    let mb = size as f64 / 1e6;
    let line = format!(
        "| {:.0} MiB | {} | {:.1} MB/s | {:.2} s | {:.2} s | {:.0} ms | {:.1} MiB | {} | {:.1} MiB |",
        size as f64 / (1 << 20) as f64,
        rows["row_count"],
        mb / total.as_secs_f64(),
        total.as_secs_f64(),
        stored.as_secs_f64(),
        first_seen.as_secs_f64() * 1e3,
        rss,
        exports.join(", "),
        srv.peak_rss_mib(),
    );
    println!("{line}");
    line
}

/// Peak resident memory of this process, MiB.
fn own_peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse::<f64>().ok());
    kib.unwrap_or(0.0) / 1024.0
}

/// The file read from disk (the page cache, after the first pass) by the csv crate alone, then
/// parsed by jobwatch (split, UTF-8 check, ragged rows, inference, the rows rewritten as CSV):
/// three rounds of each, interleaved, the best of each kept (this machine's speed wanders).
fn parse_only(file: &Path, size: u64) -> String {
    let open = || std::io::BufReader::with_capacity(256 << 10, std::fs::File::open(file).unwrap());
    // warm the page cache so both read the same way
    std::io::copy(&mut open(), &mut std::io::sink()).unwrap();
    let (mut split, mut parse) = (0f64, 0f64);
    for _ in 0..3 {
        let began = Instant::now();
        let mut reader = csv::ReaderBuilder::new().has_headers(false).buffer_capacity(64 << 10).from_reader(open());
        let mut record = csv::ByteRecord::new();
        let mut records = 0u64;
        while reader.read_byte_record(&mut record).unwrap() {
            records += 1;
        }
        split = split.max(size as f64 / 1e6 / began.elapsed().as_secs_f64());
        let began = Instant::now();
        let options = jobwatch::imports::parse::ReadOptions::default();
        let parsed = jobwatch::imports::parse::parse_stream(
            jobwatch::imports::parse::FileFormat::Csv,
            &options,
            open(),
            size,
            std::io::BufWriter::new(std::io::sink()),
            &mut |_| {},
        )
        .unwrap();
        parse = parse.max(size as f64 / 1e6 / began.elapsed().as_secs_f64());
        assert_eq!(parsed.row_count + 1, records);
    }
    format!(
        "| {:.0} MiB | {split:.0} MB/s | {parse:.0} MB/s | {:.0} % | {:.0} MiB |",
        size as f64 / (1 << 20) as f64,
        100.0 * parse / split,
        own_peak_rss_mib()
    )
}

#[tokio::main]
async fn main() {
    let server = env("BENCH_IMPORT_URL", "postgres://postgres@127.0.0.1:5432");
    let dir = PathBuf::from(env("BENCH_DIR", "/tmp/jobwatch-bench-import"));
    let bin = env("JOBWATCH_BIN", "target/release/jobwatch");
    std::fs::create_dir_all(&dir).unwrap();
    let mut lines = Vec::new();
    let mut parsing = Vec::new();
    for mib in env("SIZES_MIB", "100,1024").split(',').map(|s| s.trim().parse::<u64>().expect("SIZES_MIB")) {
        let file = dir.join(format!("bench-{mib}mib.csv"));
        let began = Instant::now();
        let size = generate(&file, mib).expect("generate the CSV");
        eprintln!("{} ({size} bytes) ready in {:.1} s", file.display(), began.elapsed().as_secs_f64());
        let parse = parse_only(&file, size);
        println!("{parse}");
        parsing.push(parse);
        lines.push(run(&bin, &server, &dir, &file, size).await);
    }
    println!("\n| file | csv::ByteRecord, split only | jobwatch parse | share | this process's peak RSS |");
    println!("|---|---|---|---|---|");
    for line in parsing {
        println!("{line}");
    }
    println!(
        "\n| file | rows | import end to end | import total | upload answered | first in /jobs/active \
         | peak RSS after import | exports of the dataset | peak RSS after exports |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for line in lines {
        println!("{line}");
    }
}
