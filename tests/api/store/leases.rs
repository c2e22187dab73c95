//! `renew_leases`: a worker's heartbeat. It extends what the worker still holds, records
//! progress, passes on cancel requests, and leaves out every job the worker lost.

use super::{WORKER, beat, claim_only, complete, find, insert_due, lease, leased_to, renew, rescue_at, running};
use crate::helpers::contract_tests;
use chrono::Duration;
use jobwatch::jobs::JobType;
use jobwatch::jobs::model::JobStatus;
use jobwatch::storage::ClaimKey;

contract_tests! {
    async fn renewing_extends_the_lease(app) {
        let job = running(app, WORKER).await;
        let old_lease = app.clock_now() + lease();
        app.clock.advance(Duration::seconds(20));
        let new_lease = app.clock_now() + lease();
        let held = renew(app, WORKER, &[beat(&job, None)], new_lease).await;
        assert_eq!(held, vec![(job.id, false)]);
        assert!(leased_to(app, job.id, WORKER, new_lease).await);

        // Past the old lease nothing is rescued; past the new one it is.
        let past_old = old_lease + Duration::seconds(1);
        assert_eq!(rescue_at(app, past_old, 100).await, 0);
        let still = find(app, job.id).await;
        assert_eq!((still.status, still.attempt), (JobStatus::Running, 1));
        assert_eq!(rescue_at(app, new_lease + Duration::seconds(1), 100).await, 1);
    }

    async fn renewal_records_progress_only_upward(app) {
        let job = running(app, WORKER).await;
        let until = app.clock_now() + lease();
        for (sent, recorded) in [(Some(40), 40), (Some(10), 40), (None, 40), (Some(70), 70), (Some(0), 70)] {
            renew(app, WORKER, &[beat(&job, sent)], until).await;
            assert_eq!(find(app, job.id).await.progress, recorded, "after sending {sent:?}");
        }
    }

    async fn renewal_reports_requested_cancels(app) {
        let asked = running(app, WORKER).await;
        let left_alone = running(app, WORKER).await;
        app.store.request_cancel(asked.id, app.clock_now(), None).await.unwrap().unwrap();
        let until = app.clock_now() + lease();
        let held = renew(app, WORKER, &[beat(&asked, None), beat(&left_alone, None)], until).await;
        let mut expected = vec![(asked.id, true), (left_alone.id, false)];
        expected.sort();
        assert_eq!(held, expected);
        assert!(leased_to(app, asked.id, WORKER, until).await, "still held until its worker stops it");
    }

    async fn renewal_omits_jobs_the_worker_no_longer_holds(app) {
        let now = app.clock_now();
        let kept = running(app, WORKER).await;
        let elsewhere = running(app, "worker-b").await;
        let finished = running(app, WORKER).await;
        complete(app, &[(finished.id, finished.attempt)], now).await;
        // Claimed with a short lease, lost to the rescuer and claimed again by the same worker:
        // only the attempt tells the old run from the new.
        let job = insert_due(app).await;
        let short = app.store
            .claim_jobs(WORKER, &[JobType::Processing], 1, ClaimKey::start(), now, now + Duration::seconds(1))
            .await.unwrap();
        assert_eq!(short[0].id, job.id);
        app.clock.advance(Duration::seconds(2));
        assert_eq!(rescue_at(app, app.clock_now(), 100).await, 1);
        let reclaimed = claim_only(app, WORKER, &job).await;

        let until = app.clock_now() + lease() * 2;
        let beats: Vec<_> = [&kept, &elsewhere, &finished, &short[0]].map(|j| beat(j, Some(10))).into();
        let held = renew(app, WORKER, &beats, until).await;
        assert_eq!(held, vec![(kept.id, false)]);

        assert!(leased_to(app, elsewhere.id, "worker-b", now + lease()).await, "another's lease untouched");
        assert_eq!(find(app, elsewhere.id).await.progress, 0);
        assert_eq!(find(app, finished.id).await.status, JobStatus::Completed);
        assert_eq!(find(app, reclaimed.id).await, reclaimed, "the new run is not the old one's to renew");
        assert!(leased_to(app, reclaimed.id, WORKER, app.clock_now() + lease()).await);
        assert!(renew(app, WORKER, &[], until).await.is_empty());
    }
}
