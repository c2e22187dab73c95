//! Command line and environment: every setting is a flag with an environment variable,
//! documented by `jobwatch --help` and `jobwatch <command> --help`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "jobwatch", version, about = "Durable background jobs you can watch live")]
pub struct Cli {
    /// Database: `sqlite://PATH` (embedded, created if missing) or `postgres://…`.
    /// Default: `sqlite://<data dir>/jobwatch.db`.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Where jobwatch keeps its files (the default SQLite database among them).
    #[arg(long, env = "JOBWATCH_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Most database connections this process opens.
    #[arg(long, env = "JOBWATCH_DB_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    pub db_max_connections: u32,

    /// How long to wait for a database connection (or, on SQLite, a lock) before failing.
    #[arg(long, env = "JOBWATCH_DB_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration, global = true)]
    pub db_timeout: Duration,

    /// Log format on stderr; the level comes from RUST_LOG (default `info`).
    #[arg(long, env = "JOBWATCH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API.
    Serve(ServeArgs),
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

    /// Largest request body accepted, in bytes (larger gets 413).
    #[arg(long, env = "JOBWATCH_MAX_BODY_BYTES", default_value_t = crate::http::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// Email of the admin created on first start, when there are no users yet.
    #[arg(long, env = "JOBWATCH_ADMIN_EMAIL", default_value = "admin@localhost")]
    pub admin_email: String,

    /// Password of that admin; generated and printed when not given.
    #[arg(long, env = "JOBWATCH_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// How long in-flight requests may take to finish after SIGINT/SIGTERM.
    #[arg(long, env = "JOBWATCH_SHUTDOWN_GRACE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,
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
