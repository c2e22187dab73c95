//! Upkeep every node does: turn due cron ticks into jobs, rescue the jobs of dead workers,
//! prune old finished jobs, start due digest emails and webhook deliveries, fold finished jobs
//! into the admins' per-minute counts. All are safe to run on many nodes at once. Each pass is a function
//! of its own: the background loop here calls it on its interval, [`Worker::step`] once.

use super::Worker;
use crate::jobs::finished::fold_bounds;
use crate::schedules::ScheduleError;
use crate::storage::StoreError;
use tokio_util::sync::CancellationToken;

/// Rows per rescue or prune statement, so none holds locks for long.
const BATCH: u32 = 1_000;
const PRUNE_BATCHES_PER_TICK: usize = 10;

pub(super) async fn run(worker: Worker, stop: CancellationToken) {
    let s = &worker.inner.settings;
    let mut rescue = tokio::time::interval(s.rescue_every);
    let mut prune = tokio::time::interval(s.prune_every);
    let mut schedule = tokio::time::interval(s.schedule_every);
    let mut digest = tokio::time::interval(s.digest_every);
    let mut webhook = tokio::time::interval(s.webhook_every);
    let mut rollup = tokio::time::interval(s.rollup_every);
    for tick in [&mut rescue, &mut prune, &mut schedule, &mut digest, &mut webhook, &mut rollup] {
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = rescue.tick() => warn_if_failed("rescuing expired leases", rescue_expired(&worker).await),
            _ = prune.tick() => warn_if_failed("pruning finished jobs", prune_finished(&worker, &stop).await),
            _ = schedule.tick() => warn_if_failed("firing due schedules", fire_schedules(&worker).await),
            _ = digest.tick() => warn_if_failed("starting due digests", start_digests(&worker).await),
            _ = webhook.tick() => warn_if_failed("starting webhook deliveries", start_webhooks(&worker).await),
            _ = rollup.tick() => warn_if_failed("folding finished jobs into minutes", roll_up_finished(&worker).await),
        }
    }
}

/// A pass that failed is tried again at its next tick.
fn warn_if_failed<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) {
    if let Err(err) = result {
        tracing::warn!(error = %err, "{what} failed");
    }
}

/// Creates the jobs of due schedule ticks; returns how many.
pub(super) async fn fire_schedules(worker: &Worker) -> Result<usize, ScheduleError> {
    let fired = worker.inner.schedules.fire_due().await?;
    if fired > 0 {
        tracing::debug!(jobs = fired, "scheduled jobs created");
    }
    Ok(fired)
}

/// Turns users' waiting outcomes into digest email jobs once due; returns how many jobs.
pub(super) async fn start_digests(worker: &Worker) -> Result<usize, StoreError> {
    let inner = &worker.inner;
    let started =
        crate::notify::digest::start_due(inner.store.as_ref(), inner.clock.now(), inner.settings.digest).await?;
    if started > 0 {
        tracing::debug!(jobs = started, "digest emails started");
    }
    Ok(started)
}

/// Turns ended jobs' webhook events into delivery jobs; returns how many jobs.
pub(super) async fn start_webhooks(worker: &Worker) -> Result<usize, StoreError> {
    let inner = &worker.inner;
    let started = crate::webhooks::fanout::start_due(inner.store.as_ref(), inner.clock.now()).await?;
    if started > 0 {
        tracing::debug!(jobs = started, "webhook deliveries started");
    }
    Ok(started)
}

/// Folds the jobs finished up to `ROLLUP_LAG` ago into per-minute counts (the admins'
/// overview reads those instead of a day of jobs); returns how far the fold reaches.
pub(super) async fn roll_up_finished(worker: &Worker) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    let (until, oldest) = fold_bounds(worker.inner.clock.now());
    worker.inner.store.roll_up_finished(until, oldest).await
}

/// Puts jobs whose lease expired back in the queue (or fails them, out of retries); returns how many.
pub(super) async fn rescue_expired(worker: &Worker) -> Result<u64, StoreError> {
    let inner = &worker.inner;
    let rescued = inner.store.rescue_expired(inner.clock.now(), BATCH).await?.count;
    if rescued > 0 {
        inner.metrics.leases_rescued(rescued);
        tracing::warn!(jobs = rescued, "rescued jobs whose worker stopped renewing its lease");
    }
    Ok(rescued)
}

/// Deletes finished jobs past retention, and what their handlers kept; returns how many.
pub(super) async fn prune_finished(worker: &Worker, stop: &CancellationToken) -> Result<usize, StoreError> {
    let inner = &worker.inner;
    let retention = chrono::Duration::from_std(inner.settings.retention).unwrap_or(chrono::Duration::MAX);
    let Some(before) = inner.clock.now().checked_sub_signed(retention) else { return Ok(0) };
    let mut total = 0;
    let mut outcome = Ok(());
    // A bounded share per tick, so a large first prune does not hold up rescue and schedules.
    for _ in 0..PRUNE_BATCHES_PER_TICK {
        if stop.is_cancelled() {
            break;
        }
        match inner.store.prune_finished(before, BATCH).await {
            Ok(pruned) => {
                total += pruned.len();
                for (id, job_type) in &pruned {
                    if let Some(handler) = inner.handlers.get(*job_type) {
                        handler.forget(*id).await;
                    }
                }
                if pruned.len() < BATCH as usize {
                    break;
                }
            }
            Err(err) => {
                outcome = Err(err);
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(jobs = total, "pruned finished jobs past retention");
    }
    outcome.map(|()| total)
}
