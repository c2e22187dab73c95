//! Prometheus metrics, `GET /metrics`: what this node did (counters and histograms, one set
//! per node, each node scraped), and what the shared database holds now (gauges read when
//! scraped, cached briefly: `database.rs`). The series' names are in `series.rs`.
//!
//! Each app has its own registry, not a process-wide recorder, so the tests' many apps in one
//! process each count only their own work.

mod database;
pub mod http;
pub mod routes;
pub mod series;

use crate::jobs::{Action, Job, JobType};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use series::{HttpLabels, RunLabels, StateLabels, TypeLabels};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// How `GET /metrics` is served.
#[derive(Debug, Clone, Default)]
pub struct MetricsSettings {
    /// When set, a scrape must send `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// How long the database's gauges are reused between scrapes (zero: read at every scrape).
    pub database_cache: Duration,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// This node's series; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Series>,
}

struct Series {
    settings: MetricsSettings,
    /// When the database's gauges were last read (see `database.rs`); held while reading, so
    /// scrapes that arrive together make one read.
    database_read: tokio::sync::Mutex<Option<std::time::Instant>>,
    registry: Registry,
    claims: Family<TypeLabels, Counter>,
    runs: Family<RunLabels, Counter>,
    run_seconds: Histograms<TypeLabels>,
    wait_seconds: Histograms<TypeLabels>,
    rescues: Counter,
    http: Histograms<HttpLabels>,
    import_bytes: Counter,
    import_rows: Counter,
    websocket_clients: Gauge,
    jobs: Family<StateLabels, Gauge>,
    oldest_pending: Family<TypeLabels, Gauge<f64, AtomicU64>>,
    scrape_errors: Counter,
}

fn job_histogram() -> Histogram {
    Histogram::new(series::JOB_BUCKETS)
}

fn http_histogram() -> Histogram {
    Histogram::new(series::http_buckets())
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(MetricsSettings::default())
    }
}

impl Metrics {
    pub fn new(settings: MetricsSettings) -> Self {
        let mut s = Series {
            settings,
            database_read: tokio::sync::Mutex::new(None),
            claims: Family::default(),
            runs: Family::default(),
            run_seconds: Family::new_with_constructor(job_histogram as fn() -> Histogram),
            wait_seconds: Family::new_with_constructor(job_histogram as fn() -> Histogram),
            rescues: Counter::default(),
            http: Family::new_with_constructor(http_histogram as fn() -> Histogram),
            import_bytes: Counter::default(),
            import_rows: Counter::default(),
            websocket_clients: Gauge::default(),
            jobs: Family::default(),
            oldest_pending: Family::default(),
            scrape_errors: Counter::default(),
            registry: Registry::default(),
        };
        let registry = &mut s.registry;
        registry.register(series::JOB_CLAIMS, "Jobs claimed by this node's worker", s.claims.clone());
        registry.register(series::JOB_RUNS, "Handler runs ended on this node, by outcome", s.runs.clone());
        registry.register(series::JOB_RUN_SECONDS, "How long each handler ran", s.run_seconds.clone());
        registry.register(
            series::JOB_WAIT_SECONDS,
            "From when a job was due to when a worker started it",
            s.wait_seconds.clone(),
        );
        registry.register(series::LEASE_RESCUES, "Jobs with expired leases rescued by this node", s.rescues.clone());
        registry.register(series::HTTP_REQUEST_SECONDS, "HTTP request durations by route", s.http.clone());
        registry.register(series::IMPORT_BYTES, "Upload bytes stored by this node", s.import_bytes.clone());
        registry.register(series::IMPORT_ROWS, "Dataset rows imported by this node", s.import_rows.clone());
        registry.register(series::WEBSOCKET_CLIENTS, "Live sockets open on this node", s.websocket_clients.clone());
        registry.register(series::JOBS, "Pending and running jobs in the database", s.jobs.clone());
        registry.register(
            series::OLDEST_PENDING_SECONDS,
            "Age of the oldest pending job of each type (0: none)",
            s.oldest_pending.clone(),
        );
        registry.register(series::SCRAPE_ERRORS, "Scrapes whose database read failed", s.scrape_errors.clone());
        Metrics { inner: Arc::new(s) }
    }

    /// A worker claimed `job` (just started it: `started_at` is set).
    pub fn job_claimed(&self, job: &Job) {
        let labels = TypeLabels { job_type: job.job_type.as_str() };
        self.inner.claims.get_or_create(&labels).inc();
        if let Some(started) = job.started_at {
            let due = job.run_at.max(job.created_at);
            let wait = (started - due).to_std().unwrap_or_default();
            self.inner.wait_seconds.get_or_create(&labels).observe(wait.as_secs_f64());
        }
    }

    /// A handler of `job_type` ran for `ran` and its worker decided `action`.
    pub fn job_ran(&self, job_type: JobType, ran: Duration, action: &Action) {
        self.inner.run_seconds.get_or_create(&TypeLabels { job_type: job_type.as_str() }).observe(ran.as_secs_f64());
        if let Some(outcome) = outcome(action) {
            self.inner.runs.get_or_create(&RunLabels { job_type: job_type.as_str(), outcome }).inc();
        }
    }

    pub fn settings(&self) -> &MetricsSettings {
        &self.inner.settings
    }

    pub fn leases_rescued(&self, jobs: u64) {
        self.inner.rescues.inc_by(jobs);
    }

    pub fn http_request(&self, labels: HttpLabels, took: Duration) {
        self.inner.http.get_or_create(&labels).observe(took.as_secs_f64());
    }

    pub fn upload_stored(&self, bytes: u64) {
        self.inner.import_bytes.inc_by(bytes);
    }

    pub fn rows_imported(&self, rows: u64) {
        self.inner.import_rows.inc_by(rows);
    }

    /// Prometheus text (OpenMetrics) of every series, after `websocket_clients` is set.
    pub fn render(&self, websocket_clients: usize) -> String {
        self.inner.websocket_clients.set(i64::try_from(websocket_clients).unwrap_or(i64::MAX));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.inner.registry).expect("writing to a String");
        out
    }
}

/// What a run's `action` is counted as in `jobwatch_job_runs_total` (see [`RunLabels`]).
fn outcome(action: &Action) -> Option<&'static str> {
    match action {
        Action::Complete => Some("completed"),
        Action::Fail(_) => Some("failed"),
        Action::Cancel => Some("cancelled"),
        Action::Requeue { count_retry: true, .. } => Some("retried"),
        Action::Requeue { count_retry: false, .. } => Some("released"),
        Action::Start | Action::Progress(_) | Action::Retry => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_counted_by_its_outcome() {
        let m = Metrics::default();
        m.job_ran(JobType::Import, Duration::from_millis(30), &Action::Complete);
        m.job_ran(JobType::Import, Duration::from_millis(30), &Action::Fail("no".into()));
        let now = chrono::Utc::now();
        m.job_ran(
            JobType::Export,
            Duration::from_secs(2),
            &Action::Requeue { run_at: now, error: None, count_retry: true },
        );
        let text = m.render(3);
        assert!(text.contains(r#"jobwatch_job_runs_total{job_type="import",outcome="completed"} 1"#), "{text}");
        assert!(text.contains(r#"jobwatch_job_runs_total{job_type="import",outcome="failed"} 1"#), "{text}");
        assert!(text.contains(r#"jobwatch_job_runs_total{job_type="export",outcome="retried"} 1"#), "{text}");
        assert!(text.contains(r#"jobwatch_job_run_seconds_count{job_type="import"} 2"#), "{text}");
        assert!(text.contains(r#"jobwatch_job_run_seconds_bucket{le="2.5",job_type="export"} 1"#), "{text}");
        assert!(text.contains("jobwatch_websocket_clients 3"), "{text}");
    }

    #[test]
    fn shutdown_hand_backs_are_not_retries() {
        let now = chrono::Utc::now();
        assert_eq!(outcome(&Action::Requeue { run_at: now, error: None, count_retry: false }), Some("released"));
        assert_eq!(outcome(&Action::Cancel), Some("cancelled"));
        assert_eq!(outcome(&Action::Progress(5)), None);
    }
}
