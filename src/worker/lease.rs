//! Lease renewal: one statement per heartbeat renews every lease this worker holds, writes
//! the progress reported since the last one, and learns which jobs to stop.

use super::Worker;
use super::outcome::StopReason;
use crate::storage::Beat;
use std::collections::HashSet;
use tokio_util::sync::CancellationToken;

pub(super) async fn renew_loop(worker: Worker, stop: CancellationToken) {
    let inner = &worker.inner;
    let mut tick = tokio::time::interval(inner.settings.heartbeat);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_renewed = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let beats: Vec<Beat> = worker
            .running()
            .iter()
            .map(|(id, r)| {
                let reported = r.report.progress();
                let stage = r.report.stage().filter(|s| r.sent_stage.as_ref() != Some(s));
                Beat { id: *id, attempt: r.attempt, progress: (reported > r.sent_progress).then_some(reported), stage }
            })
            .collect();
        if beats.is_empty() {
            continue;
        }
        let now = inner.clock.now();
        let lease_until = now + chrono::Duration::from_std(inner.settings.lease).unwrap_or(chrono::Duration::MAX);
        match inner.store.renew_leases(&inner.id, &beats, now, lease_until).await {
            Ok(held) => {
                last_renewed = tokio::time::Instant::now();
                let held_ids: HashSet<_> = held.iter().map(|h| h.id).collect();
                let mut running = worker.running();
                for beat in &beats {
                    // The same run only: a re-claimed job is a new attempt, not this beat's.
                    let Some(job) = running.get_mut(&beat.id).filter(|j| j.attempt == beat.attempt) else { continue };
                    if !held_ids.contains(&beat.id) {
                        job.stop(StopReason::LeaseLost);
                        continue;
                    }
                    if let Some(p) = beat.progress {
                        job.sent_progress = p;
                    }
                    if let Some(stage) = &beat.stage {
                        job.sent_stage = Some(stage.clone());
                    }
                }
                for h in held.iter().filter(|h| h.cancel_requested) {
                    if let Some(job) = running.get(&h.id) {
                        job.stop(StopReason::CancelRequested);
                    }
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "renewing leases failed; will retry at the next heartbeat");
                // Past the lease, other nodes may rescue and rerun these jobs: stop ours first.
                if last_renewed.elapsed() + inner.settings.heartbeat >= inner.settings.lease {
                    tracing::error!("leases could not be renewed in time; stopping this worker's jobs");
                    for job in worker.running().values() {
                        job.stop(StopReason::LeaseLost);
                    }
                }
            }
        }
    }
}
