//! Fencing on the attempt: a worker whose run was rescued and claimed again elsewhere still
//! believes it holds the job. None of its writes may land; the current holder's do.

use super::{WORKER, beat, complete, find, lease, leased_to, release, renew, rescue_and_reclaim, running, unleased};
use crate::helpers::{TestApp, contract_tests};
use jobwatch::jobs::Action;
use jobwatch::jobs::model::{Job, JobStatus};

/// The same job as its first holder saw it (attempt 1, stale) and as it is now (attempt 2,
/// held by `worker-b`).
async fn stale_and_current(app: &TestApp) -> (Job, Job) {
    let stale = running(app, WORKER).await;
    let current = rescue_and_reclaim(app, &stale, "worker-b").await;
    assert_eq!((stale.attempt, current.attempt), (1, 2));
    (stale, current)
}

/// Nothing changed since the re-claim: still running attempt 2 under worker-b's lease.
async fn assert_untouched(app: &TestApp, current: &Job) {
    assert_eq!(&find(app, current.id).await, current);
    assert!(leased_to(app, current.id, "worker-b", app.clock_now() + lease()).await);
}

contract_tests! {
    async fn completing_a_stale_attempt_changes_nothing(app) {
        let (stale, current) = stale_and_current(app).await;
        let now = app.clock_now();
        assert_eq!(complete(app, &[(stale.id, stale.attempt)], now).await, 0);
        assert_untouched(app, &current).await;

        assert_eq!(complete(app, &[(current.id, current.attempt)], now).await, 1);
        let done = find(app, current.id).await;
        assert_eq!((done.status, done.progress, done.completed_at), (JobStatus::Completed, 100, Some(now)));
        assert!(unleased(app, current.id).await);
    }

    // One batch, one fence per job: the current run completes beside a stale one.
    async fn a_completion_batch_fences_each_job_on_its_own_attempt(app) {
        let (stale, current) = stale_and_current(app).await;
        let other = running(app, WORKER).await;
        let batch = [(stale.id, stale.attempt), (other.id, other.attempt)];
        assert_eq!(complete(app, &batch, app.clock_now()).await, 1);
        assert_eq!(find(app, other.id).await.status, JobStatus::Completed);
        assert_untouched(app, &current).await;
    }

    async fn releasing_a_stale_attempt_changes_nothing(app) {
        let (stale, current) = stale_and_current(app).await;
        let now = app.clock_now();
        assert_eq!(release(app, &[(stale.id, stale.attempt)], now).await, 0);
        assert_untouched(app, &current).await;

        assert_eq!(release(app, &[(current.id, current.attempt)], now).await, 1);
        assert_eq!(find(app, current.id).await.status, JobStatus::Pending);
    }

    // The stale holder is refused even under the current holder's name.
    async fn renewing_a_stale_attempt_changes_nothing(app) {
        let (stale, current) = stale_and_current(app).await;
        let later = app.clock_now() + lease() * 3;
        for worker in [WORKER, "worker-b"] {
            let held = renew(app, worker, &[beat(&stale, Some(90))], later).await;
            assert!(held.is_empty(), "{worker} renewed a stale attempt");
        }
        assert_untouched(app, &current).await;

        let held = renew(app, "worker-b", &[beat(&current, Some(90))], later).await;
        assert_eq!(held, vec![(current.id, false)]);
        assert_eq!(find(app, current.id).await.progress, 90);
        assert!(leased_to(app, current.id, "worker-b", later).await);
    }

    async fn a_fenced_change_of_a_stale_attempt_changes_nothing(app) {
        let (stale, current) = stale_and_current(app).await;
        let now = app.clock_now();
        for action in [Action::Progress(80), Action::Fail("stale".into()), Action::Complete] {
            let change = action.change(now).fenced(stale.attempt);
            assert_eq!(app.store.change_job(stale.id, &change).await.unwrap(), None);
        }
        assert_untouched(app, &current).await;

        let change = Action::Fail("boom".into()).change(now).fenced(current.attempt);
        let failed = app.store.change_job(current.id, &change).await.unwrap().expect("current attempt applies");
        assert_eq!((failed.status, failed.error_message.as_deref()), (JobStatus::Failed, Some("boom")));
        assert!(unleased(app, current.id).await, "leaving running drops the lease");
    }

    // Same attempt, but the job is no longer running: a released job is not the worker's.
    async fn writes_after_a_release_change_nothing_in_the_same_attempt(app) {
        let job = running(app, WORKER).await;
        let now = app.clock_now();
        release(app, &[(job.id, job.attempt)], now).await;
        let released = find(app, job.id).await;

        assert_eq!(complete(app, &[(job.id, job.attempt)], now).await, 0);
        assert_eq!(release(app, &[(job.id, job.attempt)], now).await, 0);
        assert!(renew(app, WORKER, &[beat(&job, Some(50))], now + lease()).await.is_empty());
        let change = Action::Complete.change(now).fenced(job.attempt);
        assert_eq!(app.store.change_job(job.id, &change).await.unwrap(), None);
        assert_eq!(find(app, job.id).await, released);
    }
}
