//! Command line and environment: every setting is a flag with an environment variable,
//! documented by `jobwatch --help` and `jobwatch <command> --help`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The heading of the options `jobs` does not use: it talks to the HTTP API, not the database.
const DATABASE: &str = "Database and files (not used by `jobs`)";

#[derive(Debug, Parser)]
#[command(name = "jobwatch", version, about = "Durable background jobs you can watch live")]
pub struct Cli {
    /// Database: `sqlite://PATH` (embedded, created if missing) or `postgres://…`.
    /// Default: `sqlite://<data dir>/jobwatch.db`.
    #[arg(long, env = "DATABASE_URL", global = true, help_heading = DATABASE, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Where jobwatch keeps its files (the default SQLite database among them).
    #[arg(long, env = "JOBWATCH_DATA_DIR", default_value = "./data", global = true, help_heading = DATABASE)]
    pub data_dir: PathBuf,

    /// Where uploaded files, parsed rows and exports are kept: empty for a directory
    /// `objects` under the data dir, or `s3://BUCKET[/PREFIX]` for an S3-compatible store
    /// configured by the standard `AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_ALLOW_HTTP` variables.
    #[arg(long, env = "JOBWATCH_OBJECT_STORE", global = true, help_heading = DATABASE)]
    pub object_store: Option<String>,

    /// Most database connections this process opens.
    #[arg(long, env = "JOBWATCH_DB_MAX_CONNECTIONS", default_value_t = 16, global = true, help_heading = DATABASE)]
    pub db_max_connections: u32,

    /// How long to wait for a database connection (or, on SQLite, a lock) before failing.
    #[arg(long, env = "JOBWATCH_DB_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration, global = true, help_heading = DATABASE)]
    pub db_timeout: Duration,

    /// Log format on stderr; the level comes from RUST_LOG (default `info`; `warn` for `jobs`).
    #[arg(long, env = "JOBWATCH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Send traces (each request's and job's spans) to this OpenTelemetry collector, as OTLP over
    /// HTTP/protobuf: its base URL (`http://collector:4318`; `/v1/traces` is appended). Off when unset.
    #[arg(long, env = "JOBWATCH_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("jobwatch.db").display()),
        }
    }

    /// Logs when RUST_LOG says nothing: a service's `info`; only warnings for `jobs`, whose
    /// output is for a person.
    pub fn default_log_level(&self) -> &'static str {
        match self.command {
            Command::Jobs(_) => "warn",
            _ => "info,sqlx=warn",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API, and workers unless `--no-workers`.
    // Boxed: its many settings would make every other command's value as large.
    Serve(Box<ServeArgs>),
    /// Run workers only (no HTTP).
    Worker(WorkerCommandArgs),
    /// Apply or roll back database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage cron schedules that create jobs.
    Schedule {
        #[command(subcommand)]
        action: ScheduleAction,
    },
    /// Print the OpenAPI document (the one served at /api/v2/openapi.json) and exit.
    Openapi,
    /// Watch and list your jobs through the HTTP API of a running service (no database needed).
    Jobs(JobsArgs),
}

/// `jobwatch jobs …`: a client of the HTTP API, not of the database.
#[derive(Debug, Args)]
pub struct JobsArgs {
    /// The service: `http://HOST:PORT` or `https://…` (the address `jobwatch serve` prints).
    #[arg(long, env = "JOBWATCH_URL", default_value = "http://127.0.0.1:8080", global = true)]
    pub url: String,

    /// A login token (the `access_token` of `POST /api/v2/auth/login`). Without one, on a
    /// terminal, jobwatch asks for your email and password (and logs out when done); elsewhere it
    /// fails. Prefer the variable: a flag shows in the process list.
    #[arg(long, env = "JOBWATCH_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,

    #[command(subcommand)]
    pub action: JobsAction,
}

#[derive(Debug, Subcommand)]
pub enum JobsAction {
    /// Follow a job until it ends: a progress bar on a terminal, one line per change elsewhere,
    /// then one line with the outcome.
    ///
    /// Exit status: 0 the job completed; 1 it failed or was cancelled; 2 it could not be watched
    /// (a usage error, no token or a refused one, no such job, the service unreachable); 130
    /// interrupted (Ctrl-C stops watching, not the job).
    Watch {
        /// The job's id.
        id: uuid::Uuid,
        /// Print the finished job as JSON on stdout (the progress goes to stderr).
        #[arg(long)]
        json: bool,
    },
    /// List your jobs, newest first: id, type, status, progress, created, file name.
    List {
        /// Only these statuses (comma-separated): `failed,cancelled`.
        #[arg(long, value_delimiter = ',')]
        status: Vec<crate::jobs::JobStatus>,
        /// Only these job types (comma-separated): `import,export`.
        #[arg(long = "type", value_delimiter = ',')]
        job_type: Vec<crate::jobs::JobType>,
        /// How many jobs, 1–200.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,
        /// Only active jobs: pending and running, and those finished in the last 5 minutes.
        #[arg(long)]
        active: bool,
        /// Print the jobs as a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScheduleAction {
    /// Create a schedule (applies pending migrations first).
    Add {
        #[arg(long)]
        name: String,
        /// Standard cron: 5 fields, or 6 with seconds first; `@hourly` etc.
        #[arg(long)]
        cron: String,
        #[arg(long)]
        job_type: crate::jobs::JobType,
        /// IANA time zone the pattern is read in.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// The jobs' metadata, a JSON object.
        #[arg(long, value_parser = parse_json)]
        metadata: Option<serde_json::Value>,
        #[arg(long)]
        priority: Option<i32>,
        #[arg(long)]
        max_retries: Option<i32>,
    },
    /// List schedules.
    List,
    /// Delete a schedule by id or name.
    Rm { id_or_name: String },
}

fn parse_json(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one; the chosen address is printed).
    #[arg(long, env = "JOBWATCH_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Do not run migrations at start-up (when a deploy step runs `jobwatch migrate up`).
    #[arg(long, env = "JOBWATCH_NO_MIGRATE")]
    pub no_migrate: bool,

    /// How long a login token stays valid.
    #[arg(long, env = "JOBWATCH_TOKEN_TTL", default_value = "7d", value_parser = humantime::parse_duration)]
    pub token_ttl: Duration,

    /// How long a node may answer a repeated `GET /jobs/active` from memory (0 turns it off).
    /// Writes through this node show at once; changes made elsewhere within this time.
    #[arg(long, env = "JOBWATCH_ACTIVE_CACHE", default_value = "1s", value_parser = humantime::parse_duration)]
    pub active_cache: Duration,

    /// A running job that shows no sign of life (progress, stage, lease renewal) for this long is
    /// shown as `stalled` (its worker may be stuck or gone; rescue follows when its lease ends).
    #[arg(long, env = "JOBWATCH_STALLED_AFTER", default_value = "20s", value_parser = humantime::parse_duration)]
    pub stalled_after: Duration,

    /// Origins (`https://app.example.com`, comma-separated) besides the service's own whose pages
    /// may act with a user's session cookie; cookie requests from any other origin get 403.
    #[arg(long = "allowed-origin", env = "JOBWATCH_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Most live sockets (`GET /jobs/ws`) one user may hold open on one node; one more gets 429.
    #[arg(long, env = "JOBWATCH_WS_PER_USER", default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..))]
    pub ws_per_user: u16,

    /// Largest request body accepted, in bytes (larger gets 413).
    #[arg(long, env = "JOBWATCH_MAX_BODY_BYTES", default_value_t = crate::http::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// Largest file an upload may send, in bytes (larger gets 413).
    #[arg(long, env = "JOBWATCH_MAX_UPLOAD_BYTES", default_value_t = 1 << 30)]
    pub max_upload_bytes: u64,

    /// Email of the admin created on first start, when there are no users yet.
    #[arg(long, env = "JOBWATCH_ADMIN_EMAIL", default_value = "admin@localhost")]
    pub admin_email: String,

    /// Password of that admin; generated and printed when not given.
    #[arg(long, env = "JOBWATCH_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// A token `GET /metrics` requires (`Authorization: Bearer <token>`); without one it is
    /// open to anyone who can reach the port: keep it behind your network then.
    #[arg(long, env = "JOBWATCH_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// How long `GET /metrics` reuses what it read from the database (queue depth), so many
    /// scrapers cost one query.
    #[arg(long, env = "JOBWATCH_METRICS_CACHE", default_value = "5s", value_parser = humantime::parse_duration)]
    pub metrics_cache: Duration,

    /// Serve the API only; run no workers in this process.
    #[arg(long, env = "JOBWATCH_NO_WORKERS")]
    pub no_workers: bool,

    #[command(flatten)]
    pub worker: WorkerArgs,
}

#[derive(Debug, Args)]
pub struct WorkerCommandArgs {
    /// Do not run migrations at start-up.
    #[arg(long, env = "JOBWATCH_NO_MIGRATE")]
    pub no_migrate: bool,

    #[command(flatten)]
    pub worker: WorkerArgs,
}

/// The worker runtime's settings (see `worker::WorkerSettings` for what each one does).
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Jobs one worker process runs at once.
    #[arg(long, env = "JOBWATCH_CONCURRENCY", default_value_t = 10)]
    pub concurrency: usize,

    /// Per-type limit within a worker, `TYPE=N`; repeat, or comma-separate in the variable.
    #[arg(long = "type-limit", env = "JOBWATCH_TYPE_LIMITS", value_delimiter = ',',
          value_parser = crate::worker::settings::parse_type_limit)]
    pub type_limits: Vec<(crate::jobs::JobType, usize)>,

    /// How long a claim holds without renewal; a dead worker's jobs come back after this.
    #[arg(long, env = "JOBWATCH_LEASE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub lease: Duration,

    /// How often leases are renewed, progress written and cancel requests checked.
    #[arg(long, env = "JOBWATCH_HEARTBEAT", default_value = "1s", value_parser = humantime::parse_duration)]
    pub heartbeat: Duration,

    /// Fallback poll for due jobs when no notification arrives (delayed jobs, lost signals).
    #[arg(long, env = "JOBWATCH_POLL_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub poll: Duration,

    /// First retry delay; doubles per retry, with jitter.
    #[arg(long, env = "JOBWATCH_BACKOFF_BASE", default_value = "1s", value_parser = humantime::parse_duration)]
    pub backoff_base: Duration,

    /// Longest retry delay.
    #[arg(long, env = "JOBWATCH_BACKOFF_CAP", default_value = "1h", value_parser = humantime::parse_duration)]
    pub backoff_cap: Duration,

    /// On SIGINT/SIGTERM, how long requests and running jobs get to finish; unfinished
    /// jobs are then handed back to `pending`.
    #[arg(long, env = "JOBWATCH_SHUTDOWN_GRACE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,

    /// Finished jobs older than this are deleted.
    #[arg(long, env = "JOBWATCH_RETENTION", default_value = "7d", value_parser = humantime::parse_duration)]
    pub retention: Duration,

    /// How often jobs with expired leases are rescued.
    #[arg(long, env = "JOBWATCH_RESCUE_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub rescue_interval: Duration,

    /// How often finished jobs past retention are pruned.
    #[arg(long, env = "JOBWATCH_PRUNE_INTERVAL", default_value = "1m", value_parser = humantime::parse_duration)]
    pub prune_interval: Duration,

    /// How often due cron ticks are turned into jobs (the finest useful cron resolution).
    #[arg(long, env = "JOBWATCH_SCHEDULE_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub schedule_interval: Duration,

    #[command(flatten)]
    pub mail: MailArgs,

    #[command(flatten)]
    pub webhooks: WebhookArgs,
}

/// The heading of the webhook options.
const WEBHOOKS: &str = "Webhooks (docs/webhooks.md)";

/// How webhooks are delivered.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Let webhook endpoints be on loopback, private, link-local, unique-local, shared (CGNAT)
    /// and cloud metadata addresses, refused otherwise when registered and when delivered.
    /// For endpoints on your own network only: any user could then reach them.
    #[arg(long, env = "JOBWATCH_WEBHOOK_ALLOW_PRIVATE", help_heading = WEBHOOKS)]
    pub webhook_allow_private: bool,

    /// One delivery's whole time (connect, send, read the answer); slower counts as a failure, retried.
    #[arg(long, env = "JOBWATCH_WEBHOOK_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration, help_heading = WEBHOOKS)]
    pub webhook_timeout: Duration,
}

impl WebhookArgs {
    pub fn settings(&self) -> crate::webhooks::WebhookSettings {
        crate::webhooks::WebhookSettings {
            allow_private: self.webhook_allow_private,
            timeout: self.webhook_timeout,
            connect_timeout: self.webhook_timeout.min(Duration::from_secs(5)),
        }
    }
}

/// The heading of the email options.
const MAIL: &str = "Email notifications (docs/notifications.md)";

/// How workers send the digest emails users opt into.
#[derive(Debug, Clone, Args)]
pub struct MailArgs {
    /// SMTP server: `smtp://host:587` (STARTTLS when offered; `?tls=required` to insist; needed
    /// with credentials),
    /// `smtps://user:password@host:465` (TLS from the start). Unset: each email is written as a
    /// `.eml` file under `<data dir>/mail/` instead.
    #[arg(long, env = "JOBWATCH_SMTP_URL", hide_env_values = true, help_heading = MAIL)]
    pub smtp_url: Option<String>,

    /// The `From:` address of every email.
    #[arg(long, env = "JOBWATCH_MAIL_FROM", default_value = "jobwatch <jobwatch@localhost>", help_heading = MAIL)]
    pub mail_from: String,

    /// Where users reach the page, for the links in emails.
    #[arg(long, env = "JOBWATCH_PUBLIC_URL", default_value = "http://127.0.0.1:8080", help_heading = MAIL)]
    pub public_url: String,

    /// A user's finished jobs are mailed once none finished for this long (a burst is one email)…
    #[arg(long, env = "JOBWATCH_DIGEST_QUIET", default_value = "10s", value_parser = humantime::parse_duration, help_heading = MAIL)]
    pub digest_quiet: Duration,

    /// …or once the first of them has waited this long, whichever comes first.
    #[arg(long, env = "JOBWATCH_DIGEST_MAX_WAIT", default_value = "1m", value_parser = humantime::parse_duration, help_heading = MAIL)]
    pub digest_max_wait: Duration,
}

impl MailArgs {
    /// Where mail goes and what it says of itself; files under `data_dir` without a server.
    pub fn mail(&self, data_dir: &std::path::Path) -> anyhow::Result<crate::notify::Mail> {
        let mailer = match &self.smtp_url {
            Some(url) => crate::notify::Mailer::smtp(url)?,
            None => crate::notify::Mailer::files(data_dir.join("mail")),
        };
        self.mail_from.parse::<lettre::message::Mailbox>().map_err(|e| anyhow::anyhow!("--mail-from: {e}"))?;
        let settings =
            crate::notify::MailSettings { from: self.mail_from.clone(), public_url: self.public_url.clone() };
        Ok(crate::notify::Mail { mailer, settings })
    }
}

impl WorkerArgs {
    pub fn settings(&self) -> anyhow::Result<crate::worker::WorkerSettings> {
        anyhow::ensure!(self.concurrency > 0, "--concurrency must be at least 1");
        anyhow::ensure!(self.heartbeat < self.lease, "--heartbeat must be shorter than --lease");
        // Bounds keep every computed time (lease end, retry time) far inside what both
        // databases store.
        anyhow::ensure!(self.lease <= Duration::from_secs(24 * 3600), "--lease must be at most 24h");
        anyhow::ensure!(self.backoff_cap <= Duration::from_secs(30 * 24 * 3600), "--backoff-cap must be at most 30d");
        anyhow::ensure!(self.backoff_base <= self.backoff_cap, "--backoff-base must not exceed --backoff-cap");
        let day = Duration::from_secs(24 * 3600);
        anyhow::ensure!(self.mail.digest_quiet <= day, "--digest-quiet must be at most 24h");
        anyhow::ensure!(self.mail.digest_max_wait <= day, "--digest-max-wait must be at most 24h");
        anyhow::ensure!(
            self.webhooks.webhook_timeout <= Duration::from_secs(300),
            "--webhook-timeout must be at most 5m"
        );
        // Pruned jobs must have been folded into the admins' minute counts first.
        anyhow::ensure!(self.retention >= Duration::from_secs(3600), "--retention must be at least 1h");
        Ok(crate::worker::WorkerSettings {
            concurrency: self.concurrency,
            type_limits: self.type_limits.iter().copied().collect(),
            lease: self.lease,
            heartbeat: self.heartbeat,
            poll: self.poll,
            backoff: crate::worker::Backoff { base: self.backoff_base, cap: self.backoff_cap },
            shutdown_grace: self.shutdown_grace,
            retention: self.retention,
            rescue_every: self.rescue_interval,
            prune_every: self.prune_interval,
            schedule_every: self.schedule_interval,
            digest: crate::notify::DigestTiming { quiet: self.mail.digest_quiet, max_wait: self.mail.digest_max_wait },
            // Finer than the quiet time is no use; coarser than a second delays every digest.
            digest_every: self.mail.digest_quiet.clamp(Duration::from_millis(100), Duration::from_secs(2)),
            webhook_every: Duration::from_millis(500),
            // Often enough to keep the unfolded tail (read from the index) a few minutes long.
            rollup_every: Duration::from_secs(30),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the newest migration, or every migration newer than `--to`.
    Down {
        /// Keep migrations up to this version (0 rolls back everything).
        #[arg(long)]
        to: Option<i64>,
    },
    /// List applied migrations.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create a user (applies pending migrations first).
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, env = "JOBWATCH_USER_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long)]
        admin: bool,
    },
}
