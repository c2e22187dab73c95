//! `claim_jobs`: which jobs a worker gets, in which order, and what a claim writes.

use super::{
    WORKER, beat, claim, claim_only, find, insert, insert_due, lease, leased_to, new_job, release, renew, running, ts,
};
use crate::helpers::contract_tests;
use chrono::Duration;
use jobwatch::jobs::JobType;
use jobwatch::jobs::model::{JobStatus, NewJob};
use jobwatch::storage::ClaimKey;
use std::collections::HashSet;
use uuid::Uuid;

contract_tests! {
    // One at a time, so the order is the database's (a batch is also sorted in Rust).
    async fn claims_come_in_priority_then_run_at_then_id_order(app) {
        let now = app.clock_now();
        let late_low = insert(app, new_job(app, 0, now - Duration::seconds(2))).await;
        let high = insert(app, new_job(app, 5, now - Duration::seconds(1))).await;
        let early_low = insert(app, new_job(app, 0, now - Duration::seconds(3))).await;
        let high_twin = insert(app, new_job(app, 5, now - Duration::seconds(1))).await;
        let negative = insert(app, new_job(app, -5, now - Duration::seconds(10))).await;

        let mut twins = [high.id, high_twin.id];
        twins.sort();
        let expected = vec![twins[0], twins[1], early_low.id, late_low.id, negative.id];
        let mut order = Vec::new();
        for _ in 0..5 {
            order.extend(claim(app, WORKER, 1).await.iter().map(|j| j.id));
        }
        assert_eq!(order, expected);
    }

    async fn a_batch_claim_returns_its_jobs_in_claim_order(app) {
        let now = app.clock_now();
        let low = insert(app, new_job(app, 0, now)).await;
        let high = insert(app, new_job(app, 9, now)).await;
        let earlier = insert(app, new_job(app, 0, now - Duration::seconds(1))).await;
        let ids: Vec<Uuid> = claim(app, WORKER, 10).await.iter().map(|j| j.id).collect();
        assert_eq!(ids, vec![high.id, earlier.id, low.id]);
    }

    async fn jobs_not_yet_due_are_not_claimed(app) {
        let now = app.clock_now();
        let later = insert(app, new_job(app, 1000, now + Duration::seconds(1))).await;
        let due_now = insert(app, new_job(app, 0, now)).await;
        let claimed = claim(app, WORKER, 10).await;
        assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![due_now.id], "run_at = now is due");
        assert_eq!(find(app, later.id).await.status, JobStatus::Pending);

        app.clock.advance(Duration::seconds(1));
        claim_only(app, WORKER, &later).await;
    }

    async fn only_the_requested_job_types_are_claimed(app) {
        let now = app.clock_now();
        let of_type = |job_type| NewJob { job_type, ..new_job(app, 0, now) };
        let export = insert(app, of_type(JobType::Export)).await;
        let import = insert(app, of_type(JobType::Import)).await;
        let processing = insert(app, of_type(JobType::Processing)).await;
        let lease_until = now + lease();

        let none = app.store.claim_jobs(WORKER, &[], 10, ClaimKey::start(), now, lease_until).await.unwrap();
        assert!(none.is_empty(), "no types, no jobs");
        let types = [JobType::Processing, JobType::Import];
        let claimed = app.store.claim_jobs(WORKER, &types, 10, ClaimKey::start(), now, lease_until).await.unwrap();
        let ids: HashSet<Uuid> = claimed.iter().map(|j| j.id).collect();
        assert_eq!(ids, HashSet::from([import.id, processing.id]));
        assert_eq!(find(app, export.id).await.status, JobStatus::Pending);
    }

    async fn a_claim_takes_at_most_limit_jobs_from_the_top(app) {
        let now = app.clock_now();
        let mut jobs = Vec::new();
        for priority in [1, 5, 3, 4, 2] {
            jobs.push(insert(app, new_job(app, priority, now)).await);
        }
        assert!(claim(app, WORKER, 0).await.is_empty());
        let ids: Vec<Uuid> = claim(app, WORKER, 2).await.iter().map(|j| j.id).collect();
        assert_eq!(ids, vec![jobs[1].id, jobs[3].id]);
        assert_eq!(app.count_jobs("status = 'pending'").await, 3);
    }

    // A worker resumes after its last claim instead of rescanning; only a claim from the
    // start sees a job that sorts before that key.
    async fn claims_resume_after_a_claim_key_and_start_finds_the_top(app) {
        let now = app.clock_now();
        let mut jobs = Vec::new();
        for priority in [4, 3, 2, 1] {
            jobs.push(insert(app, new_job(app, priority, now)).await);
        }
        let first = claim(app, WORKER, 2).await;
        assert_eq!(first.iter().map(|j| j.id).collect::<Vec<_>>(), vec![jobs[0].id, jobs[1].id]);
        let top = insert(app, new_job(app, 100, now)).await;

        let after = ClaimKey::of(first.last().unwrap());
        let rest = app.store.claim_jobs(WORKER, &[JobType::Processing], 10, after, now, now + lease()).await.unwrap();
        assert_eq!(rest.iter().map(|j| j.id).collect::<Vec<_>>(), vec![jobs[2].id, jobs[3].id]);
        claim_only(app, WORKER, &top).await;
    }

    // Ids written out of order by hand, so the id (not insertion order) breaks the tie.
    async fn jobs_tied_on_priority_and_run_at_are_claimed_and_resumed_by_id(app) {
        let [low, mid, high]: [Uuid; 3] = [
            "00000000-0000-7000-8000-000000000001",
            "7fffffff-0000-7000-8000-000000000000",
            "ffffffff-ffff-7fff-bfff-ffffffffffff",
        ].map(|id| id.parse().unwrap());
        let now = app.clock_now();
        for id in [high, low, mid] {
            app.sql(&format!("insert into background_jobs (id, job_type, priority, run_at) \
                              values ('{id}', 'processing', 7, '{}')", ts(now))).await.unwrap();
        }
        let key = ClaimKey { priority: 7, run_at: now, id: mid };
        let after = app.store.claim_jobs(WORKER, &[JobType::Processing], 10, key, now, now + lease()).await.unwrap();
        assert_eq!(after.iter().map(|j| j.id).collect::<Vec<_>>(), vec![high]);
        let mut order = Vec::new();
        for _ in 0..2 {
            order.extend(claim(app, WORKER, 1).await.iter().map(|j| j.id));
        }
        assert_eq!(order, vec![low, mid]);
    }

    async fn concurrent_claimers_never_get_the_same_job(app) {
        let now = app.clock_now();
        let jobs: Vec<NewJob> = (0..30).map(|_| new_job(app, 0, now)).collect();
        app.store.insert_jobs(&jobs).await.unwrap();
        let mut seen = HashSet::new();
        let (mut by_a, mut by_b) = (0, 0);
        for _ in 0..30 {
            let (a, b) = tokio::join!(claim(app, "claimer-a", 4), claim(app, "claimer-b", 4));
            if a.is_empty() && b.is_empty() {
                break;
            }
            (by_a, by_b) = (by_a + a.len(), by_b + b.len());
            for job in a.iter().chain(&b) {
                assert!(seen.insert(job.id), "{} claimed twice", job.id);
            }
        }
        assert_eq!(seen.len(), 30, "every job claimed once");
        assert_eq!(app.count_jobs("locked_by = 'claimer-a' and attempt = 1").await, by_a as i64);
        assert_eq!(app.count_jobs("locked_by = 'claimer-b' and attempt = 1").await, by_b as i64);
    }

    async fn a_claim_starts_the_next_attempt_under_a_lease(app) {
        let job = insert_due(app).await;
        assert_eq!((job.status, job.attempt, job.started_at), (JobStatus::Pending, 0, None));
        app.clock.advance(Duration::seconds(5));
        let now = app.clock_now();
        let claimed = claim_only(app, WORKER, &job).await;
        assert_eq!((claimed.status, claimed.attempt, claimed.started_at), (JobStatus::Running, 1, Some(now)));
        assert_eq!((claimed.retry_count, claimed.completed_at, claimed.cancel_requested_at), (0, None, None));
        assert_eq!(claimed, find(app, job.id).await, "returns the row as written");
        assert!(leased_to(app, job.id, WORKER, now + lease()).await);

        // Given back and claimed again: the next attempt, started anew.
        release(app, &[(job.id, 1)], now).await;
        app.clock.advance(Duration::seconds(5));
        let again = claim_only(app, "worker-b", &job).await;
        assert_eq!((again.attempt, again.started_at), (2, Some(app.clock_now())));
        assert!(leased_to(app, job.id, "worker-b", app.clock_now() + lease()).await);
    }

    // Retries and rescues reset progress themselves; a job handed back keeps what it showed.
    async fn a_claim_keeps_the_progress_a_job_showed(app) {
        let job = running(app, WORKER).await;
        let now = app.clock_now();
        renew(app, WORKER, &[beat(&job, Some(40))], now + lease()).await;
        release(app, &[(job.id, job.attempt)], now).await;
        let again = claim_only(app, WORKER, &job).await;
        assert_eq!((again.attempt, again.progress), (2, 40));
    }
}
