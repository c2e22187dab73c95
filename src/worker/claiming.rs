//! How much a worker claims, and when: batches sized to the running jobs plus a prefetch while
//! jobs are short, resumable claim cursors, and per-type limits.

use super::runner::Worker;
use crate::jobs::{Job, JobType};
use crate::storage::{ClaimKey, StoreError};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;
use uuid::Uuid;

/// Jobs shorter than this on average are prefetched.
const SHORT_JOB: Duration = Duration::from_millis(20);

/// While jobs are short, about this much work (by their average run time) may wait in the
/// buffer: enough that each claim brings back a batch worth its round trip, too little to keep
/// another node idle for long.
const PREFETCH_WORK: Duration = Duration::from_millis(50);

/// Most jobs waiting in the buffer.
const MAX_PREFETCH: usize = 1_000;

/// A job running this long shows that not all jobs are short, whatever the average says:
/// the buffer is given back, so no job waits behind it while another node is idle.
pub(super) const LONG_RUN: Duration = Duration::from_millis(250);

/// A handler in the worker's `handlers_since` for as long as this lives (also if its task is aborted).
pub(super) struct HandlerRun<'a> {
    worker: &'a Worker,
    key: (Uuid, i32),
}

impl<'a> HandlerRun<'a> {
    pub(super) fn start(worker: &'a Worker, key: (Uuid, i32), at: std::time::Instant) -> Self {
        worker.handlers_since().insert(key, at);
        Self { worker, key }
    }
}

impl Drop for HandlerRun<'_> {
    fn drop(&mut self) {
        self.worker.handlers_since().remove(&self.key);
    }
}

impl Worker {
    /// How many claimed jobs may wait for a slot: [`PREFETCH_WORK`] worth while jobs are short
    /// (at least a round of `concurrency`), so the next claim overlaps the running jobs; none
    /// while jobs are long or one has run for [`LONG_RUN`], so no job waits here while another
    /// node is idle.
    pub(super) fn prefetch(&self) -> usize {
        let average = self.inner.recent_job_micros.load(Ordering::Relaxed).max(1);
        if average >= SHORT_JOB.as_micros() as u64 || self.a_job_runs_long() {
            return 0;
        }
        let rounds = (PREFETCH_WORK.as_micros() as u64 / average).max(1) as usize;
        self.inner.settings.concurrency.saturating_mul(rounds).min(MAX_PREFETCH.max(self.inner.settings.concurrency))
    }

    pub(super) fn a_job_runs_long(&self) -> bool {
        self.handlers_since().values().any(|at| at.elapsed() >= LONG_RUN)
    }

    pub(super) fn handlers_since(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, i32), std::time::Instant>> {
        self.inner.handlers_since.lock().expect("handlers lock")
    }

    /// Jobs this worker could take now (running and waiting ones count), given [`Worker::prefetch`].
    pub(super) fn room(&self, prefetch: usize) -> usize {
        (self.inner.settings.concurrency + prefetch).saturating_sub(self.running().len())
    }

    /// The next claims scan from the start of the queue again.
    pub(super) fn restart_claims(&self) {
        self.inner.cursor_epoch.fetch_add(1, Ordering::AcqRel);
        self.inner.cursors.lock().expect("cursors lock").clear();
    }

    /// Exponentially weighted average of handler run times.
    pub(super) fn record_duration(&self, took: Duration) {
        let sample = took.as_micros().min(u128::from(u64::MAX)) as u64;
        let _ = self
            .inner
            .recent_job_micros
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |avg| Some(avg - avg / 8 + sample / 8));
    }

    /// Claim as many due jobs as there is room for, within the per-type limits.
    pub(super) async fn claim(&self) -> Result<Vec<Job>, StoreError> {
        let s = &self.inner.settings;
        let prefetch = self.prefetch();
        let (mut free, mut per_type) = {
            let running = self.running();
            let mut per_type: HashMap<JobType, usize> = HashMap::new();
            for job in running.values() {
                *per_type.entry(job.job_type).or_default() += 1;
            }
            ((s.concurrency + prefetch).saturating_sub(running.len()), per_type)
        };
        let (limited, unlimited): (Vec<JobType>, Vec<JobType>) =
            self.inner.handlers.types().into_iter().partition(|t| s.type_limits.contains_key(t));
        // One query for the types without a limit, one per limited type with room.
        let mut batches = vec![(unlimited, usize::MAX)];
        batches.extend(limited.into_iter().map(|t| {
            let room = s.type_limits[&t].saturating_sub(per_type.remove(&t).unwrap_or(0));
            (vec![t], room)
        }));
        let mut claimed = Vec::new();
        for (types, room) in batches {
            let limit = free.min(room);
            if limit == 0 || types.is_empty() {
                continue;
            }
            let now = self.inner.clock.now();
            let lease_until = now + chrono::Duration::from_std(s.lease).unwrap_or(chrono::Duration::MAX);
            let after = self.inner.cursors.lock().expect("cursors lock").get(&types).copied();
            let epoch = self.inner.cursor_epoch.load(Ordering::Acquire);
            let claim = self.inner.store.claim_jobs(
                &self.inner.id,
                &types,
                limit as u32,
                after.unwrap_or_else(ClaimKey::start),
                now,
                lease_until,
            );
            let jobs = match claim.await {
                Ok(jobs) => jobs,
                // Jobs claimed by earlier queries of this round are already ours: keep them.
                Err(err) if !claimed.is_empty() => {
                    tracing::warn!(error = %err, "claiming jobs failed part-way");
                    break;
                }
                Err(err) => return Err(err),
            };
            // A restart requested while this claim ran wins: its cursor is not stored.
            if self.inner.cursor_epoch.load(Ordering::Acquire) == epoch {
                let mut cursors = self.inner.cursors.lock().expect("cursors lock");
                match jobs.last() {
                    Some(last) if jobs.len() == limit => cursors.insert(types.clone(), ClaimKey::of(last)),
                    _ => cursors.remove(&types),
                };
            }
            free -= jobs.len();
            self.hold(&jobs);
            jobs.iter().for_each(|job| self.inner.metrics.job_claimed(job));
            claimed.extend(jobs);
        }
        Ok(claimed)
    }
}
