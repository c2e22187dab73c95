//! Upkeep every node does: turn due cron ticks into jobs, rescue the jobs of dead workers,
//! prune old finished jobs. All are safe to run on many nodes at once.

use super::Worker;
use tokio_util::sync::CancellationToken;

/// Rows per rescue or prune statement, so none holds locks for long.
const BATCH: u32 = 1_000;
const PRUNE_BATCHES_PER_TICK: usize = 10;

pub(super) async fn run(worker: Worker, stop: CancellationToken) {
    let s = &worker.inner.settings;
    let mut rescue = tokio::time::interval(s.rescue_every);
    let mut prune = tokio::time::interval(s.prune_every);
    let mut schedule = tokio::time::interval(s.schedule_every);
    for tick in [&mut rescue, &mut prune, &mut schedule] {
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = rescue.tick() => rescue_expired(&worker).await,
            _ = prune.tick() => prune_finished(&worker, &stop).await,
            _ = schedule.tick() => fire_schedules(&worker).await,
        }
    }
}

async fn fire_schedules(worker: &Worker) {
    match worker.inner.schedules.fire_due().await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(jobs = n, "scheduled jobs created"),
        Err(err) => tracing::warn!(error = %err, "firing due schedules failed"),
    }
}

async fn rescue_expired(worker: &Worker) {
    let inner = &worker.inner;
    match inner.store.rescue_expired(inner.clock.now(), BATCH).await {
        Ok(rescued) if rescued.count == 0 => {}
        Ok(rescued) => tracing::warn!(jobs = rescued.count, "rescued jobs whose worker stopped renewing its lease"),
        Err(err) => tracing::warn!(error = %err, "rescuing expired leases failed"),
    }
}

async fn prune_finished(worker: &Worker, stop: &CancellationToken) {
    let inner = &worker.inner;
    let retention = chrono::Duration::from_std(inner.settings.retention).unwrap_or(chrono::Duration::MAX);
    let Some(before) = inner.clock.now().checked_sub_signed(retention) else { return };
    let mut total = 0;
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
                tracing::warn!(error = %err, "pruning finished jobs failed");
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(jobs = total, "pruned finished jobs past retention");
    }
}
