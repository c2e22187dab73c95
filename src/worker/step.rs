//! One pass of what a running worker does, on demand: rescue, schedules, prune, digests, webhooks, then claim and
//! run to their end the jobs there is room for. Tests drive a worker this way to show what does
//! *not* happen (a job not due yet, a type at its limit, a tick already fired) without waiting
//! to see nothing: the pass is made of the functions the loop calls, so a step that claims
//! nothing means the loop, at that moment, would have claimed nothing either.

use super::{Worker, completer, lease, maintenance};
use crate::jobs::Job;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// What one [`Worker::step`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    /// Jobs whose lease had expired: back in the queue, or failed when out of retries.
    pub rescued: u64,
    /// Jobs created for due schedule ticks.
    pub scheduled: usize,
    /// Finished jobs deleted past retention.
    pub pruned: usize,
    /// Digest email jobs started for users whose finished jobs were due to be mailed.
    pub digests: usize,
    /// Webhook delivery jobs started for ended jobs' events.
    pub webhooks: usize,
    /// The jobs claimed, in claim order. Each ran to its end, and its outcome was written,
    /// before the step returned.
    pub ran: Vec<Uuid>,
}

impl Worker {
    /// One rescue pass, one schedule pass, one prune pass, one digest pass and one webhook pass, then one claim from the start of
    /// the queue (as the poll makes it: room for `concurrency`, within the per-type limits),
    /// whose jobs run as in [`Worker::run`] — at most `concurrency` at once, leases renewed,
    /// cancel requests heard at each heartbeat — until every one has ended. Rescue and schedules
    /// (and digests and webhooks) come first, so a job they make due is claimed by the same step. Time is the worker's
    /// clock: with a `ManualClock`, nothing falls due between two steps unless it is moved.
    ///
    /// The first pass that fails ends the step with its error. Steps may overlap (the second
    /// sees the first one's jobs running, as the loop would). Jobs sent to the
    /// [`super::LocalInbox`] are left for [`Worker::run`].
    pub async fn step(&self) -> anyhow::Result<Step> {
        let rescued = maintenance::rescue_expired(self).await?;
        let scheduled = maintenance::fire_schedules(self).await?;
        let pruned = maintenance::prune_finished(self, &CancellationToken::new()).await?;
        let digests = maintenance::start_digests(self).await?;
        let webhooks = maintenance::start_webhooks(self).await?;
        // Not in `Step`: it changes no job, only what the admins' overview reads.
        maintenance::roll_up_finished(self).await?;
        self.restart_claims();
        let claimed = self.claim().await?;
        let ran = claimed.iter().map(|job| job.id).collect();
        self.run_to_end(claimed).await;
        Ok(Step { rescued, scheduled, pruned, digests, webhooks, ran })
    }

    async fn run_to_end(&self, jobs: Vec<Job>) {
        if jobs.is_empty() {
            return;
        }
        let beating = CancellationToken::new();
        let leases = tokio::spawn(lease::renew_loop(self.clone(), beating.clone()));
        let (completions, completer) = completer::spawn(self.clone(), Arc::new(Notify::new()));
        let mut waiting = VecDeque::from(jobs);
        let mut tasks = JoinSet::new();
        loop {
            self.start_waiting(&mut waiting, &mut tasks, &completions);
            if tasks.join_next().await.is_none() {
                break;
            }
        }
        // Successes are written in batches: the step ends once they are.
        drop(completions);
        let _ = completer.await;
        beating.cancel();
        let _ = leases.await;
    }
}
