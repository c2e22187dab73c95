//! One live socket: its snapshot, then its view's changes in version order — a job's
//! progress at most once per `progress_every`, its state changes at once — with pings, and
//! closed when its session ends or the node stops.

use super::hub::{Hub, Push, Registration, Scope, Seat};
use super::messages::{Rendered, SnapshotReason, snapshot};
use crate::jobs::model::JobStatus;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

/// Close codes a client may see besides the standard ones.
pub const CLOSE_SESSION_ENDED: u16 = 4401;
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_INTERNAL: u16 = 1011;

/// Serves one upgraded socket until it ends.
pub(super) async fn run(mut socket: WebSocket, mut seat: Seat, hub: Arc<Hub>, scope: Scope, token: Vec<u8>) {
    let Registration { mut pushes, overflowed, ended } = seat.register(scope, token);
    let settings = hub.settings.clone();
    let timeout = settings.write_timeout;
    let mut view = View::new(settings.progress_every);
    if scope == Scope::Everyone {
        // Every user's changes pass through an admin's socket: remember a bounded number.
        view = view.remembering_at_most(super::hub::EVERYONE_LIMIT as usize * 4);
    }
    // Registered first, then read: a change made in between arrives as a push, and the
    // versions sort out which is newer.
    let first = match hub.snapshot(scope).await {
        Ok(jobs) => view.snapshot(SnapshotReason::Connected, &jobs, Instant::now()),
        Err(err) => {
            tracing::warn!(error = %err, "cannot read a live socket's first snapshot");
            let _ = send(&mut socket, timeout, close(CLOSE_INTERNAL, "cannot read your jobs now; reconnect")).await;
            return;
        }
    };
    if !send(&mut socket, timeout, Message::Text(first)).await {
        return;
    }
    let mut ping = tokio::time::interval_at(Instant::now() + settings.ping_every, settings.ping_every);
    let mut stall_check = tokio::time::interval(settings.stall_check_every);
    let mut unanswered = 0u8;
    loop {
        let flush_at = view.flush_at();
        let mut out = Vec::new();
        tokio::select! {
            biased;
            () = hub.stop.cancelled() => {
                return close_and_wait(&mut socket, timeout, close(CLOSE_GOING_AWAY, "server shutting down; reconnect")).await;
            }
            () = ended.cancelled() => {
                return close_and_wait(&mut socket, timeout, close(CLOSE_SESSION_ENDED, "session ended; log in again")).await;
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) => return,
                // Answered (the library queued the reply), so the client sees a clean close.
                Some(Ok(Message::Close(_))) => {
                    let _ = tokio::time::timeout(timeout, futures_util::SinkExt::close(&mut socket)).await;
                    return;
                }
                // A pong, or anything else: the client is there. What it says is not read.
                Some(Ok(_)) => unanswered = 0,
            },
            push = pushes.recv() => {
                let Some(push) = push else { return };
                if overflowed.swap(false, Ordering::AcqRel) || matches!(push, Push::Overflow) {
                    // Dropped pushes: whatever is still queued is older than a fresh read.
                    while pushes.try_recv().is_ok() {}
                    match hub.snapshot(scope).await {
                        Ok(jobs) => out.push(view.snapshot(SnapshotReason::Overflow, &jobs, Instant::now())),
                        Err(_) => {
                            let _ = send(&mut socket, timeout, close(CLOSE_INTERNAL, "cannot read your jobs now; reconnect")).await;
                            return;
                        }
                    }
                } else {
                    match push {
                        Push::Jobs(jobs) => out = view.changes(&jobs, Instant::now()),
                        Push::Snapshot(reason, jobs) => out.push(view.snapshot(reason, &jobs, Instant::now())),
                        Push::Overflow => {}
                    }
                }
            }
            () = tokio::time::sleep_until(flush_at.unwrap_or_else(Instant::now)), if flush_at.is_some() => {
                out = view.flush(Instant::now());
            }
            _ = ping.tick() => {
                if unanswered >= 2 {
                    return;
                }
                unanswered += 1;
                if !send(&mut socket, timeout, Message::Ping(Default::default())).await {
                    return;
                }
                view.forget_finished(hub.jobs.viewed_at().now);
            }
            _ = stall_check.tick(), if view.has_running() => {
                let due = view.due_to_stall(hub.jobs.viewed_at().now);
                if !due.is_empty() {
                    hub.recheck(due);
                }
            }
        }
        for message in out {
            if !send(&mut socket, timeout, Message::Text(message)).await {
                return;
            }
        }
    }
}

/// False when the client is gone or took longer than `timeout` to take the message.
async fn send(socket: &mut WebSocket, timeout: Duration, message: Message) -> bool {
    matches!(tokio::time::timeout(timeout, socket.send(message)).await, Ok(Ok(())))
}

/// Sends `close`, then reads until the client's answer (briefly): a socket dropped with data
/// unread is reset, and the client would see 1006 instead of the code.
async fn close_and_wait(socket: &mut WebSocket, timeout: Duration, close: Message) {
    if !send(socket, timeout, close).await {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                return;
            }
        }
    })
    .await;
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }))
}

/// What one socket has been sent, and progress it holds back.
pub(super) struct View {
    window: Duration,
    /// Most jobs remembered; past it the finished, then the longest quiet, are forgotten.
    cap: usize,
    sent: HashMap<Uuid, Sent>,
    /// Newer progress of a job sent less than `window` ago.
    held: HashMap<Uuid, Rendered>,
}

struct Sent {
    version: i64,
    status: JobStatus,
    stalled: bool,
    stalls_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    at: Instant,
}

impl Sent {
    fn of(job: &Rendered, at: Instant) -> Self {
        Sent {
            version: job.version,
            status: job.status,
            stalled: job.stalled,
            stalls_at: job.stalls_at,
            completed_at: job.completed_at,
            at,
        }
    }

    /// `job` shows something this socket has not been sent.
    fn is_older_than(&self, job: &Rendered) -> bool {
        job.version > self.version || (job.version == self.version && job.stalled != self.stalled)
    }
}

impl View {
    pub(super) fn new(window: Duration) -> Self {
        View { window, cap: usize::MAX, sent: HashMap::new(), held: HashMap::new() }
    }

    pub(super) fn remembering_at_most(self, cap: usize) -> Self {
        View { cap: cap.max(2), ..self }
    }

    /// Back to half the cap: finished jobs first, then those sent longest ago. A forgotten
    /// job is sent again at its next change, as a job new to the view.
    fn forget_past_cap(&mut self) {
        if self.sent.len() <= self.cap {
            return;
        }
        let mut by_age: Vec<(bool, Instant, Uuid)> =
            self.sent.iter().map(|(id, sent)| (sent.status.is_terminal(), sent.at, *id)).collect();
        // Finished before unfinished, older before newer.
        by_age.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, _, id) in by_age.into_iter().take(self.sent.len() - self.cap / 2) {
            self.sent.remove(&id);
            self.held.remove(&id);
        }
    }

    /// The snapshot message; the view starts over from it.
    pub(super) fn snapshot(&mut self, reason: SnapshotReason, jobs: &[Rendered], now: Instant) -> Utf8Bytes {
        self.sent = jobs.iter().map(|job| (job.id, Sent::of(job, now))).collect();
        self.held.clear();
        snapshot(reason, jobs)
    }

    /// The messages to send now for `jobs` as just read: only what is newer than what was
    /// sent; a change of progress alone within `window` of the job's last message is held.
    pub(super) fn changes(&mut self, jobs: &[Rendered], now: Instant) -> Vec<Utf8Bytes> {
        let mut out = Vec::new();
        for job in jobs {
            if let Some(sent) = self.sent.get_mut(&job.id)
                && !sent.is_older_than(job)
            {
                // Nothing new to show, but its lease may have been renewed.
                if job.version == sent.version {
                    sent.stalls_at = job.stalls_at;
                }
                continue;
            }
            if self.held.get(&job.id).is_some_and(|held| held.version > job.version) {
                continue;
            }
            let soon = self.sent.get(&job.id).filter(|s| s.status == job.status && now < s.at + self.window);
            if soon.is_some() {
                self.held.insert(job.id, job.clone());
                continue;
            }
            self.held.remove(&job.id);
            self.sent.insert(job.id, Sent::of(job, now));
            out.push(job.message());
        }
        self.forget_past_cap();
        out
    }

    /// When the first held message is due.
    pub(super) fn flush_at(&self) -> Option<Instant> {
        self.held.keys().filter_map(|id| self.sent.get(id)).map(|sent| sent.at + self.window).min()
    }

    /// Held messages now due.
    pub(super) fn flush(&mut self, now: Instant) -> Vec<Utf8Bytes> {
        let due: Vec<Uuid> = self
            .held
            .keys()
            .filter(|id| self.sent.get(id).is_none_or(|sent| sent.at + self.window <= now))
            .copied()
            .collect();
        let mut out = Vec::new();
        for id in due {
            if let Some(job) = self.held.remove(&id) {
                self.sent.insert(id, Sent::of(&job, now));
                out.push(job.message());
            }
        }
        out
    }

    pub(super) fn has_running(&self) -> bool {
        self.sent.values().any(|sent| sent.stalls_at.is_some() && !sent.stalled)
    }

    /// Running jobs sent as live that, heard nothing of since, are stalled by `now`.
    pub(super) fn due_to_stall(&self, now: DateTime<Utc>) -> Vec<Uuid> {
        self.sent
            .iter()
            .filter(|(_, sent)| !sent.stalled && sent.stalls_at.is_some_and(|at| at <= now))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Jobs that left every active view (finished over five minutes ago) need no memory.
    pub(super) fn forget_finished(&mut self, now: DateTime<Utc>) {
        let cutoff = now - crate::jobs::service::FINISHED_VISIBLE_FOR;
        self.sent.retain(|_, sent| sent.completed_at.is_none_or(|at| at >= cutoff));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::model::{Job, JobType, ViewedAt};

    const WINDOW: Duration = Duration::from_millis(100);

    fn seen() -> ViewedAt {
        ViewedAt { now: Utc::now(), stalled_after: chrono::Duration::seconds(20) }
    }

    fn job(id: Uuid, version: i64, status: JobStatus, progress: i32) -> Rendered {
        let now = Utc::now();
        let job = Job {
            id,
            job_type: JobType::Processing,
            status,
            progress,
            related_dataset_id: None,
            created_by: Some(Uuid::nil()),
            created_at: now,
            started_at: (status != JobStatus::Pending).then_some(now),
            completed_at: status.is_terminal().then_some(now),
            error_message: None,
            retry_count: 0,
            max_retries: 3,
            metadata: serde_json::json!({}),
            priority: 0,
            run_at: now,
            attempt: 1,
            cancel_requested_at: None,
            version,
            stage: None,
            heartbeat_at: None,
        };
        Rendered::new(job, seen())
    }

    fn versions(messages: &[Utf8Bytes]) -> Vec<i64> {
        messages
            .iter()
            .map(|m| serde_json::from_str::<serde_json::Value>(m.as_str()).unwrap()["job"]["version"].as_i64().unwrap())
            .collect()
    }

    #[test]
    fn only_newer_versions_are_sent_and_never_twice() {
        let id = Uuid::new_v4();
        let mut view = View::new(WINDOW);
        let t = Instant::now();
        view.snapshot(SnapshotReason::Connected, &[job(id, 3, JobStatus::Pending, 0)], t);
        assert!(view.changes(&[job(id, 3, JobStatus::Pending, 0)], t).is_empty(), "already in the snapshot");
        assert!(view.changes(&[job(id, 2, JobStatus::Pending, 0)], t).is_empty(), "older than the snapshot");
        let sent = view.changes(&[job(id, 4, JobStatus::Running, 0), job(id, 4, JobStatus::Running, 0)], t);
        assert_eq!(versions(&sent), [4], "a state change goes at once, once");
        let other = Uuid::new_v4();
        assert_eq!(versions(&view.changes(&[job(other, 1, JobStatus::Pending, 0)], t)), [1], "a job new to the view");
    }

    #[test]
    fn progress_is_held_to_one_message_per_window_and_state_changes_are_not() {
        let id = Uuid::new_v4();
        let mut view = View::new(WINDOW);
        let t = Instant::now();
        view.snapshot(SnapshotReason::Connected, &[job(id, 1, JobStatus::Running, 0)], t);
        assert!(view.changes(&[job(id, 2, JobStatus::Running, 10)], t + WINDOW / 10).is_empty());
        assert!(view.changes(&[job(id, 3, JobStatus::Running, 20)], t + WINDOW / 5).is_empty());
        assert_eq!(view.flush_at(), Some(t + WINDOW));
        assert!(view.flush(t + WINDOW / 2).is_empty(), "not due yet");
        assert_eq!(versions(&view.flush(t + WINDOW)), [3], "only the latest progress");
        assert_eq!(view.flush_at(), None);

        assert!(view.changes(&[job(id, 4, JobStatus::Running, 30)], t + WINDOW + WINDOW / 10).is_empty());
        let done = view.changes(&[job(id, 5, JobStatus::Completed, 100)], t + WINDOW + WINDOW / 5);
        assert_eq!(versions(&done), [5], "completion is not held, and replaces the held progress");
        assert!(view.flush(t + WINDOW * 3).is_empty());
    }

    #[test]
    fn a_job_that_stalls_is_due_for_a_recheck_and_its_stalled_view_is_sent() {
        let id = Uuid::new_v4();
        let mut view = View::new(WINDOW);
        let t = Instant::now();
        let running = job(id, 2, JobStatus::Running, 10);
        let stalls_at = running.stalls_at.unwrap();
        view.snapshot(SnapshotReason::Connected, &[running], t);
        assert!(view.has_running());
        assert!(view.due_to_stall(stalls_at - chrono::Duration::seconds(1)).is_empty());
        assert_eq!(view.due_to_stall(stalls_at), [id]);

        let mut stalled = job(id, 2, JobStatus::Running, 10);
        stalled.stalled = true;
        assert_eq!(versions(&view.changes(&[stalled], t + WINDOW)), [2], "same version, now stalled");
        assert!(view.due_to_stall(stalls_at).is_empty());
    }

    #[test]
    fn finished_jobs_are_forgotten_after_they_leave_the_active_view() {
        let mut view = View::new(WINDOW);
        let done = job(Uuid::new_v4(), 5, JobStatus::Completed, 100);
        let finished = done.completed_at.unwrap();
        view.snapshot(
            SnapshotReason::Connected,
            &[done, job(Uuid::new_v4(), 1, JobStatus::Pending, 0)],
            Instant::now(),
        );
        view.forget_finished(finished + chrono::Duration::minutes(4));
        assert_eq!(view.sent.len(), 2);
        view.forget_finished(finished + chrono::Duration::minutes(6));
        assert_eq!(view.sent.len(), 1);
    }

    #[test]
    fn a_capped_view_forgets_finished_jobs_first() {
        let mut view = View::new(WINDOW).remembering_at_most(4);
        let t = Instant::now();
        let running: Vec<Uuid> = (0..2).map(|_| Uuid::new_v4()).collect();
        let done: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        let mut jobs: Vec<Rendered> = running.iter().map(|id| job(*id, 1, JobStatus::Running, 5)).collect();
        jobs.extend(done.iter().map(|id| job(*id, 1, JobStatus::Completed, 100)));
        assert_eq!(view.changes(&jobs, t).len(), 5, "all are sent");
        assert!(view.sent.len() <= 4, "but no more than the cap remembered");
        assert!(running.iter().all(|id| view.sent.contains_key(id)), "the unfinished are kept");
    }
}
