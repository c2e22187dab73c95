//! `jobwatch jobs watch | list`: a client of a running service's HTTP API, never of its
//! database. Exit status: 0 done (a watched job completed), 1 a watched job failed or was
//! cancelled, 2 the command itself could not do its work, 130 interrupted.

use super::api::Api;
use super::list;
use super::login::Session;
use super::progress::{Progress, Stream};
use super::watch;
use crate::config::{JobsAction, JobsArgs};
use crate::jobs::{JobStatus, JobType};
use std::process::ExitCode;
use uuid::Uuid;

pub async fn run(args: JobsArgs) -> ExitCode {
    match commands(args).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

async fn commands(args: JobsArgs) -> anyhow::Result<ExitCode> {
    let session = Session::open(Api::new(&args.url)?, args.token).await?;
    let done = match args.action {
        JobsAction::Watch { id, json } => watch(&session.api, id, json).await,
        JobsAction::List { status, job_type, limit, active, json } => {
            list(&session.api, &status, &job_type, limit, active, json).await.map(|()| ExitCode::SUCCESS)
        }
    };
    session.close().await;
    done
}

async fn watch(api: &Api, id: Uuid, json: bool) -> anyhow::Result<ExitCode> {
    let job = api.job(id).await?;
    let mut progress = Progress::start(if json { Stream::Stderr } else { Stream::Stdout }, &job);
    let followed = tokio::select! {
        followed = watch::follow(api, job, &mut progress) => Some(followed),
        _ = tokio::signal::ctrl_c() => None,
    };
    let Some(followed) = followed else {
        progress.interrupt();
        return Ok(ExitCode::from(130));
    };
    let job = followed?;
    progress.end(&job);
    if json {
        println!("{}", serde_json::to_string_pretty(&job)?);
    }
    Ok(if job.status == JobStatus::Completed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

async fn list(
    api: &Api,
    statuses: &[JobStatus],
    types: &[JobType],
    limit: u32,
    active: bool,
    json: bool,
) -> anyhow::Result<()> {
    let (jobs, more) = if active {
        let mut jobs = api.active().await?;
        jobs.retain(|j| {
            (statuses.is_empty() || statuses.contains(&j.status)) && (types.is_empty() || types.contains(&j.job_type))
        });
        let more = jobs.len() > limit as usize;
        jobs.truncate(limit as usize);
        (jobs, more)
    } else {
        let mut query = vec![("limit", limit.to_string())];
        if !statuses.is_empty() {
            query.push(("status", statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")));
        }
        if !types.is_empty() {
            query.push(("type", types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(",")));
        }
        let page = api.history(&query).await?;
        (page.items, page.next_cursor.is_some())
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&jobs)?);
    } else if jobs.is_empty() {
        println!("no jobs");
    } else {
        print!("{}", list::table(&jobs));
        if more {
            eprintln!("(the newest {limit} shown: --limit takes up to 200, --status and --type narrow the list)");
        }
    }
    Ok(())
}
