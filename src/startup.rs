//! Building the application from its parts, first-start bootstrap, and serving with a
//! graceful shutdown.

use crate::auth::AuthService;
use crate::clock::{Clock, SystemClock};
use crate::config::{ServeArgs, WorkerArgs, WorkerCommandArgs};
use crate::exports::{ExportHandler, ExportService};
use crate::http::{self, AppState};
use crate::imports::{ImportHandler, ImportService, ImportSettings};
use crate::jobs::JobType;
use crate::jobs::events::JobEventSink;
use crate::jobs::{ActiveCache, JobService};
use crate::live::{LiveHub, LiveSettings};
use crate::metrics::{Metrics, MetricsSettings};
use crate::notify::{EmailHandler, Mail};
use crate::objects::Objects;
use crate::schedules::ScheduleService;
use crate::storage::Store;
use crate::users::{UserError, UserService};
use crate::webhooks::{WebhookHandler, WebhookService, WebhookSettings};
use crate::worker::{Handlers, Worker};
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What the API's services are tuned by.
#[derive(Debug, Clone)]
pub struct AppSettings {
    pub token_ttl: Duration,
    /// As [`ActiveCache`] (zero: off).
    pub active_cache: Duration,
    /// A running job quiet for this long is shown as stalled.
    pub stalled_after: Duration,
    /// Origins besides the service's own whose pages may act with the session cookie.
    pub allowed_origins: Vec<String>,
    pub imports: ImportSettings,
    pub live: LiveSettings,
    pub metrics: MetricsSettings,
    /// How digest emails are sent (by the workers this state's handlers are given to).
    pub mail: Mail,
    /// How webhooks are delivered (`JOBWATCH_WEBHOOK_*`).
    pub webhooks: WebhookSettings,
}

/// The services over one store, one object store and one clock.
pub fn app_state(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    objects: Objects,
    settings: AppSettings,
) -> anyhow::Result<AppState> {
    let ttl = chrono::Duration::from_std(settings.token_ttl).context("token TTL out of range")?;
    let metrics = Metrics::new(settings.metrics);
    let cache = Arc::new(ActiveCache::new(
        chrono::Duration::from_std(settings.active_cache).context("active cache out of range")?,
    ));
    // The cache hears of every job change through the store's events.
    let sink: Arc<dyn JobEventSink> = cache.clone();
    store.events().subscribe(&sink);
    let webhooks = WebhookService::new(store.clone(), clock.clone(), settings.webhooks)?;
    let jobs = JobService::new(store.clone(), clock.clone())
        .with_stalled_after(chrono::Duration::from_std(settings.stalled_after).context("stalled-after out of range")?)
        .with_handlers(handlers(store.clone(), objects.clone(), &metrics, &settings.mail, &webhooks));
    // So does the hub of live sockets.
    let live = LiveHub::new(jobs.clone(), store.clone(), settings.live);
    store.events().subscribe(&live.sink());
    let imports = ImportService::new(
        store.clone(),
        clock.clone(),
        jobs.clone(),
        objects.clone(),
        settings.imports,
        metrics.clone(),
    );
    Ok(AppState {
        exports: ExportService::new(jobs.clone(), imports.clone(), objects),
        imports,
        jobs,
        auth: AuthService::new(store.clone(), clock.clone(), ttl).with_active_cache(cache.clone()),
        active: cache,
        live,
        metrics,
        allowed_origins: settings.allowed_origins.into(),
        users: UserService::new(store.clone(), clock.clone()),
        schedules: ScheduleService::new(store.clone(), clock),
        mail: settings.mail,
        webhooks,
        store,
    })
}

/// The handlers a worker runs: the built-in ones, imports, exports, digest emails and webhooks.
pub fn handlers(
    store: Arc<dyn Store>,
    objects: Objects,
    metrics: &Metrics,
    mail: &Mail,
    webhooks: &WebhookService,
) -> Handlers {
    Handlers::builtin()
        .register(JobType::Import, ImportHandler::new(store.clone(), objects.clone(), metrics.clone()))
        .register(JobType::Export, ExportHandler::new(store.clone(), objects))
        .register(JobType::Email, EmailHandler::new(store, mail.clone()))
        .register(JobType::Webhook, WebhookHandler(webhooks.clone()))
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

/// Staging files untouched for ten leases (5 minutes by default) belong to no live writer:
/// an upload writes as its bytes arrive and renews its lease within one. Ten, not one, for
/// writers that pause between writes (another process on the same directory may be one). A
/// failed sweep is logged, never fatal: the files only take space.
async fn remove_leftovers(objects: &Objects, lease: std::time::Duration) {
    if let Err(e) = objects.remove_leftovers((lease * 10).max(std::time::Duration::from_secs(60))).await {
        tracing::warn!(error = %e, "could not sweep half-written files");
    }
}

fn worker(
    store: Arc<dyn Store>,
    objects: Objects,
    args: &WorkerArgs,
    metrics: Metrics,
    mail: &Mail,
    webhooks: &WebhookService,
) -> anyhow::Result<Worker> {
    let handlers = handlers(store.clone(), objects, &metrics, mail, webhooks);
    Ok(Worker::new(store, Arc::new(SystemClock), handlers, args.settings()?, metrics))
}

/// `jobwatch worker`: workers only, until SIGINT/SIGTERM.
pub async fn work(args: WorkerCommandArgs, store: Arc<dyn Store>, objects: Objects, mail: Mail) -> anyhow::Result<()> {
    migrate(store.as_ref(), args.no_migrate).await?;
    remove_leftovers(&objects, args.worker.lease).await;
    // No HTTP here, so nothing serves these series: a worker-only process is not scraped.
    let webhooks = WebhookService::new(store.clone(), Arc::new(SystemClock), args.worker.webhooks.settings())?;
    let worker = worker(store, objects, &args.worker, Metrics::default(), &mail, &webhooks)?;
    println!("jobwatch worker {} running", worker.id());
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    worker.run(shutdown).await
}

pub async fn serve(args: ServeArgs, store: Arc<dyn Store>, objects: Objects, mail: Mail) -> anyhow::Result<()> {
    migrate(store.as_ref(), args.no_migrate).await?;
    remove_leftovers(&objects, args.worker.lease).await;
    let settings = AppSettings {
        token_ttl: args.token_ttl,
        active_cache: args.active_cache,
        stalled_after: args.stalled_after,
        allowed_origins: args.allowed_origins,
        imports: ImportSettings { max_upload_bytes: args.max_upload_bytes, lease: args.worker.lease },
        live: LiveSettings { per_user: usize::from(args.ws_per_user), ..LiveSettings::default() },
        metrics: MetricsSettings { token: args.metrics_token, database_cache: args.metrics_cache },
        mail,
        webhooks: args.worker.webhooks.settings(),
    };
    let mut state = app_state(store.clone(), Arc::new(SystemClock), objects.clone(), settings)?;
    if let Some((email, password)) = ensure_admin(&state.users, &args.admin_email, args.admin_password).await? {
        println!("created the first admin: email {email}, password {password}");
    }
    let listener = TcpListener::bind(args.bind).await.with_context(|| format!("binding {}", args.bind))?;
    let addr = listener.local_addr()?;
    println!(
        "jobwatch listening on http://{addr} ({} database, files in {}, mail to {})",
        store.backend(),
        objects.describe(),
        state.mail.mailer.describe()
    );
    tracing::info!(%addr, "listening");

    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    tokio::spawn(crate::jobs::events::relay_changes(store.clone(), shutdown.clone()));
    let workers = match args.no_workers {
        true => None,
        false => {
            let (metrics, mail) = (state.metrics.clone(), &state.mail);
            let worker = worker(store.clone(), objects.clone(), &args.worker, metrics, mail, &state.webhooks)?;
            if let Some(inbox) = worker.local_inbox() {
                state.imports = state.imports.with_local_worker(inbox);
            }
            let token = shutdown.clone();
            Some(tokio::spawn(async move { worker.run(token).await }))
        }
    };
    let grace = args.worker.shutdown_grace;
    let live = state.live.clone();
    let app = http::router(state, args.max_body_bytes);
    // Connection info: login throttling counts failures per client address.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(shutdown.clone().cancelled_owned());
    tokio::select! {
        result = server => result.context("serving HTTP")?,
        () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(?grace, "in-flight requests outlived the shutdown grace period");
        }
    }
    // Upgraded sockets outlive the HTTP server: tell them to reconnect elsewhere (1001).
    live.shut_down(Duration::from_secs(2)).await;
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
