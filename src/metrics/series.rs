//! The names of every series `GET /metrics` shows, their help text and label sets, in one
//! place (docs/metrics.md lists the same). Counters get `_total` appended when rendered.

use prometheus_client::encoding::EncodeLabelSet;

/// Jobs claimed by this node's worker.
pub const JOB_CLAIMS: &str = "jobwatch_job_claims";
/// Handler runs this node's worker ended, by what came of them.
pub const JOB_RUNS: &str = "jobwatch_job_runs";
/// How long a handler ran.
pub const JOB_RUN_SECONDS: &str = "jobwatch_job_run_seconds";
/// From when a job was due (created, or its `run_at` if later) to its start.
pub const JOB_WAIT_SECONDS: &str = "jobwatch_job_wait_seconds";
/// Jobs whose lease expired, rescued by this node.
pub const LEASE_RESCUES: &str = "jobwatch_lease_rescues";
/// Request durations by matched route.
pub const HTTP_REQUEST_SECONDS: &str = "jobwatch_http_request_duration_seconds";
/// Bytes of uploads stored by this node.
pub const IMPORT_BYTES: &str = "jobwatch_import_bytes";
/// Rows of datasets imported by this node's worker.
pub const IMPORT_ROWS: &str = "jobwatch_import_rows";
/// Live sockets open on this node now.
pub const WEBSOCKET_CLIENTS: &str = "jobwatch_websocket_clients";
/// Every node's pending and running jobs, read from the database when scraped.
pub const JOBS: &str = "jobwatch_jobs";
/// Age of each type's oldest pending job, read from the database when scraped.
pub const OLDEST_PENDING_SECONDS: &str = "jobwatch_queue_oldest_pending_seconds";
/// Scrapes whose database read failed (the database series then keep their last values).
pub const SCRAPE_ERRORS: &str = "jobwatch_metrics_database_errors";

/// Series of one job type.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeLabels {
    pub job_type: &'static str,
}

/// A run's end: `completed`, `failed`, `cancelled`, `retried` (a retryable failure, queued
/// again after its backoff) or `released` (handed back on shutdown, not counted as a try).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunLabels {
    pub job_type: &'static str,
    pub outcome: &'static str,
}

/// A job count by type and status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub job_type: &'static str,
    pub status: &'static str,
}

/// `route` is the route's pattern (`/api/v2/jobs/{id}`), never the raw URL, so ids do not
/// multiply the series; requests no route matched (the page, unknown paths) are `unmatched`.
/// `status` is the class: `2xx`, `4xx`, …
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: &'static str,
}

/// The label of requests no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Seconds: 5 ms to 16 s, doubling; requests are short, and slower ones all look alike.
pub fn http_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.005, 2.0, 13)
}

/// Seconds: jobs last from milliseconds (no-op jobs) to hours (large imports).
pub const JOB_BUCKETS: [f64; 14] =
    [0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];

/// The status class of an HTTP status code, as a label.
pub fn status_class(code: u16) -> &'static str {
    match code / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_fall_into_their_class() {
        assert_eq!(status_class(101), "1xx");
        assert_eq!(status_class(200), "2xx");
        assert_eq!(status_class(304), "3xx");
        assert_eq!(status_class(404), "4xx");
        assert_eq!(status_class(503), "5xx");
    }
}
