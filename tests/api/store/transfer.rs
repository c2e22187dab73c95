//! `transfer_job`: an upload hands the job it holds to a worker in the same attempt.

use super::{WORKER, beat, complete, find, lease, leased_to, new_job, renew};
use crate::helpers::{TestApp, contract_tests};
use chrono::Duration;
use jobwatch::jobs::model::{Job, JobStatus, NewJob};
use serde_json::json;

const UPLOAD: &str = "upload-node";

/// A running job `UPLOAD` holds from the start (no claim), as an upload's is.
async fn held_by_upload(app: &TestApp) -> Job {
    let job = NewJob { metadata: json!({"file": "a.csv", "stage": "uploading"}), ..new_job(app, 0, app.clock_now()) };
    let now = app.clock_now();
    let held = app.store.insert_held_job(&job, UPLOAD, now, now + lease()).await.unwrap();
    assert_eq!((held.status, held.attempt, held.started_at), (JobStatus::Running, 1, Some(now)));
    held
}

contract_tests! {
    async fn a_transfer_passes_a_held_job_to_another_holder_in_the_same_attempt(app) {
        let job = held_by_upload(app).await;
        app.clock.advance(Duration::seconds(5));
        let until = app.clock_now() + lease();
        let extra = json!({"stage": "stored", "size_bytes": 42});
        let moved = app.store.transfer_job(job.id, job.attempt, UPLOAD, WORKER, until, 60, &extra)
            .await.unwrap().expect("the upload holds it");
        assert_eq!((moved.status, moved.attempt, moved.progress), (JobStatus::Running, 1, 60));
        assert_eq!(moved.metadata, json!({"file": "a.csv", "stage": "stored", "size_bytes": 42}));
        assert_eq!(moved.started_at, job.started_at, "the same run goes on");
        assert_eq!(moved, find(app, job.id).await);
        assert!(leased_to(app, job.id, WORKER, until).await);

        // The new holder renews it; the old one no longer can.
        assert!(renew(app, UPLOAD, &[beat(&moved, None)], until).await.is_empty());
        let held = renew(app, WORKER, &[beat(&moved, None)], until).await;
        assert_eq!(held, vec![(job.id, false)]);
    }

    async fn a_transfer_raises_progress_but_never_lowers_it(app) {
        let job = held_by_upload(app).await;
        let until = app.clock_now() + lease();
        renew(app, UPLOAD, &[beat(&job, Some(70))], until).await;
        let moved = app.store.transfer_job(job.id, job.attempt, UPLOAD, WORKER, until, 20, &json!({}))
            .await.unwrap().unwrap();
        assert_eq!(moved.progress, 70);
        assert_eq!(moved.metadata, job.metadata, "no keys, no change");
    }

    async fn a_transfer_is_refused_unless_the_from_holder_holds_the_attempt(app) {
        let job = held_by_upload(app).await;
        let until = app.clock_now() + lease() * 2;
        let extra = json!({"stage": "stolen"});
        let store = &app.store;
        let not_from = store.transfer_job(job.id, job.attempt, "other-node", WORKER, until, 90, &extra).await.unwrap();
        assert_eq!(not_from, None, "another holder's name");
        let stale = store.transfer_job(job.id, job.attempt + 1, UPLOAD, WORKER, until, 90, &extra).await.unwrap();
        assert_eq!(stale, None, "another attempt");
        assert_eq!(find(app, job.id).await, job);
        assert!(leased_to(app, job.id, UPLOAD, app.clock_now() + lease()).await);

        // Finished, it is nobody's to pass on.
        complete(app, &[(job.id, job.attempt)], app.clock_now()).await;
        assert_eq!(store.transfer_job(job.id, job.attempt, UPLOAD, WORKER, until, 90, &extra).await.unwrap(), None);
        assert_eq!(find(app, job.id).await.status, JobStatus::Completed);
    }

    // The upload then gives up on the job instead of handing on work nobody wants.
    async fn a_transfer_is_refused_once_a_cancel_was_requested(app) {
        let job = held_by_upload(app).await;
        let requested = app.store.request_cancel(job.id, app.clock_now(), None).await.unwrap().unwrap();
        assert_eq!(requested.status, JobStatus::Running);
        let until = app.clock_now() + lease() * 2;
        let extra = json!({"stage": "stored"});
        let moved = app.store.transfer_job(job.id, job.attempt, UPLOAD, WORKER, until, 90, &extra).await.unwrap();
        assert_eq!(moved, None);
        assert_eq!(find(app, job.id).await, requested);
        assert!(leased_to(app, job.id, UPLOAD, app.clock_now() + lease()).await);
    }

    // "metadata's keys set": each top-level key takes the value given, as PostgreSQL's `||` does.
    async fn a_transfer_sets_each_given_metadata_key_to_the_value_given(app) {
        let metadata = json!({"source": {"path": "a.csv", "sheet": 1}, "note": "x", "kept": true, "a\"b": 1});
        let job = NewJob { metadata, ..new_job(app, 0, app.clock_now()) };
        let now = app.clock_now();
        let held = app.store.insert_held_job(&job, UPLOAD, now, now + lease()).await.unwrap();
        let given = json!({"source": {"path": "b.csv"}, "note": null, "a\"b": [2]});
        let moved = app.store.transfer_job(held.id, held.attempt, UPLOAD, WORKER, now + lease(), 0, &given)
            .await.unwrap().unwrap();
        let expected = json!({"source": {"path": "b.csv"}, "note": null, "kept": true, "a\"b": [2]});
        assert_eq!(moved.metadata, expected);
        assert_eq!(find(app, held.id).await.metadata, expected);
    }
}
