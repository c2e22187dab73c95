//! Batched completions: successful jobs are marked completed many per statement. While one
//! batch commits, the next gathers, so a busy worker pays one commit for many jobs and an
//! idle one adds no delay.

use super::Worker;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use uuid::Uuid;

/// Most jobs completed by one statement.
const MAX_BATCH: usize = 1_000;

pub(super) type Completions = mpsc::UnboundedSender<(Uuid, i32)>;

/// `freed` is told whenever a batch is written: those jobs no longer take room.
pub(super) fn spawn(worker: Worker, freed: Arc<Notify>) -> (Completions, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, tokio::spawn(run(worker, rx, freed)))
}

/// Runs until every sender is gone and the last batch is written.
async fn run(worker: Worker, mut rx: mpsc::UnboundedReceiver<(Uuid, i32)>, freed: Arc<Notify>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        write(&worker, &batch).await;
        // Written (or given up): stop renewing their leases.
        for (id, attempt) in batch.drain(..) {
            worker.forget(id, attempt);
        }
        freed.notify_one();
    }
}

/// Retried while the database is away, for as long as a lease lasts; after that the
/// rescuer owns the jobs (they will run again: at least once, never lost).
async fn write(worker: &Worker, batch: &[(Uuid, i32)]) {
    let inner = &worker.inner;
    let give_up = tokio::time::Instant::now() + inner.settings.lease;
    let mut delay = Duration::from_millis(100);
    loop {
        match inner.store.complete_jobs(batch, inner.clock.now()).await {
            Ok(_) => return,
            Err(err) if tokio::time::Instant::now() < give_up => {
                tracing::warn!(jobs = batch.len(), error = %err, "recording completions failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(err) => {
                tracing::error!(jobs = batch.len(), error = %err, "gave up recording completions; leases will expire");
                return;
            }
        }
    }
}
