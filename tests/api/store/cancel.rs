//! `request_cancel` and `release_jobs`: a job nobody runs is cancelled at once; a held job is
//! only asked to stop, and its holder's release is what ends it.

use super::{WORKER, claim, claim_only, complete, find, insert_due, lease, leased_to, release, running, unleased};
use crate::helpers::contract_tests;
use chrono::Duration;
use jobwatch::jobs::Action;
use jobwatch::jobs::model::JobStatus;
use uuid::Uuid;

contract_tests! {
    async fn cancelling_a_pending_job_cancels_it_at_once(app) {
        let job = insert_due(app).await;
        app.clock.advance(Duration::seconds(1));
        let now = app.clock_now();
        let cancelled = app.store.request_cancel(job.id, now, None).await.unwrap().expect("pending can be cancelled");
        assert_eq!((cancelled.status, cancelled.completed_at), (JobStatus::Cancelled, Some(now)));
        assert_eq!(cancelled.cancel_requested_at, None, "nothing to ask: no worker runs it");
        assert_eq!(cancelled, find(app, job.id).await);
        assert!(claim(app, WORKER, 10).await.is_empty());
    }

    async fn cancelling_a_held_job_only_requests_it(app) {
        let job = running(app, WORKER).await;
        let lease_until = app.clock_now() + lease();
        app.clock.advance(Duration::seconds(1));
        let asked = app.clock_now();
        let requested = app.store.request_cancel(job.id, asked, None).await.unwrap().expect("running can be cancelled");
        assert_eq!((requested.status, requested.completed_at), (JobStatus::Running, None));
        assert_eq!(requested.cancel_requested_at, Some(asked));
        assert!(leased_to(app, job.id, WORKER, lease_until).await, "the holder keeps its lease");

        // Asking again keeps the first request's time.
        app.clock.advance(Duration::seconds(1));
        let again = app.store.request_cancel(job.id, app.clock_now(), None).await.unwrap().unwrap();
        assert_eq!((again.status, again.cancel_requested_at), (JobStatus::Running, Some(asked)));
    }

    // A row another tool left running without a holder: nobody would see the request.
    async fn cancelling_a_running_job_nobody_holds_cancels_it_at_once(app) {
        let job = running(app, WORKER).await;
        let id = job.id;
        app.sql(&format!("update background_jobs set locked_by = null, lease_expires_at = null where id = '{id}'"))
            .await.unwrap();
        let now = app.clock_now();
        let cancelled = app.store.request_cancel(job.id, now, None).await.unwrap().unwrap();
        assert_eq!((cancelled.status, cancelled.completed_at), (JobStatus::Cancelled, Some(now)));
        assert_eq!(cancelled.cancel_requested_at, None);
    }

    async fn a_held_job_released_after_a_cancel_request_ends_cancelled(app) {
        let job = running(app, WORKER).await;
        app.store.request_cancel(job.id, app.clock_now(), None).await.unwrap().unwrap();
        app.clock.advance(Duration::seconds(2));
        let now = app.clock_now();
        assert_eq!(release(app, &[(job.id, job.attempt)], now).await, 1);

        let ended = find(app, job.id).await;
        assert_eq!((ended.status, ended.completed_at), (JobStatus::Cancelled, Some(now)));
        assert_eq!((ended.attempt, ended.retry_count, ended.cancel_requested_at), (1, 0, None));
        assert!(unleased(app, job.id).await);
        assert!(claim(app, WORKER, 10).await.is_empty(), "not back in the queue");
    }

    async fn a_release_without_a_cancel_request_requeues_the_job_due_now(app) {
        let job = running(app, WORKER).await;
        app.clock.advance(Duration::seconds(7));
        let now = app.clock_now();
        assert_eq!(release(app, &[(job.id, job.attempt)], now).await, 1);

        let back = find(app, job.id).await;
        assert_eq!((back.status, back.run_at, back.completed_at), (JobStatus::Pending, now, None));
        assert_eq!((back.attempt, back.retry_count, back.error_message), (1, 0, None), "not counted as a retry");
        assert!(unleased(app, job.id).await);
        assert_eq!(claim_only(app, "worker-b", &job).await.attempt, 2);
    }

    async fn cancelling_a_finished_or_unknown_job_returns_none(app) {
        let now = app.clock_now();
        let completed = running(app, WORKER).await;
        complete(app, &[(completed.id, completed.attempt)], now).await;
        let failed = running(app, WORKER).await;
        let fail = Action::Fail("boom".into()).change(now).fenced(failed.attempt);
        app.store.change_job(failed.id, &fail).await.unwrap().unwrap();
        let cancelled = insert_due(app).await;
        app.store.request_cancel(cancelled.id, now, None).await.unwrap().unwrap();

        app.clock.advance(Duration::seconds(1));
        for id in [completed.id, failed.id, cancelled.id] {
            let before = find(app, id).await;
            assert_eq!(app.store.request_cancel(id, app.clock_now(), None).await.unwrap(), None, "{}", before.status);
            assert_eq!(find(app, id).await, before);
        }
        assert_eq!(app.store.request_cancel(Uuid::now_v7(), app.clock_now(), None).await.unwrap(), None);
    }
}
