//! What each subcommand does. The database's commands are here; `jobs` (watch and list through
//! the HTTP API) is in `jobs.rs` with its client (`api.rs`, `login.rs`), how it follows a job
//! (`watch.rs`) and what it shows (`progress.rs`, `list.rs`).

mod api;
mod jobs;
mod list;
mod login;
mod progress;
mod watch;

use crate::config::{Cli, Command, MigrateAction, ScheduleAction, UserAction};
use crate::objects::Objects;
use crate::schedules::{CreateSchedule, ScheduleService};
use crate::storage::{self, PoolSettings, Store};
use crate::{clock::SystemClock, startup, users::UserService};
use anyhow::Context;
use std::process::ExitCode;
use std::sync::Arc;

/// Runs the command; `jobs` answers with its own exit status (see `jobs.rs`), the others with
/// success or an error.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let url = cli.database_url();
    let settings = PoolSettings { max_connections: cli.db_max_connections, acquire_timeout: cli.db_timeout };
    let open = || async { storage::connect(&url, &settings).await.context("opening the database") };
    match cli.command {
        // A client of the HTTP API: it never opens the database.
        Command::Jobs(args) => return Ok(jobs::run(args).await),
        Command::Serve(args) => {
            let mail = args.worker.mail.mail(&cli.data_dir)?;
            startup::serve(*args, open().await?, objects(&cli.object_store, &cli.data_dir)?, mail).await
        }
        Command::Worker(args) => {
            let mail = args.worker.mail.mail(&cli.data_dir)?;
            startup::work(args, open().await?, objects(&cli.object_store, &cli.data_dir)?, mail).await
        }
        Command::Migrate { action } => migrate(action, open().await?.as_ref()).await,
        Command::Schedule { action } => {
            let store = open().await?;
            store.migrate_up().await?;
            schedule(action, ScheduleService::new(store, Arc::new(SystemClock))).await
        }
        Command::User { action: UserAction::Add { email, password, admin } } => {
            let store = open().await?;
            store.migrate_up().await?;
            let user = UserService::new(store, Arc::new(SystemClock)).create(&email, &password, admin).await?;
            println!("created user {} ({}){}", user.email, user.id, if user.is_admin { ", admin" } else { "" });
            Ok(())
        }
        Command::Openapi => {
            println!("{}", crate::http::openapi_json());
            Ok(())
        }
    }?;
    Ok(ExitCode::SUCCESS)
}

fn objects(spec: &Option<String>, data_dir: &std::path::Path) -> anyhow::Result<Objects> {
    Objects::open(spec.as_deref(), data_dir).context("opening object storage")
}

async fn schedule(action: ScheduleAction, schedules: ScheduleService) -> anyhow::Result<()> {
    match action {
        ScheduleAction::Add { name, cron, job_type, timezone, metadata, priority, max_retries } => {
            let req = CreateSchedule {
                name,
                cron,
                timezone: Some(timezone),
                job_type,
                metadata,
                priority,
                max_retries,
                created_by: None,
            };
            let s = schedules.create(req).await?;
            println!("created schedule {} ({}): next run {}", s.name, s.id, s.next_run_at);
        }
        ScheduleAction::List => {
            for s in schedules.list().await? {
                println!("{}\t{}\t{} [{}]\t{}\tnext {}", s.id, s.name, s.cron, s.timezone, s.job_type, s.next_run_at);
            }
        }
        ScheduleAction::Rm { id_or_name } => {
            schedules.delete(&id_or_name).await?;
            println!("deleted schedule {id_or_name}");
        }
    }
    Ok(())
}

async fn migrate(action: MigrateAction, store: &dyn Store) -> anyhow::Result<()> {
    match action {
        MigrateAction::Up => {
            let applied = store.migrate_up().await?;
            println!("applied {} migration(s) {applied:?}", applied.len());
        }
        MigrateAction::Down { to } => {
            let current = store.applied_migrations().await?;
            let target = match to {
                Some(v) => v,
                // One step back: keep everything but the newest.
                None => current.iter().rev().nth(1).copied().unwrap_or(0),
            };
            let undone = store.migrate_down(target).await?;
            println!("rolled back {} migration(s) {undone:?}", undone.len());
        }
        MigrateAction::Status => {
            println!("applied migrations: {:?}", store.applied_migrations().await?);
        }
    }
    Ok(())
}
