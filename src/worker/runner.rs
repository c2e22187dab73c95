//! The worker loop: claim due jobs while there is room, run each handler in its own task,
//! finish it, and on shutdown drain within the grace period and hand back the rest.

use super::context::{JobContext, NO_PROGRESS, Report};
use super::outcome::{StopReason, decide};
use super::{HandlerError, Handlers, WorkerSettings, completer, lease, maintenance};
use crate::clock::Clock;
use crate::jobs::{Action, Job, JobError, JobService, JobType};
use crate::metrics::Metrics;
use crate::schedules::ScheduleService;
use crate::storage::{ClaimKey, Signal, Store, StoreError};
use anyhow::Context;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use uuid::Uuid;

/// A job this worker is running.
pub(super) struct RunningJob {
    pub attempt: i32,
    pub job_type: JobType,
    pub report: Arc<Report>,
    /// Progress and stage last written to the database.
    pub sent_progress: i32,
    pub sent_stage: Option<String>,
    cancel: CancellationToken,
    stop: Arc<OnceLock<StopReason>>,
}

impl RunningJob {
    /// Just claimed: no progress reported yet, not told to stop.
    pub fn claimed(job: &Job) -> Self {
        RunningJob {
            attempt: job.attempt,
            job_type: job.job_type,
            report: Report::new(),
            sent_progress: NO_PROGRESS,
            sent_stage: None,
            cancel: CancellationToken::new(),
            stop: Arc::new(OnceLock::new()),
        }
    }

    pub fn stop(&self, reason: StopReason) {
        // The first reason wins: a cancel requested before shutdown stays a cancel.
        let _ = self.stop.set(reason);
        self.cancel.cancel();
    }
}

#[derive(Clone)]
pub struct Worker {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub id: String,
    pub store: Arc<dyn Store>,
    pub jobs: JobService,
    pub schedules: ScheduleService,
    pub clock: Arc<dyn Clock>,
    pub handlers: Handlers,
    pub settings: WorkerSettings,
    /// Claims, runs and rescues are counted in the node's series.
    pub metrics: Metrics,
    pub running: Mutex<HashMap<Uuid, RunningJob>>,
    /// When each handler now running started (a few entries: at most `concurrency`).
    pub handlers_since: Mutex<HashMap<(Uuid, i32), std::time::Instant>>,
    /// See [`Worker::prefetch`]; starts at 100 ms ("long") until jobs prove short.
    pub recent_job_micros: AtomicU64,
    /// Where each claim query resumes (see [`ClaimKey`]); cleared by new-job signals, the
    /// poll, and claims that reach the end, so jobs that sort earlier are found again.
    pub cursors: Mutex<HashMap<Vec<JobType>, ClaimKey>>,
    pub cursor_epoch: AtomicU64,
    /// Jobs handed to this worker directly (see [`LocalInbox`]); taken by `run`.
    pub inbox: (mpsc::UnboundedSender<Job>, Mutex<Option<mpsc::UnboundedReceiver<Job>>>),
}

/// Hands a running job to a worker in this process, as if it had claimed it: an upload's
/// import job goes straight on to parsing here, never back through `pending`.
#[derive(Clone)]
pub struct LocalInbox {
    holder: String,
    tx: mpsc::UnboundedSender<Job>,
}

impl LocalInbox {
    /// The `locked_by` the job must carry before it is sent.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// `Err` gives the job back when the worker has stopped.
    pub fn send(&self, job: Job) -> Result<(), Box<Job>> {
        self.tx.send(job).map_err(|e| Box::new(e.0))
    }
}

/// `host/pid/random`: unique per process, readable in `locked_by`.
fn worker_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "jobwatch".into());
    format!("{host}/{}/{:04x}", std::process::id(), rand::random::<u16>())
}

impl Worker {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        handlers: Handlers,
        settings: WorkerSettings,
        metrics: Metrics,
    ) -> Self {
        let jobs = JobService::new(store.clone(), clock.clone());
        let schedules = ScheduleService::new(store.clone(), clock.clone());
        Worker {
            inner: Arc::new(Inner {
                id: worker_id(),
                store,
                jobs,
                schedules,
                clock,
                handlers,
                settings,
                metrics,
                running: Mutex::new(HashMap::new()),
                handlers_since: Mutex::new(HashMap::new()),
                recent_job_micros: AtomicU64::new(100_000),
                cursors: Mutex::new(HashMap::new()),
                cursor_epoch: AtomicU64::new(0),
                inbox: {
                    let (tx, rx) = mpsc::unbounded_channel();
                    (tx, Mutex::new(Some(rx)))
                },
            }),
        }
    }

    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// A way to hand this worker stored uploads directly; `None` when it limits import jobs,
    /// which then go through the queue like any claim.
    pub fn local_inbox(&self) -> Option<LocalInbox> {
        if self.inner.settings.type_limits.contains_key(&JobType::Import) {
            return None;
        }
        Some(LocalInbox { holder: self.inner.id.clone(), tx: self.inner.inbox.0.clone() })
    }

    /// Jobs claimed, or handed over through the [`LocalInbox`], are this worker's to run.
    pub(super) fn hold(&self, jobs: &[Job]) {
        let mut running = self.running();
        for job in jobs {
            // Re-claimed after this worker lost it (a rescue during an outage): the old run
            // must stop, or the job would run twice here.
            if let Some(old) = running.insert(job.id, RunningJob::claimed(job)) {
                old.stop(StopReason::LeaseLost);
            }
        }
    }

    pub(super) fn running(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, RunningJob>> {
        self.inner.running.lock().expect("running-jobs lock")
    }

    /// Forget a job, but only the run this caller knows: a later attempt of the same job (a
    /// re-claim after a rescue) is someone else's.
    pub(super) fn forget(&self, id: Uuid, attempt: i32) {
        let mut running = self.running();
        if running.get(&id).is_some_and(|r| r.attempt == attempt) {
            running.remove(&id);
        }
    }

    pub(super) fn stop_job(&self, id: Uuid, reason: StopReason) {
        if let Some(job) = self.running().get(&id) {
            job.stop(reason);
        }
    }

    /// Run until `shutdown`, then drain (see the module docs).
    pub async fn run(&self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let s = &self.inner.settings;
        let background = CancellationToken::new();
        let wake = Arc::new(Notify::new());
        let mut listener = self.inner.store.listen().await?;
        let signals = {
            let (worker, wake) = (self.clone(), wake.clone());
            AbortOnDropHandle::new(tokio::spawn(async move {
                loop {
                    match listener.next().await {
                        Signal::NewJobs => wake.notify_one(),
                        Signal::CancelRequested(id) => worker.stop_job(id, StopReason::CancelRequested),
                    }
                }
            }))
        };
        let leases = tokio::spawn(lease::renew_loop(self.clone(), background.clone()));
        let freed = Arc::new(Notify::new());
        let (completions, completer) = completer::spawn(self.clone(), freed.clone());
        let upkeep = tokio::spawn(maintenance::run(self.clone(), background.clone()));
        tracing::info!(worker = %self.id(), types = ?self.inner.handlers.types(), concurrency = s.concurrency, "worker started");

        let mut inbox = self.inner.inbox.1.lock().expect("inbox lock").take().context("a worker runs once")?;
        let mut tasks = JoinSet::new();
        // Claimed jobs not started yet; see `prefetch`.
        let mut buffer: VecDeque<Job> = VecDeque::new();
        // Buffers being given back (see below).
        let mut returns = JoinSet::new();
        let mut claiming: Option<AbortOnDropHandle<Result<Vec<Job>, StoreError>>> = None;
        let mut look = true;
        // An interval, not a fresh sleep per pass: a busy worker must still poll (and restart
        // its claim cursors) on schedule.
        let mut poll = tokio::time::interval(s.poll);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !shutdown.is_cancelled() {
            self.start_waiting(&mut buffer, &mut tasks, &completions);
            // Every slot taken and jobs turned long: what waits here goes back to the queue,
            // for an idle node (or this one, once a slot is free).
            let prefetch = self.prefetch();
            if !buffer.is_empty() && prefetch == 0 {
                let waiting: Vec<(Uuid, i32)> = buffer.drain(..).map(|j| (j.id, j.attempt)).collect();
                let worker = self.clone();
                returns.spawn(async move { worker.hand_back(waiting).await });
            }
            while returns.try_join_next().is_some() {}
            // One claim in flight at a time, running while the jobs do, and only for a worthwhile
            // batch (half the prefetch; one job while not prefetching): many one-job claims cost
            // more than they bring.
            if look && claiming.is_none() && self.room(prefetch) >= (prefetch / 2).max(1) {
                let worker = self.clone();
                claiming = Some(AbortOnDropHandle::new(tokio::spawn(async move { worker.claim().await })));
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                claimed = async { claiming.as_mut().expect("guarded").await }, if claiming.is_some() => {
                    claiming = None;
                    match claimed {
                        Ok(Ok(jobs)) => {
                            // Nothing due: wait for a signal or the poll before asking again.
                            look = !jobs.is_empty();
                            buffer.extend(jobs);
                        }
                        Ok(Err(err)) => {
                            look = false;
                            tracing::warn!(error = %err, "claiming jobs failed; retrying after the poll interval");
                        }
                        Err(err) => {
                            look = false;
                            tracing::error!(error = %err, "claim task failed");
                        }
                    }
                }
                Some(job) = inbox.recv() => {
                    self.hold(std::slice::from_ref(&job));
                    buffer.push_back(job);
                }
                // Completions written: their room is free again.
                () = freed.notified() => look = true,
                () = wake.notified() => {
                    look = true;
                    self.restart_claims();
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {
                    // Reap every job that finished meanwhile: one claim refills all their slots.
                    while tasks.try_join_next().is_some() {}
                    look = true;
                }
                _ = poll.tick() => {
                    look = true;
                    self.restart_claims();
                }
                // Jobs wait in the buffer: look again when a running job may have turned long.
                () = tokio::time::sleep(super::claiming::LONG_RUN), if !buffer.is_empty() => {}
            }
        }
        while returns.join_next().await.is_some() {}
        inbox.close();
        while let Ok(job) = inbox.try_recv() {
            self.hold(std::slice::from_ref(&job));
            buffer.push_back(job);
        }
        // A claim in flight may already hold jobs: let it land, then give back what never started.
        if let Some(Ok(Ok(jobs))) = match claiming {
            Some(c) => Some(c.await),
            None => None,
        } {
            buffer.extend(jobs);
        }
        self.hand_back(buffer.drain(..).map(|j| (j.id, j.attempt)).collect()).await;

        self.drain(&mut tasks).await;
        // Completions still queued are written before anything is handed back: a job that
        // succeeded must end completed, not back in the queue to run again.
        drop(completions);
        let _ = completer.await;
        let left: Vec<(Uuid, i32)> = self.running().iter().map(|(id, r)| (*id, r.attempt)).collect();
        self.hand_back(left).await;
        background.cancel();
        drop(signals);
        let _ = tokio::join!(leases, upkeep);
        tracing::info!(worker = %self.id(), "worker stopped");
        Ok(())
    }

    /// Start jobs from `waiting` while fewer than `concurrency` run.
    pub(super) fn start_waiting(
        &self,
        waiting: &mut VecDeque<Job>,
        tasks: &mut JoinSet<()>,
        completions: &completer::Completions,
    ) {
        while tasks.len() < self.inner.settings.concurrency {
            let Some(job) = waiting.pop_front() else { break };
            tasks.spawn(self.clone().execute(job, completions.clone()));
        }
    }

    async fn execute(self, job: Job, completions: completer::Completions) {
        let Some((report, cancel, stop)) = self
            .running()
            .get(&job.id)
            .filter(|r| r.attempt == job.attempt)
            .map(|r| (r.report.clone(), r.cancel.clone(), r.stop.clone()))
        else {
            return;
        };
        let began = std::time::Instant::now();
        // Told to stop while waiting in the prefetch buffer: don't start it.
        let result = match stop.get().copied() {
            Some(StopReason::LeaseLost) => {
                self.forget(job.id, job.attempt);
                return;
            }
            Some(_) => Err(HandlerError::Retryable("stopped before it started".into())),
            None => self.run_handler(&job, report.clone(), cancel, stop.clone()).await,
        };
        let now = self.inner.clock.now();
        let action = decide(&job, result, stop.get().copied(), now, &self.inner.settings.backoff, rand::random());
        if let Some(action) = &action {
            self.inner.metrics.job_ran(job.job_type, began.elapsed(), action);
        }
        match action {
            // The common case goes to the batched completer, which forgets the job once written,
            // so its lease is renewed until then.
            Some(Action::Complete) if completions.send((job.id, job.attempt)).is_ok() => return,
            Some(action) => self.finish(&job, action, &report).await,
            None => {}
        }
        self.forget(job.id, job.attempt);
    }

    async fn run_handler(
        &self,
        job: &Job,
        report: Arc<Report>,
        cancel: CancellationToken,
        stop: Arc<OnceLock<StopReason>>,
    ) -> Result<(), HandlerError> {
        let Some(handler) = self.inner.handlers.get(job.job_type) else {
            return Err(HandlerError::Permanent(format!("no handler for job type {}", job.job_type)));
        };
        let began = std::time::Instant::now();
        let _running = super::claiming::HandlerRun::start(self, (job.id, job.attempt), began);
        let ctx = JobContext::new(job.clone(), report, cancel, stop);
        // Its own task, so a panic fails the job instead of the worker.
        let task = AbortOnDropHandle::new(tokio::spawn(async move { handler.run(&ctx).await }));
        let result = task.await.unwrap_or_else(|e| {
            let what = if e.is_panic() { "panicked" } else { "was aborted" };
            Err(HandlerError::Retryable(format!("the job's handler {what}")))
        });
        self.record_duration(began.elapsed());
        result
    }

    /// Write the outcome, fenced on the attempt; retried while the database is away (until
    /// the lease would have expired anyway and the rescuer takes over).
    async fn finish(&self, job: &Job, action: Action, report: &Report) {
        let name = action.name();
        // The last stage stays with the outcome: a failed job shows where it failed.
        let mut change =
            action.change(self.inner.clock.now()).fenced(job.attempt).with_stage(report.stage().as_deref());
        let reported = report.progress();
        if reported > NO_PROGRESS {
            change.progress_at_least = Some(change.progress_at_least.map_or(reported, |p| p.max(reported)));
        }
        let mut delay = Duration::from_millis(100);
        let give_up = tokio::time::Instant::now() + self.inner.settings.lease;
        loop {
            match self.inner.jobs.apply_change(job.id, name, change.clone()).await {
                Ok(_) => return,
                Err(JobError::Store(StoreError::Unavailable(err))) if tokio::time::Instant::now() < give_up => {
                    tracing::warn!(job = %job.id, error = %err, "database unavailable while finishing a job; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
                // Fenced out: the job was rescued or cancelled by hand meanwhile.
                Err(JobError::Conflict { .. } | JobError::NotFound) => return,
                Err(err) => {
                    tracing::error!(job = %job.id, error = %err, "could not record a job's outcome");
                    return;
                }
            }
        }
    }

    /// Let running jobs finish within the grace period, then stop the rest (handlers that honour
    /// cancellation requeue their job themselves; the caller hands back what is left).
    async fn drain(&self, tasks: &mut JoinSet<()>) {
        let grace = tokio::time::sleep(self.inner.settings.shutdown_grace);
        tokio::pin!(grace);
        let mut drained = false;
        while !drained {
            tokio::select! {
                next = tasks.join_next() => drained = next.is_none(),
                () = &mut grace => break,
            }
        }
        if !drained {
            tracing::warn!(running = tasks.len(), "shutdown grace period over; handing running jobs back");
        }
        for job in self.running().values() {
            job.stop(StopReason::Shutdown);
        }
        // Handlers that honour cancellation requeue their job themselves.
        let _ =
            tokio::time::timeout(Duration::from_secs(2), async { while tasks.join_next().await.is_some() {} }).await;
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }

    /// Give claimed jobs back to the queue in one statement, due now, not counted as a failure;
    /// a job whose cancel was requested ends cancelled instead.
    async fn hand_back(&self, jobs: Vec<(Uuid, i32)>) {
        if jobs.is_empty() {
            return;
        }
        if let Err(err) = self.inner.store.release_jobs(&jobs, self.inner.clock.now()).await {
            tracing::warn!(jobs = jobs.len(), error = %err, "could not hand jobs back; their leases will expire");
        }
        for (id, attempt) in jobs {
            self.forget(id, attempt);
        }
        let _ = self.inner.store.signal_new_jobs().await;
    }
}
