//! `make bench-live`: two `jobwatch serve` nodes on one PostgreSQL database, a `jobwatch
//! worker` running jobs that report progress, and WebSocket clients (see bench/live/README.md).
//!
//! 1. push: CLIENTS sockets over USERS users, half on each node, for PHASE seconds while the
//!    bench changes jobs through node 2's API: a created job → each of its owner's sockets
//!    (p50/p99, node 2's own and node 1's via NOTIFY), a progress report → sockets.
//! 2. poll: the same load with the same clients polling `/jobs/active` every 10 s instead;
//!    3. quiet: with no clients. Database transactions per second of each, so the cost of
//!    pushing and of polling is each phase's excess over the quiet one.
//! 4. idle: IDLE sockets on node 1, its memory per socket.
//! 5. history: HISTORY_JOBS jobs, then `GET /jobs` pages, p50/p99.

mod clients;
mod nodes;

use chrono::Utc;
use clients::{Probes, client, poller};
use jobwatch::storage::{PgStore, PoolSettings, Store};
use jobwatch::users::NewUser;
use nodes::{Node, start_node};
use sqlx::{Connection, Executor};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use uuid::Uuid;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

/// An idle backend reports its transactions up to 10 s late (PostgreSQL 15's statistics flush
/// interval): counts are read only after that long without new clients.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(11)).await;
}

struct Bench {
    db_url: String,
    admin: sqlx::PgPool,
    users: Vec<(Uuid, String)>,
    nodes: [Node; 2],
    http: reqwest::Client,
}

impl Bench {
    async fn transactions(&self) -> i64 {
        sqlx::query_scalar(
            "select (xact_commit + xact_rollback)::bigint from pg_stat_database where datname = current_database()",
        )
        .fetch_one(&self.admin)
        .await
        .unwrap()
    }

    async fn post(&self, token: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
        let res = self
            .http
            .post(format!("{}{path}", self.nodes[1].base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.unwrap()
    }

    /// PHASE seconds of changes through node 2's API: a created job every 20 ms (round-robin
    /// over users), and progress reports on 40 running jobs, one every 2.5 ms.
    async fn drive(&self, probes: &Probes, seconds: u64) {
        let mut progress_jobs = Vec::new();
        // Due tomorrow, so the worker leaves them to the bench.
        let later = (Utc::now() + chrono::Duration::days(1)).to_rfc3339();
        for (_, token) in self.users.iter().take(40) {
            let body = serde_json::json!({"job_type": "validation", "run_at": later});
            let job = self.post(token, "/api/v2/jobs", body).await;
            let id: Uuid = job["id"].as_str().unwrap().parse().unwrap();
            self.post(token, &format!("/api/v2/jobs/{id}/start"), serde_json::json!({})).await;
            progress_jobs.push((id, token.clone(), 0));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let end = Instant::now() + Duration::from_secs(seconds);
        let mut tick = tokio::time::interval(Duration::from_micros(2500));
        let mut n: u64 = 0;
        while Instant::now() < end {
            tick.tick().await;
            n += 1;
            if n.is_multiple_of(8) {
                let (_, token) = &self.users[(n / 8) as usize % self.users.len()];
                probes.created.lock().unwrap().insert(n, Instant::now());
                let body = serde_json::json!({"job_type": "validation", "run_at": later, "metadata": {"probe": n}});
                self.post(token, "/api/v2/jobs", body).await;
            } else if let Some(job) = progress_jobs.iter_mut().filter(|j| j.2 < 99).nth(n as usize % 40) {
                job.2 += 1;
                probes.progress.lock().unwrap().insert((job.0, job.2), Instant::now());
                self.post(&job.1, &format!("/api/v2/jobs/{}/progress", job.0), serde_json::json!({"progress": job.2}))
                    .await;
            }
        }
        for (id, token, _) in progress_jobs {
            self.post(&token, &format!("/api/v2/jobs/{id}/complete"), serde_json::json!({})).await;
        }
    }

    /// Runs `drive` for `seconds`; returns (database transactions/s, node CPU seconds).
    async fn phase(&self, probes: &Probes, seconds: u64) -> (f64, f64) {
        settle().await;
        let (tx0, cpu0) = (self.transactions().await, self.cpu());
        let t = Instant::now();
        self.drive(probes, seconds).await;
        settle().await;
        let (tx1, cpu1) = (self.transactions().await, self.cpu());
        ((tx1 - tx0) as f64 / t.elapsed().as_secs_f64(), cpu1 - cpu0)
    }

    /// Database transactions/s over `seconds` of doing nothing.
    async fn at_rest(&self, seconds: u64) -> f64 {
        settle().await;
        let t0 = self.transactions().await;
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        (self.transactions().await - t0) as f64 / seconds as f64
    }

    fn cpu(&self) -> f64 {
        self.nodes.iter().map(Node::cpu_seconds).sum()
    }
}

async fn seed_users(store: &PgStore, n: usize) -> Vec<(Uuid, String)> {
    let hash = jobwatch::auth::password::hash("bench-password").unwrap();
    let now = Utc::now();
    let mut users = Vec::new();
    for i in 0..n {
        let new = NewUser {
            email: format!("user{i}@bench.test"),
            password_hash: hash.clone(),
            is_admin: i == 0,
            created_at: now,
        };
        let user = store.insert_user(&new).await.unwrap();
        let token = jobwatch::auth::token::generate();
        store
            .insert_token(&jobwatch::auth::token::digest(&token), user.id, now, now + chrono::Duration::days(1))
            .await
            .unwrap();
        users.push((user.id, token));
    }
    users
}

fn row(name: &str, value: String) {
    println!("| {name:<58} | {value:>24} |");
}

#[tokio::main]
async fn main() {
    let server = env("BENCH_LIVE_URL", "postgres://postgres@127.0.0.1:5432".to_string());
    let bin = env("JOBWATCH_BIN", "target/release/jobwatch".to_string());
    let (n_users, n_clients, idle, phase_s, history_jobs) = (
        env("USERS", 100usize),
        env("CLIENTS", 1000usize),
        env("IDLE", 10_000usize),
        env("PHASE", 20u64),
        env("HISTORY_JOBS", 1_000_000i64),
    );
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await.expect("server");
    admin.execute("drop database if exists jobwatch_lbench with (force)").await.unwrap();
    admin.execute("create database jobwatch_lbench").await.unwrap();
    let db_url = format!("{server}/jobwatch_lbench");
    let store = PgStore::connect(&db_url, &PoolSettings::default()).await.unwrap();
    store.migrate_up().await.unwrap();
    let users = seed_users(&store, n_users).await;
    let nodes = [start_node(&bin, &db_url, 18090).await, start_node(&bin, &db_url, 18091).await];
    let admin = sqlx::PgPool::connect(&db_url).await.unwrap();
    let bench = Bench { db_url, admin, users, nodes, http: reqwest::Client::new() };

    // Background: a worker running jobs that report progress 20 times a second.
    let mut worker = Command::new(&bin)
        .arg("worker")
        .env("DATABASE_URL", &bench.db_url)
        .env("JOBWATCH_CONCURRENCY", "20")
        .env("JOBWATCH_NO_MIGRATE", "true")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start jobwatch worker");
    let background = serde_json::json!({"steps": 100, "step_ms": 50});
    sqlx::query(
        "insert into background_jobs (job_type, created_by, metadata) \
         select 'processing', (array_agg(id))[1 + (g % $2)], $3 from users, generate_series(1, $1) g group by g",
    )
    .bind(40 * phase_s as i64)
    .bind(n_users as i64)
    .bind(&background)
    .execute(&bench.admin)
    .await
    .unwrap();

    println!("\n| {:<58} | {:>24} |\n|{}|{}|", "measure", "value", "-".repeat(60), "-".repeat(26));
    // 1. push
    let probes = Arc::new(Probes::default());
    let stop = tokio_util::sync::CancellationToken::new();
    let mut tasks = Vec::new();
    for i in 0..n_clients {
        let (_, token) = &bench.users[i % n_users];
        let on = i / n_users % 2;
        tasks.push(tokio::spawn(client(
            bench.nodes[on].base.clone(),
            token.clone(),
            on == 0,
            probes.clone(),
            stop.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (push_tx, push_cpu) = bench.phase(&probes, phase_s).await;
    stop.cancel();
    for t in tasks {
        let _ = t.await;
    }
    let messages = probes.messages.load(Ordering::Relaxed);
    for (name, samples) in [
        ("created → socket on the node that wrote it, p50 / p99 ms", &probes.here),
        ("created → socket on the other node, p50 / p99 ms", &probes.elsewhere),
        ("progress → socket (coalescing window 100 ms), p50 / p99 ms", &probes.progressed),
    ] {
        let mut s = samples.lock().unwrap().clone();
        let n = s.len();
        row(name, format!("{:.1} / {:.1} (n={n})", percentile(&mut s, 0.5), percentile(&mut s, 0.99)));
    }
    row("messages delivered", messages.to_string());

    // 2. poll, 3. quiet
    let stop = tokio_util::sync::CancellationToken::new();
    let pollers: Vec<_> = (0..n_clients)
        .map(|i| {
            let (_, token) = &bench.users[i % n_users];
            let offset = Duration::from_millis((i as u64 * 10_000) / n_clients as u64);
            tokio::spawn(poller(bench.nodes[i / n_users % 2].base.clone(), token.clone(), offset, stop.clone()))
        })
        .collect();
    let (poll_tx, poll_cpu) = bench.phase(&Probes::default(), phase_s).await;
    stop.cancel();
    for p in pollers {
        let _ = p.await;
    }
    let (quiet_tx, quiet_cpu) = bench.phase(&Probes::default(), phase_s).await;
    row("database transactions/s, quiet (the load alone)", format!("{quiet_tx:.0}"));
    row(&format!("  + {n_clients} live sockets (excess over quiet)"), format!("{:+.0}", push_tx - quiet_tx));
    row(&format!("  + {n_clients} clients polling /active every 10 s"), format!("{:+.0}", poll_tx - quiet_tx));
    let fan_out = (push_cpu - quiet_cpu).max(0.0) * 1e6 / messages.max(1) as f64;
    row("fan-out: nodes' CPU per message pushed (excess over quiet), µs", format!("{fan_out:.1}"));
    row("nodes' CPU s: push / poll / quiet phase", format!("{push_cpu:.1} / {poll_cpu:.1} / {quiet_cpu:.1}"));
    let _ = worker.kill();
    let _ = worker.wait();

    // 4. idle sockets, with empty views: a socket keeps a write buffer as large as the largest
    // message it sent (its snapshot), so the probes' leftover jobs are moved out of view.
    sqlx::query("update background_jobs set status = 'completed', completed_at = now() - interval '1 hour' where status <> 'completed'")
        .execute(&bench.admin)
        .await
        .unwrap();
    let before = bench.nodes[0].rss_kib();
    let stop = tokio_util::sync::CancellationToken::new();
    let quiet = Arc::new(Probes::default());
    let idle_tasks: Vec<_> = (0..idle)
        .map(|i| {
            tokio::spawn(client(
                bench.nodes[0].base.clone(),
                bench.users[i % n_users].1.clone(),
                false,
                quiet.clone(),
                stop.clone(),
            ))
        })
        .collect();
    while quiet.messages.load(Ordering::Relaxed) < idle as u64 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Opening 10 000 sockets at once keeps thousands of handshakes in flight, each with its
    // buffers; the allocator hands those back over its decay time (10 s), then RSS is read.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let after = bench.nodes[0].rss_kib();
    row(
        &format!("memory per idle socket at {idle} sockets, KiB (RSS)"),
        format!("{:.1}", (after - before) as f64 / idle as f64),
    );
    row(
        &format!("at rest: database transactions/s with {idle} open sockets"),
        format!("{:.1}", bench.at_rest(10).await),
    );
    stop.cancel();
    for t in idle_tasks {
        let _ = t.await;
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let pollers: Vec<_> = (0..n_clients)
        .map(|i| {
            let offset = Duration::from_millis((i as u64 * 10_000) / n_clients as u64);
            tokio::spawn(poller(
                bench.nodes[i % 2].base.clone(),
                bench.users[i % n_users].1.clone(),
                offset,
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(10)).await;
    row(
        &format!("at rest: database transactions/s with {n_clients} clients polling"),
        format!("{:.1}", bench.at_rest(10).await),
    );
    stop.cancel();
    for p in pollers {
        let _ = p.await;
    }

    // 5. history
    sqlx::query(
        "insert into background_jobs (job_type, status, progress, created_by, created_at, started_at, completed_at, \
           error_message, metadata) \
         select 'import', s, 100, u.ids[1 + g % array_length(u.ids, 1)], t, t, t + interval '1 minute', \
           case when s = 'failed' then 'row ' || g || ': bad price' end, jsonb_build_object('filename', 'prices-' || g || '.csv') \
         from (select array_agg(id) ids from users) u, generate_series(1, $1) g, \
           lateral (select now() - interval '90 days' * random() - interval '1 hour' t, \
             (array['completed','completed','completed','completed','completed','completed','completed','failed','cancelled','failed'])[1 + (g / 100) % 10] s) x",
    )
    .bind(history_jobs)
    .execute(&bench.admin)
    .await
    .unwrap();
    bench.admin.execute("vacuum analyze background_jobs").await.unwrap();
    let (_, user_token) = &bench.users[1];
    let (_, admin_token) = &bench.users[0];
    for (name, token, query) in [
        ("history: a user's newest page", user_token, "limit=50"),
        ("history: a user's failed or cancelled", user_token, "limit=50&status=failed,cancelled"),
        ("history: a user's search by file name", user_token, "limit=50&q=prices-12"),
        ("history: a user's search matching none", user_token, "limit=50&q=no-such-file"),
        ("history: a user's failed jobs with a search", user_token, "limit=50&status=failed&q=bad%20price"),
        ("history: an admin's every user's page", admin_token, "limit=50&user=all"),
        ("history: an admin's every failed job", admin_token, "limit=50&user=all&status=failed"),
        ("history: an admin's every failed or cancelled job", admin_token, "limit=50&user=all&status=failed,cancelled"),
        ("history: an admin's search of every user's jobs", admin_token, "limit=50&user=all&q=prices-12"),
    ] {
        let mut samples = Vec::new();
        let mut cursor: Option<String> = None;
        for i in 0..300 {
            let mut url = format!("{}/api/v2/jobs?{query}", bench.nodes[0].base);
            if let Some(c) = cursor.as_deref().filter(|_| i % 5 != 0) {
                url.push_str(&format!("&cursor={c}"));
            }
            let t = Instant::now();
            let res = bench.http.get(url).bearer_auth(token).send().await.unwrap();
            assert!(res.status().is_success(), "{name}: {}", res.status());
            let page: serde_json::Value = res.json().await.unwrap();
            samples.push(t.elapsed().as_secs_f64() * 1e3);
            cursor = page["next_cursor"].as_str().map(str::to_owned);
        }
        row(
            &format!("{name}, p50 / p99 ms"),
            format!("{:.2} / {:.2}", percentile(&mut samples, 0.5), percentile(&mut samples, 0.99)),
        );
    }
    println!("\n(history: {history_jobs} jobs; 300 requests each, one at a time, 4 of 5 following next_cursor)");
}
