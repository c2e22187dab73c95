//! `make bench-queue`: the four scenarios of ../shared/peers/queue-bench, run against
//! jobwatch on the PostgreSQL server at BENCH_QUEUE_URL (default: the peers' cluster on
//! port 5434). Worker phases run the real `jobwatch worker` binary (JOBWATCH_BIN).
//!
//! A: bulk-enqueue N no-op jobs in calls of ENQ_BATCH — jobs/s.
//! B: one worker process at concurrency CONC runs them — jobs/s from first claim to empty queue.
//! C: single enqueues at C_RATE/s for C_SECONDS while a worker runs — enqueue-to-start p50/p99.
//! D: D_N jobs that each report progress D_UPDATES times, concurrency CONC — jobs/s.

use chrono::{DateTime, Utc};
use jobwatch::jobs::JobType;
use jobwatch::jobs::model::NewJob;
use jobwatch::storage::{PgStore, PoolSettings, Queue, Store};
use serde_json::json;
use sqlx::{Connection, Executor};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Bench {
    server: String,
    db_url: String,
    bin: String,
    conc: usize,
}

fn job(metadata: serde_json::Value, at: DateTime<Utc>) -> NewJob {
    NewJob {
        job_type: JobType::Processing,
        created_by: None,
        related_dataset_id: None,
        metadata,
        created_at: at,
        run_at: at,
        priority: 0,
        max_retries: 3,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

impl Bench {
    /// A fresh, migrated database, then CHECKPOINT (as the peers do before each timed phase).
    async fn fresh(&self) -> PgStore {
        let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", self.server)).await.expect("server");
        admin.execute("drop database if exists jobwatch_qbench with (force)").await.unwrap();
        admin.execute("create database jobwatch_qbench").await.unwrap();
        let store =
            PgStore::connect(&self.db_url, &PoolSettings { max_connections: 20, ..Default::default() }).await.unwrap();
        store.migrate_up().await.unwrap();
        admin.execute("checkpoint").await.unwrap();
        store
    }

    fn worker(&self) -> Child {
        Command::new(&self.bin)
            .arg("worker")
            .env("DATABASE_URL", &self.db_url)
            .env("JOBWATCH_CONCURRENCY", self.conc.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start jobwatch worker")
    }

    /// Cheap enough to poll every 2 ms: both probes are partial-index lookups.
    async fn unfinished(store: &PgStore) -> bool {
        sqlx::query_scalar(
            "select exists (select 1 from background_jobs where status = 'pending') \
                 or exists (select 1 from background_jobs where status = 'running')",
        )
        .fetch_one(store.pool())
        .await
        .unwrap()
    }

    async fn count(store: &PgStore, condition: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from background_jobs where {condition}")))
            .fetch_one(store.pool())
            .await
            .unwrap()
    }

    /// Run a worker until no job is unfinished; jobs/s from the first claim to that moment.
    async fn drain(&self, store: &PgStore, n: i64) -> f64 {
        let mut worker = self.worker();
        while Self::unfinished(store).await {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let end = Utc::now();
        let first: DateTime<Utc> =
            sqlx::query_scalar("select min(started_at) from background_jobs").fetch_one(store.pool()).await.unwrap();
        stop(&mut worker);
        let once = Self::count(store, "status = 'completed' and attempt = 1").await;
        assert_eq!(once, n, "every job completed, each claimed once");
        n as f64 / (end - first).as_seconds_f64()
    }

    async fn scenario_a_b(&self, n: usize, batch: usize) -> (f64, f64) {
        let store = self.fresh().await;
        let now = Utc::now();
        let jobs: Vec<NewJob> = (0..n).map(|i| job(json!({"steps": 0, "i": i}), now)).collect();
        let started = Instant::now();
        for chunk in jobs.chunks(batch) {
            store.insert_jobs(chunk).await.unwrap();
        }
        let a = n as f64 / started.elapsed().as_secs_f64();
        let admin = store.pool();
        admin.execute("checkpoint").await.unwrap();
        let b = self.drain(&store, n as i64).await;
        (a, b)
    }

    async fn scenario_c(&self, rate: u64, seconds: u64) -> [f64; 6] {
        let store = Arc::new(self.fresh().await);
        let mut worker = self.worker();
        tokio::time::sleep(Duration::from_millis(500)).await; // the worker is up and listening
        let total = rate * seconds;
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
        let mut tasks = Vec::new();
        for seq in 0..total {
            tick.tick().await;
            let store = store.clone();
            // Dispatch on schedule, not after the previous insert returned.
            tasks.push(tokio::spawn(async move {
                let t0 = Utc::now();
                let job = store.insert_job(&job(json!({"steps": 0, "seq": seq}), t0)).await.unwrap();
                (job.id, t0, Utc::now())
            }));
        }
        let mut acks = Vec::new();
        for t in tasks {
            acks.push(t.await.unwrap());
        }
        while Self::unfinished(&store).await {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop(&mut worker);
        let started: std::collections::HashMap<uuid::Uuid, DateTime<Utc>> =
            sqlx::query_as::<_, (uuid::Uuid, DateTime<Utc>)>("select id, started_at from background_jobs")
                .fetch_all(store.pool())
                .await
                .unwrap()
                .into_iter()
                .collect();
        let ms = |d: chrono::TimeDelta| d.as_seconds_f64() * 1000.0;
        let mut to_start: Vec<f64> = acks.iter().map(|(id, t0, _)| ms(started[id] - *t0)).collect();
        let mut call: Vec<f64> = acks.iter().map(|(_, t0, ack)| ms(*ack - *t0)).collect();
        let mut after_ack: Vec<f64> = acks.iter().map(|(id, _, ack)| ms(started[id] - *ack)).collect();
        for v in [&mut to_start, &mut call, &mut after_ack] {
            v.sort_by(f64::total_cmp);
        }
        [
            percentile(&to_start, 0.5),
            percentile(&to_start, 0.99),
            percentile(&call, 0.5),
            percentile(&call, 0.99),
            percentile(&after_ack, 0.5),
            percentile(&after_ack, 0.99),
        ]
    }

    async fn scenario_d(&self, n: usize, updates: u64) -> f64 {
        let store = self.fresh().await;
        let now = Utc::now();
        // The built-in handler reports progress after each of its `steps`.
        let jobs: Vec<NewJob> = (0..n).map(|i| job(json!({"steps": updates, "step_ms": 0, "i": i}), now)).collect();
        store.insert_jobs(&jobs).await.unwrap();
        store.pool().execute("checkpoint").await.unwrap();
        let rate = self.drain(&store, n as i64).await;
        assert_eq!(Self::count(&store, "progress = 100").await, n as i64, "every job ended at progress 100");
        rate
    }
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

#[tokio::main]
async fn main() {
    let server = std::env::var("BENCH_QUEUE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5434".into());
    let bench = Bench {
        db_url: format!("{server}/jobwatch_qbench"),
        server,
        bin: std::env::var("JOBWATCH_BIN").expect("JOBWATCH_BIN: path to the release jobwatch binary"),
        conc: env("CONC", 10),
    };
    let scenarios = std::env::var("SCENARIOS").unwrap_or_else(|_| "A,B,C,D".into());
    let (n, batch) = (env("N", 100_000usize), env("ENQ_BATCH", 1_000usize));
    println!("jobwatch queue bench: N={n} ENQ_BATCH={batch} CONC={} server={}", bench.conc, bench.server);
    let mut rows = Vec::new();
    if scenarios.contains('A') || scenarios.contains('B') {
        let (a, b) = bench.scenario_a_b(n, batch).await;
        println!("A bulk enqueue {n}: {a:.0} jobs/s");
        println!("B process {n} @{}: {b:.0} jobs/s", bench.conc);
        rows.push(format!("| A bulk enqueue (jobs/s) | {a:.0} |"));
        rows.push(format!("| B process @{} (jobs/s) | {b:.0} |", bench.conc));
    }
    if scenarios.contains('C') {
        let c = bench.scenario_c(env("C_RATE", 200), env("C_SECONDS", 10)).await;
        println!(
            "C enqueue→start p50/p99 {:.1}/{:.1} ms; enqueue call {:.1}/{:.1} ms; commit-ack→start {:.1}/{:.1} ms",
            c[0], c[1], c[2], c[3], c[4], c[5]
        );
        rows.push(format!("| C enqueue→start p50/p99 (ms) | {:.1}/{:.1} |", c[0], c[1]));
        rows.push(format!("| C enqueue call p50/p99 (ms) | {:.1}/{:.1} |", c[2], c[3]));
        rows.push(format!("| C commit-ack→start p50/p99 (ms) | {:.1}/{:.1} |", c[4], c[5]));
    }
    if scenarios.contains('D') {
        let updates = env("D_UPDATES", 10u64);
        let d = bench.scenario_d(env("D_N", 10_000usize), updates).await;
        println!("D progress ×{updates}: {d:.0} jobs/s");
        rows.push(format!("| D progress ×{updates} (jobs/s) | {d:.0} |"));
    }
    println!("\n| jobwatch | |\n|---|---:|");
    for row in rows {
        println!("{row}");
    }
}
