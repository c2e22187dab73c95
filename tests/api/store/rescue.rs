//! `rescue_expired`: what happens to a job whose worker stopped renewing.

use super::{
    WORKER, beat, claim_only, complete, find, insert, insert_due, lease, new_job, renew, rescue_at, running, unleased,
};
use crate::helpers::contract_tests;
use chrono::Duration;
use jobwatch::jobs::model::{JobStatus, NewJob};
use jobwatch::storage::queue::LEASE_EXPIRED;

contract_tests! {
    async fn an_expired_job_goes_back_to_the_queue_while_retries_remain(app) {
        let job = running(app, WORKER).await;
        let lease_until = app.clock_now() + lease();
        renew(app, WORKER, &[beat(&job, Some(60))], lease_until).await;

        assert_eq!(rescue_at(app, lease_until, 100).await, 0, "a lease ending now has not expired");
        let now = lease_until + Duration::milliseconds(1);
        assert_eq!(rescue_at(app, now, 100).await, 1);

        let back = find(app, job.id).await;
        assert_eq!((back.status, back.run_at, back.completed_at), (JobStatus::Pending, now, None));
        assert_eq!((back.retry_count, back.progress, back.attempt), (1, 0, 1), "a new run from the start");
        assert_eq!(back.error_message.as_deref(), Some(LEASE_EXPIRED));
        assert!(unleased(app, job.id).await);
        app.clock.advance(lease() * 2);
        assert_eq!(claim_only(app, "worker-b", &job).await.attempt, 2);
    }

    async fn an_expired_job_fails_once_its_retries_are_spent(app) {
        let job = insert(app, NewJob { max_retries: 1, ..new_job(app, 0, app.clock_now()) }).await;
        claim_only(app, WORKER, &job).await;
        app.clock.advance(lease() * 2);
        assert_eq!(rescue_at(app, app.clock_now(), 100).await, 1);
        let second = claim_only(app, WORKER, &job).await;
        renew(app, WORKER, &[beat(&second, Some(30))], app.clock_now() + lease()).await;

        app.clock.advance(lease() * 2);
        let now = app.clock_now();
        assert_eq!(rescue_at(app, now, 100).await, 1);
        let failed = find(app, job.id).await;
        assert_eq!((failed.status, failed.completed_at), (JobStatus::Failed, Some(now)));
        assert_eq!((failed.retry_count, failed.attempt), (1, 2));
        assert_eq!(failed.progress, 30, "progress frozen where it stopped");
        assert_eq!(failed.error_message.as_deref(), Some(LEASE_EXPIRED));
        assert!(unleased(app, job.id).await);
    }

    // Its worker died before it could stop the job: the cancel wins over a retry.
    async fn an_expired_job_whose_cancel_was_requested_ends_cancelled(app) {
        let job = running(app, WORKER).await;
        renew(app, WORKER, &[beat(&job, Some(30))], app.clock_now() + lease()).await;
        app.store.request_cancel(job.id, app.clock_now(), None).await.unwrap().unwrap();

        app.clock.advance(lease() * 2);
        let now = app.clock_now();
        assert_eq!(rescue_at(app, now, 100).await, 1);
        let cancelled = find(app, job.id).await;
        assert_eq!((cancelled.status, cancelled.completed_at), (JobStatus::Cancelled, Some(now)));
        assert_eq!((cancelled.retry_count, cancelled.progress, cancelled.error_message), (0, 30, None));
        assert_eq!(cancelled.cancel_requested_at, None);
        assert!(unleased(app, job.id).await);
    }

    async fn rescue_takes_at_most_limit_jobs(app) {
        for _ in 0..3 {
            running(app, WORKER).await;
        }
        let later = app.clock_now() + lease() * 2;
        assert_eq!(rescue_at(app, later, 2).await, 2);
        assert_eq!(app.count_jobs("status = 'running'").await, 1);
        assert_eq!(rescue_at(app, later, 2).await, 1);
        assert_eq!(rescue_at(app, later, 2).await, 0);
        assert_eq!(app.count_jobs("status = 'pending' and retry_count = 1").await, 3);
    }

    async fn rescue_leaves_live_leases_and_jobs_not_running_alone(app) {
        let expired = running(app, WORKER).await;
        app.clock.advance(Duration::seconds(20));
        let live = running(app, "worker-b").await;
        let done = running(app, WORKER).await;
        complete(app, &[(done.id, done.attempt)], app.clock_now()).await;
        let pending = insert(app, new_job(app, 0, app.clock_now() + Duration::hours(1))).await;
        let cancelled = insert_due(app).await;
        app.store.request_cancel(cancelled.id, app.clock_now(), None).await.unwrap().unwrap();
        // Rows another tool left with an old lease: only the status says who is running.
        let not_running = [done.id, pending.id, cancelled.id].map(|id| format!("'{id}'")).join(", ");
        let old = app.ago(Duration::days(1));
        let stale_lease = format!("update background_jobs set lease_expires_at = '{old}' where id in ({not_running})");
        app.sql(&stale_lease).await.unwrap();
        let mut snapshot = Vec::new();
        for job in [&live, &done, &pending, &cancelled] {
            snapshot.push(find(app, job.id).await);
        }

        app.clock.advance(Duration::seconds(15));
        assert_eq!(rescue_at(app, app.clock_now(), 100).await, 1);
        assert_eq!(find(app, expired.id).await.status, JobStatus::Pending);
        for job in snapshot {
            assert_eq!(find(app, job.id).await, job, "{} job changed", job.status);
        }
    }
}
