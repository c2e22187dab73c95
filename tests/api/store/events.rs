//! What every job-writing statement reports: the jobs it changed, with versions that only
//! grow, published once per statement on the store's bus — and, on PostgreSQL, heard by the
//! other nodes as the owners it touched.

use super::{WORKER, beat, claim, claim_only, find, insert_due, lease, new_job, release, rescue_at};
use crate::helpers::{PASSWORD, TestApp, contract_tests};
use chrono::Duration;
use jobwatch::jobs::Action;
use jobwatch::jobs::events::{Changed, JobEvent, JobEventSink, Owners};
use jobwatch::jobs::model::{Job, NewJob};
use jobwatch::storage::Heard;
use serde_json::json;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Every statement's report, as published.
#[derive(Default)]
struct Recorder(Mutex<Vec<Vec<Changed>>>);

impl JobEventSink for Recorder {
    fn on_event(&self, event: &JobEvent<'_>) {
        if let JobEvent::Changed(jobs) = event {
            self.0.lock().unwrap().push(jobs.to_vec());
        }
    }
}

impl Recorder {
    fn listen(app: &TestApp) -> Arc<Recorder> {
        let recorder = Arc::new(Recorder::default());
        let sink: Arc<dyn JobEventSink> = recorder.clone();
        app.store.events().subscribe(&sink);
        // Kept alive by the returned Arc; the bus holds a weak reference.
        recorder
    }

    /// The statements published since the last call.
    fn take(&self) -> Vec<Vec<Changed>> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

async fn owner(app: &TestApp, email: &str) -> Uuid {
    app.state.users.create(email, PASSWORD, false).await.unwrap().id
}

async fn owned_job(app: &TestApp, owner: Uuid) -> Job {
    app.store.insert_job(&NewJob { created_by: Some(owner), ..new_job(app, 0, app.clock_now()) }).await.unwrap()
}

/// The next notification naming any of `ours`: tests in other schemas of the same database
/// notify on the same channel, so theirs are skipped.
async fn hear(feed: &mut Box<dyn jobwatch::storage::ChangeFeed>, ours: &[Uuid]) -> Vec<Uuid> {
    let deadline = std::time::Duration::from_secs(10);
    tokio::time::timeout(deadline, async {
        loop {
            if let Heard::Changed(Owners::Some(mut owners)) = feed.next().await
                && owners.iter().any(|o| ours.contains(o))
            {
                owners.sort();
                return owners;
            }
        }
    })
    .await
    .expect("heard within 10 s")
}

fn one(statement: &[Vec<Changed>], job: &Job) -> Changed {
    assert_eq!(statement.len(), 1, "one statement, one report: {statement:?}");
    assert_eq!(statement[0].len(), 1, "{statement:?}");
    assert_eq!(statement[0][0].id, job.id);
    statement[0][0]
}

contract_tests! {
    async fn each_write_reports_the_job_it_changed_with_a_higher_version(app) {
        let ann = owner(app, "ann@example.com").await;
        let events = Recorder::listen(app);
        let job = owned_job(app, ann).await;
        let created = one(&events.take(), &job);
        assert_eq!((created.owner, created.version, job.version), (Some(ann), 1, 1));

        let claimed = claim_only(app, WORKER, &job).await;
        assert_eq!(one(&events.take(), &job).version, 2);
        assert_eq!(claimed.version, 2);

        let now = app.clock_now();
        let held = app.store.renew_leases(WORKER, &[beat(&claimed, Some(30))], now, now + lease()).await.unwrap();
        assert_eq!(one(&events.take(), &job).version, 3, "progress is a visible change");
        assert_eq!(held[0].version, 3);

        let staged = jobwatch::storage::Beat { stage: Some("parsing".into()), ..beat(&claimed, None) };
        app.store.renew_leases(WORKER, std::slice::from_ref(&staged), now, now + lease()).await.unwrap();
        assert_eq!(one(&events.take(), &job).version, 4, "so is a new stage");
        assert_eq!(find(app, job.id).await.stage.as_deref(), Some("parsing"));

        // A renewal that moves nothing a watcher sees is no event and no version.
        let same = jobwatch::storage::Beat { progress: Some(30), ..staged };
        let held = app.store.renew_leases(WORKER, &[same], now, now + lease()).await.unwrap();
        assert!(events.take().is_empty(), "a bare heartbeat changes nothing visible");
        assert!(held.iter().all(|h| h.version == 4));

        let cancel = app.store.request_cancel(job.id, now, None).await.unwrap().unwrap();
        assert_eq!((one(&events.take(), &job).version, cancel.version), (5, 5));
        assert_eq!(release(app, &[(job.id, claimed.attempt)], now).await, 1);
        assert_eq!(one(&events.take(), &job).version, 6);

        let retried = app.store.change_job(job.id, &Action::Retry.change(now)).await.unwrap().unwrap();
        assert_eq!((one(&events.take(), &job).version, retried.version), (7, 7));
        assert_eq!(retried.stage, None, "a restart clears the stage with the progress");
    }

    async fn completions_rescues_and_transfers_report_their_jobs(app) {
        let ann = owner(app, "ann@example.com").await;
        let events = Recorder::listen(app);
        let (a, b) = (owned_job(app, ann).await, owned_job(app, ann).await);
        events.take();
        let claimed = claim(app, WORKER, 10).await;
        let report = events.take();
        assert_eq!(report.len(), 1, "one claim, one report");
        let mut ids: Vec<Uuid> = report[0].iter().map(|c| c.id).collect();
        ids.sort();
        let mut both = vec![a.id, b.id];
        both.sort();
        assert_eq!(ids, both);

        let attempt = claimed.iter().find(|j| j.id == a.id).unwrap().attempt;
        let done = app.store.complete_jobs(&[(a.id, attempt)], app.clock_now()).await.unwrap();
        assert_eq!((done.count, done.owned.len()), (1, 1));
        assert_eq!(events.take(), vec![done.owned.clone()]);
        assert_eq!(done.owned[0].version, find(app, a.id).await.version);

        app.clock.advance(lease() + Duration::seconds(1));
        assert_eq!(rescue_at(app, app.clock_now(), 100).await, 1);
        let rescued = events.take();
        assert_eq!(rescued.len(), 1);
        assert_eq!(rescued[0][0].id, b.id);
        assert_eq!(rescued[0][0].version, find(app, b.id).await.version);

        let now = app.clock_now();
        let upload = NewJob { created_by: Some(ann), ..new_job(app, 0, now) };
        let held = app.store.insert_held_job(&upload, "upload", now, now + lease()).await.unwrap();
        assert_eq!(one(&events.take(), &held).version, 1);
        let moved = app.store.transfer_job(held.id, 1, "upload", WORKER, now + lease(), 40, &json!({})).await.unwrap();
        assert_eq!(one(&events.take(), &held).version, moved.unwrap().version);
    }

    async fn versions_only_grow(app) {
        let ann = owner(app, "ann@example.com").await;
        let job = owned_job(app, ann).await;
        let mut last = job.version;
        let mut step = |job: Job, what: &str| {
            assert!(job.version > last, "{what}: version {} after {last}", job.version);
            last = job.version;
        };
        let now = app.clock_now();
        step(app.store.change_job(job.id, &Action::Start.change(now)).await.unwrap().unwrap(), "start");
        for p in [10, 20, 20, 90] {
            step(app.store.change_job(job.id, &Action::Progress(p).change(now)).await.unwrap().unwrap(), "progress");
        }
        step(app.store.change_job(job.id, &Action::Fail("x".into()).change(now)).await.unwrap().unwrap(), "fail");
        step(app.store.change_job(job.id, &Action::Retry.change(now)).await.unwrap().unwrap(), "retry");
        step(app.store.request_cancel(job.id, now, None).await.unwrap().unwrap(), "cancel");
    }

    async fn jobs_without_an_owner_are_in_nobodys_view(app) {
        let events = Recorder::listen(app);
        app.store.insert_jobs(&[new_job(app, 0, app.clock_now()), new_job(app, 0, app.clock_now())]).await.unwrap();
        insert_due(app).await;
        assert_eq!(claim(app, WORKER, 10).await.len(), 3);
        assert!(events.take().is_empty(), "nothing to tell anyone");

        let ann = owner(app, "ann@example.com").await;
        let mut mixed = vec![new_job(app, 0, app.clock_now()); 3];
        mixed[1].created_by = Some(ann);
        let changed = app.store.insert_jobs(&mixed).await.unwrap();
        assert_eq!(changed.count, 3, "the method counts every job it wrote");
        assert_eq!(changed.owned.iter().map(|c| c.owner).collect::<Vec<_>>(), vec![Some(ann)], "and lists the owned");
        let published = events.take();
        assert_eq!(published.len(), 1, "one statement, one report");
        assert_eq!(published[0].iter().map(|c| (c.owner, c.version)).collect::<Vec<_>>(), vec![(Some(ann), 1)]);
    }

    async fn other_nodes_hear_the_owners_a_statement_touched(app) {
        let Some(other) = app.second_store().await else { return }; // one node on SQLite
        let mut feed = other.listen_changes().await.unwrap().expect("PostgreSQL has other nodes");
        let mut own = app.store.listen_changes().await.unwrap().unwrap();
        let (ann, bob) = (owner(app, "ann@example.com").await, owner(app, "bob@example.com").await);
        owned_job(app, ann).await;
        assert_eq!(hear(&mut feed, &[ann, bob]).await, vec![ann]);

        // Many owners in one statement: one notification, naming them all.
        let jobs: Vec<NewJob> =
            [ann, bob].iter().map(|&o| NewJob { created_by: Some(o), ..new_job(app, 0, app.clock_now()) }).collect();
        app.store.insert_jobs(&jobs).await.unwrap();
        let mut both = vec![ann, bob];
        both.sort();
        assert_eq!(hear(&mut feed, &[ann, bob]).await, both);

        // A node never hears its own writes back (its bus had them when they were written):
        // the first node's first notification is the other node's write.
        other.insert_job(&NewJob { created_by: Some(bob), ..new_job(app, 0, app.clock_now()) }).await.unwrap();
        assert_eq!(hear(&mut own, &[ann, bob]).await, vec![bob]);
    }

    async fn a_dropped_listener_connection_says_so_and_listens_again(app) {
        let Some(other) = app.second_store().await else { return }; // one node on SQLite
        let mut feed = other.listen_changes().await.unwrap().unwrap();
        let ann = owner(app, "ann@example.com").await;
        // The other node's listening connection dies (a restart, a network cut, an admin).
        app.kill_second_store_listeners().await;
        // (Other tests' notifications may come first: they share the channel.)
        let noticed = async { while feed.next().await != Heard::Reconnected {} };
        tokio::time::timeout(std::time::Duration::from_secs(10), noticed).await
            .expect("what was sent meanwhile may be lost: the feed says so");
        owned_job(app, ann).await;
        assert_eq!(hear(&mut feed, &[ann]).await, vec![ann], "and it hears again");
    }
}
