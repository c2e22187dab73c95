//! PostgreSQL restarted under load: one `jobwatch serve` (API and worker) on a cluster of the
//! test's own, stopped while jobs run and API traffic flows (`-m immediate`, then `-m fast`)
//! and started again a few seconds later each time. Every answer meanwhile is a success or a 503 with Retry-After
//! within a bound; afterwards every job completes, none run twice.

use super::cluster::Cluster;
use super::serve::{Answer, Serve};
use futures_util::StreamExt;
use jobwatch::storage::queue::LEASE_EXPIRED;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_util::sync::CancellationToken;

/// The node's wait for a database connection (`--db-timeout`).
const DB_TIMEOUT: &str = "1s";
/// Longest any request may take, database or not: that wait, and a margin for a loaded machine.
const BOUND: Duration = Duration::from_secs(5);
const JOBS: usize = 400;
/// Four steps of 50 ms: 400 jobs at concurrency 10 run for about eight seconds.
const JOB: &str = r#"{"job_type": "processing", "metadata": {"steps": 4, "step_ms": 50}}"#;
/// How long the database stays away.
const OUTAGE: Duration = Duration::from_secs(3);
const RECOVERY: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restart_under_load_answers_503_then_resumes_and_runs_every_job_once() {
    let Some(cluster) = Cluster::start() else { return };
    let serve = Serve::start(
        &cluster.url(),
        &[
            ("JOBWATCH_DB_TIMEOUT", DB_TIMEOUT),
            // Longer than the outage: a job running through it keeps its lease and is not rerun.
            ("JOBWATCH_LEASE", "10s"),
            ("JOBWATCH_HEARTBEAT", "200ms"),
            ("JOBWATCH_POLL_INTERVAL", "200ms"),
            ("JOBWATCH_RESCUE_INTERVAL", "500ms"),
            // Every GET /jobs/active reads the database.
            ("JOBWATCH_ACTIVE_CACHE", "0s"),
        ],
        BOUND,
    );
    let serve = Arc::new(serve);
    let token = serve.login().await;
    let socket = watch(&serve, &token).await;

    let job: Value = serde_json::from_str(JOB).unwrap();
    let mut created = Vec::new();
    for _ in 0..JOBS {
        let answer = serve.call(Method::POST, "/api/v2/jobs", Some(&token), Some(&job)).await.unwrap();
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
        created.push(answer.body["id"].as_str().unwrap().to_owned());
    }
    let stop_traffic = CancellationToken::new();
    let traffic: Vec<_> =
        (0..4).map(|_| tokio::spawn(traffic(serve.clone(), token.clone(), stop_traffic.clone()))).collect();
    wait_until(&cluster, "some jobs to complete", "status = 'completed'", |n| n >= 30).await;

    // The harshest stop first (backends killed, crash recovery on start), then a fast one
    // (each connection told 57P01 before it closes).
    let first = Instant::now();
    restart(&cluster, &serve, "immediate").await;
    wait_until(&cluster, "more jobs to complete", "status = 'completed'", |n| n >= JOBS as i64 / 3).await;
    let second = Instant::now();
    restart(&cluster, &serve, "fast").await;
    // Traffic goes on after the restart too: connections the pool held across it must not 500.
    wait_until(&cluster, "as many jobs as were enqueued to complete", "status = 'completed'", |n| n >= JOBS as i64)
        .await;
    stop_traffic.cancel();
    let mut answers = Vec::new();
    for task in traffic {
        let (mut got, ids) = task.await.unwrap();
        answers.append(&mut got);
        created.extend(ids);
    }
    let failures: Vec<_> = answers
        .iter()
        .filter(|a| match a {
            Ok(a) => !(a.status.is_success() || (a.status == StatusCode::SERVICE_UNAVAILABLE && a.retry_after)),
            Err(_) => true,
        })
        .collect();
    assert!(failures.is_empty(), "only successes and 503s with Retry-After, within {BOUND:?}: {failures:#?}");
    let unavailable = answers.iter().filter(|a| a.as_ref().is_ok_and(|a| a.status.as_u16() == 503)).count();
    assert!(unavailable > 0, "the traffic met the outage ({} answers)", answers.len());

    // Workers resume by themselves: every job ends completed.
    wait_until(&cluster, "every job to complete", "status <> 'completed'", |n| n == 0).await;
    let mut db = sqlx::PgConnection::connect(&cluster.url()).await.unwrap();
    let ids: Vec<String> = sqlx::query_scalar("select id::text from background_jobs").fetch_all(&mut db).await.unwrap();
    let missing: Vec<&String> = created.iter().filter(|id| !ids.contains(id)).collect();
    assert!(missing.is_empty(), "jobs accepted with 201 but lost: {missing:?}");
    // A job is claimed again only after its lease lapsed (a claim whose answer the outage cut
    // off: the rescue says so and counts a retry), or after its worker handed it back unstarted
    // (its prefetch buffer, while every slot waited on the database: no retry, no error).
    let reruns: Vec<(i32, i32, Option<String>)> = sqlx::query_as(
        "select attempt, retry_count, error_message from background_jobs where attempt <> 1 or retry_count <> 0",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let rescued = reruns.iter().filter(|(_, _, error)| error.as_deref() == Some(LEASE_EXPIRED)).count();
    let unexplained: Vec<_> = reruns
        .iter()
        .filter(|(attempt, retries, error)| match error.as_deref() {
            Some(LEASE_EXPIRED) => *retries != attempt - 1,
            None => *retries != 0,
            Some(_) => true,
        })
        .collect();
    assert!(unexplained.is_empty(), "claims beyond the rescued and the handed back: {unexplained:?}");
    // And a handler ran once per job: the node's own count of runs that completed. Only a job
    // rescued after its run completed (its outcome never written) may have run twice.
    let metrics = serve.metrics().await;
    let completed_runs: usize = metrics
        .lines()
        .filter(|l| l.starts_with("jobwatch_job_runs_total{") && l.contains(r#"outcome="completed""#))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<usize>().unwrap())
        .sum();
    assert!(
        (ids.len()..=ids.len() + rescued).contains(&completed_runs),
        "{completed_runs} completed runs for {} jobs ({rescued} rescued)",
        ids.len()
    );
    let other_runs: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("jobwatch_job_runs_total{") && !l.contains(r#"outcome="completed""#))
        .collect();
    assert!(other_runs.iter().all(|l| l.ends_with(" 0")), "runs that did not complete: {other_runs:?}");
    let handed_back = reruns.len() - rescued;
    eprintln!(
        "{} answers, {unavailable} of them 503; {} jobs, {rescued} rescued, {handed_back} handed back",
        answers.len(),
        ids.len()
    );

    // The live socket stayed open and got a fresh snapshot each time the node listened again.
    let deadline = Instant::now() + RECOVERY;
    while !socket.lock().unwrap().resynced_within(second, Instant::now()) {
        assert!(!socket.lock().unwrap().closed, "the live socket closed during the outage");
        assert!(Instant::now() < deadline, "no resync snapshot after the restart");
        // The poll of a deadline-bounded wait: the socket's reader runs on its own task.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(socket.lock().unwrap().resynced_within(first, second), "no resync snapshot after the first restart");
}

/// Stops the cluster with `mode`, checks the node says it is not ready, starts the cluster
/// again after [`OUTAGE`] and waits until the node is ready again.
async fn restart(cluster: &Cluster, serve: &Serve, mode: &str) {
    cluster.stop(mode);
    let ready =
        serve.call(Method::GET, "/readyz", None, None).await.expect("readyz answers while the database is away");
    assert!(ready.status == StatusCode::SERVICE_UNAVAILABLE && ready.retry_after, "not ready ({mode}): {ready:?}");
    // Real time is the subject: the outage lasts while traffic keeps coming.
    tokio::time::sleep(OUTAGE).await;
    cluster.start_again();
    let deadline = Instant::now() + RECOVERY;
    while serve.call(Method::GET, "/readyz", None, None).await.map(|a| a.status) != Ok(StatusCode::OK) {
        assert!(Instant::now() < deadline, "not ready again after the restart ({mode})");
        // The poll of a deadline-bounded wait: the node reconnects on its own time.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// GET /jobs/active and POST /jobs in turn until `stop`; every answer, and the ids created.
async fn traffic(
    serve: Arc<Serve>,
    token: String,
    stop: CancellationToken,
) -> (Vec<Result<Answer, String>>, Vec<String>) {
    let job: Value = json!({"job_type": "processing", "metadata": {"steps": 1, "step_ms": 10}});
    let (mut answers, mut ids) = (Vec::new(), Vec::new());
    while !stop.is_cancelled() {
        answers.push(serve.call(Method::GET, "/api/v2/jobs/active", Some(&token), None).await);
        let posted = serve.call(Method::POST, "/api/v2/jobs", Some(&token), Some(&job)).await;
        if let Ok(a) = &posted
            && a.status == StatusCode::CREATED
        {
            ids.push(a.body["id"].as_str().unwrap().to_owned());
        }
        answers.push(posted);
    }
    (answers, ids)
}

/// What a live socket saw: when snapshots came, with their reason, and whether it closed.
#[derive(Default)]
struct Seen {
    snapshots: Vec<(Instant, String)>,
    closed: bool,
}

impl Seen {
    fn resynced_within(&self, from: Instant, to: Instant) -> bool {
        self.snapshots.iter().any(|(at, reason)| (from..to).contains(at) && reason == "resync")
    }
}

/// Opens GET /jobs/ws and reads it on a task of its own.
async fn watch(serve: &Serve, token: &str) -> Arc<Mutex<Seen>> {
    let mut request = format!("ws://{}/api/v2/jobs/ws", serve.addr).into_client_request().unwrap();
    let protocols = format!("jobwatch.v1, jobwatch.bearer.{token}");
    request.headers_mut().insert("sec-websocket-protocol", protocols.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.expect("the live socket opens");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let reader = seen.clone();
    tokio::spawn(async move {
        while let Some(Ok(message)) = ws.next().await {
            let Message::Text(text) = message else { continue };
            let message: Value = serde_json::from_str(&text).unwrap();
            if message["type"] == "snapshot" {
                reader.lock().unwrap().snapshots.push((Instant::now(), message["reason"].as_str().unwrap().to_owned()));
            }
        }
        reader.lock().unwrap().closed = true;
    });
    seen
}

/// Waits until the number of jobs matching `condition` passes `done`.
async fn wait_until(cluster: &Cluster, what: &str, condition: &str, done: impl Fn(i64) -> bool) {
    let deadline = Instant::now() + RECOVERY;
    let sql = format!("select count(*) from background_jobs where {condition}");
    loop {
        // A connection per look: the cluster restarts under this test.
        if let Ok(mut db) = sqlx::PgConnection::connect(&cluster.url()).await {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str())).fetch_one(&mut db).await.unwrap();
            if done(n) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {n}");
        }
        // The poll of a deadline-bounded wait: the worker runs jobs on its own time.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
