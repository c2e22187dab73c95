//! Building the application from its parts, first-start bootstrap, and serving with a
//! graceful shutdown.

use crate::auth::AuthService;
use crate::clock::{Clock, SystemClock};
use crate::config::{ServeArgs, WorkerArgs, WorkerCommandArgs};
use crate::http::{self, AppState};
use crate::jobs::{ActiveCache, JobService};
use crate::schedules::ScheduleService;
use crate::storage::Store;
use crate::users::{UserError, UserService};
use crate::worker::{Handlers, Worker};
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The services over one store and one clock; `active_cache` as [`ActiveCache`] (zero: off).
pub fn app_state(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    token_ttl: Duration,
    active_cache: Duration,
) -> anyhow::Result<AppState> {
    let ttl = chrono::Duration::from_std(token_ttl).context("token TTL out of range")?;
    let cache =
        Arc::new(ActiveCache::new(chrono::Duration::from_std(active_cache).context("active cache out of range")?));
    Ok(AppState {
        jobs: JobService::new(store.clone(), clock.clone()).with_active_cache(cache.clone()),
        auth: AuthService::new(store.clone(), clock.clone(), ttl).with_active_cache(cache),
        users: UserService::new(store.clone(), clock.clone()),
        schedules: ScheduleService::new(store.clone(), clock),
        store,
    })
}

/// On a database with no users, create the first admin; returns its email and password.
pub async fn ensure_admin(
    users: &UserService,
    email: &str,
    password: Option<String>,
) -> anyhow::Result<Option<(String, String)>> {
    if users.any_exists().await? {
        return Ok(None);
    }
    let password = password.unwrap_or_else(|| hex::encode(rand::random::<[u8; 12]>()));
    match users.create(email, &password, true).await {
        Ok(user) => Ok(Some((user.email, password))),
        // Another node won the race to create it.
        Err(UserError::EmailTaken) => Ok(None),
        Err(e) => Err(e).context("creating the first admin"),
    }
}

async fn migrate(store: &dyn Store, skip: bool) -> anyhow::Result<()> {
    if !skip {
        let applied = store.migrate_up().await.context("running migrations")?;
        tracing::info!(?applied, backend = store.backend(), "migrations up to date");
    }
    Ok(())
}

fn worker(store: Arc<dyn Store>, args: &WorkerArgs) -> anyhow::Result<Worker> {
    Ok(Worker::new(store, Arc::new(SystemClock), Handlers::builtin(), args.settings()?))
}

/// `jobwatch worker`: workers only, until SIGINT/SIGTERM.
pub async fn work(args: WorkerCommandArgs, store: Arc<dyn Store>) -> anyhow::Result<()> {
    migrate(store.as_ref(), args.no_migrate).await?;
    let worker = worker(store, &args.worker)?;
    println!("jobwatch worker {} running", worker.id());
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    worker.run(shutdown).await
}

pub async fn serve(args: ServeArgs, store: Arc<dyn Store>) -> anyhow::Result<()> {
    migrate(store.as_ref(), args.no_migrate).await?;
    let state = app_state(store.clone(), Arc::new(SystemClock), args.token_ttl, args.active_cache)?;
    if let Some((email, password)) = ensure_admin(&state.users, &args.admin_email, args.admin_password).await? {
        println!("created the first admin: email {email}, password {password}");
    }
    let listener = TcpListener::bind(args.bind).await.with_context(|| format!("binding {}", args.bind))?;
    let addr = listener.local_addr()?;
    println!("jobwatch listening on http://{addr} ({} database)", store.backend());
    tracing::info!(%addr, "listening");

    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let workers = match args.no_workers {
        true => None,
        false => {
            let worker = worker(store.clone(), &args.worker)?;
            let token = shutdown.clone();
            Some(tokio::spawn(async move { worker.run(token).await }))
        }
    };
    let grace = args.worker.shutdown_grace;
    let app = http::router(state, args.max_body_bytes);
    let server = axum::serve(listener, app).with_graceful_shutdown(shutdown.clone().cancelled_owned());
    tokio::select! {
        result = server => result.context("serving HTTP")?,
        () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(?grace, "in-flight requests outlived the shutdown grace period");
        }
    }
    if let Some(workers) = workers {
        workers.await.context("worker task")??;
    }
    tracing::info!("stopped");
    Ok(())
}

/// SIGINT or SIGTERM starts the graceful shutdown.
async fn cancel_on_signal(token: CancellationToken) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutdown signal received; finishing in-flight requests");
    token.cancel();
}
