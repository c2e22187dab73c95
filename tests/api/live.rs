//! `GET /api/v2/jobs/ws` on one node: the snapshot, changes in order, isolation, refusals
//! before the upgrade, limits, sessions ending, slow readers, stalls, shutdown.

use crate::helpers::{TestUser, contract_tests, test_settings};
use crate::live_helpers::{Credential, connect, connect_narrow, open};
use axum::http::Method;
use jobwatch::live::LiveSettings;
use jobwatch::startup::AppSettings;
use serde_json::{Value, json};
use std::time::Duration;

fn versions(jobs: &[Value]) -> Vec<i64> {
    jobs.iter().map(|j| j["version"].as_i64().unwrap()).collect()
}

fn growing(versions: &[i64]) -> bool {
    versions.windows(2).all(|w| w[0] < w[1])
}

async fn processing_job(app: &crate::helpers::TestApp, user: &TestUser) -> Value {
    app.create_job(user, "processing").await
}

contract_tests! {
    async fn a_socket_starts_with_the_active_list_then_pushes_each_change_in_version_order(app) {
        let ann = app.new_user("ann@example.com").await;
        processing_job(app, &ann).await;
        let served = app.serve().await;
        let mut socket = connect(&served, Credential::Subprotocol(&ann.token)).await;
        assert_eq!(socket.protocol.as_deref(), Some("jobwatch.v1"), "the server selects the protocol");
        let snapshot = socket.snapshot().await;
        assert_eq!(Value::Array(snapshot), app.get("/api/v2/jobs/active", &ann).await.body, "as /jobs/active");

        let job = processing_job(app, &ann).await;
        for (action, body) in [("start", json!({})), ("progress", json!({"progress": 50})), ("complete", json!({}))] {
            assert_eq!(app.act(&ann, &job["id"], action, body).await.status, 200);
        }
        let seen = socket.job_until(&job["id"], |j| j["status"] == "completed").await;
        assert!(growing(&versions(&seen)), "each change once, in version order: {seen:?}");
        let now = app.get(&format!("/api/v2/jobs/{}", job["id"].as_str().unwrap()), &ann).await.body;
        assert_eq!(*seen.last().unwrap(), now, "the last message is the job as it stands");
    }

    async fn a_user_never_receives_another_users_jobs(app) {
        let ann = app.new_user("ann@example.com").await;
        let bob = app.new_user("bob@example.com").await;
        processing_job(app, &ann).await;
        let served = app.serve().await;
        let mut anns = connect(&served, Credential::Subprotocol(&ann.token)).await;
        let mut bobs = connect(&served, Credential::Subprotocol(&bob.token)).await;
        assert_eq!(anns.snapshot().await.len(), 1);
        assert!(bobs.snapshot().await.is_empty(), "bob's snapshot holds none of ann's jobs");

        let hers = processing_job(app, &ann).await;
        app.act(&ann, &hers["id"], "cancel", json!({})).await;
        anns.job_until(&hers["id"], |j| j["status"] == "cancelled").await;
        // Pushes keep their order: had bob been sent ann's job, it would come before his own.
        let his = processing_job(app, &bob).await;
        let first = bobs.next().await;
        assert_eq!(first["type"], "job");
        assert_eq!(first["job"]["id"], his["id"], "bob's first push is his own job: {first}");
    }

    async fn sockets_are_refused_before_the_upgrade_with_json_errors(app) {
        let ann = app.new_user("ann@example.com").await;
        let served = app.serve().await;
        let refused = |path: &'static str, credential| {
            let served = &served;
            async move { open(served, path, credential).await.err().expect("refused") }
        };
        let ws = "/api/v2/jobs/ws";
        let none = refused(ws, Credential::Nothing).await;
        assert_eq!((none.status, none.body["error"]["code"].as_str()), (401, Some("unauthorized")), "{:?}", none.body);
        let bad = refused(ws, Credential::Subprotocol("jw_not-a-token")).await;
        assert_eq!(bad.status, 401);

        for path in ["/api/v2/jobs/ws?token=abc", "/api/v2/jobs/ws?access_token=abc"] {
            let r = refused(path, Credential::Subprotocol(&ann.token)).await;
            assert_eq!((r.status, r.body["error"]["code"].as_str()), (400, Some("token_in_query")), "{path}");
        }
        let r = refused("/api/v2/jobs/ws?scope=everything", Credential::Subprotocol(&ann.token)).await;
        assert_eq!((r.status, r.body["error"]["code"].as_str()), (400, Some("invalid_query")), "{:?}", r.body);
        let r = refused("/api/v2/jobs/ws?scope=all", Credential::Subprotocol(&ann.token)).await;
        assert_eq!(r.status, 403, "every user's jobs are for admins");
        let r = refused(ws, Credential::Protocols("jobwatch.bearer.x")).await;
        assert_eq!((r.status, r.body["error"]["code"].as_str()), (400, Some("unsupported_protocol")));

        // The cookie counts only from this service's own pages (cross-site WebSocket hijacking).
        let foreign = Credential::Cookie { token: &ann.token, origin: Some("https://evil.example") };
        let r = refused(ws, foreign).await;
        assert_eq!((r.status, r.body["error"]["code"].as_str()), (403, Some("cross_origin")));
        let r = refused(ws, Credential::Cookie { token: &ann.token, origin: None }).await;
        assert_eq!(r.status, 403, "no Origin, no cookie socket");
        let own = format!("http://{}", served.addr);
        let mut socket = connect(&served, Credential::Cookie { token: &ann.token, origin: Some(&own) }).await;
        assert!(socket.snapshot().await.is_empty());

        // A plain request to the socket's path is told what it is.
        let plain = app.get(ws, &ann).await;
        assert_eq!((plain.status.as_u16(), plain.body["error"]["code"].as_str()), (400, Some("not_a_websocket")));
    }

    async fn one_user_may_hold_only_so_many_sockets_per_node(app) {
        let settings = AppSettings { live: LiveSettings { per_user: 2, ..test_settings().live }, ..test_settings() };
        let node = app.node(settings);
        let ann = node.new_user("ann@example.com").await;
        let bob = node.new_user("bob@example.com").await;
        let served = node.serve().await;
        let first = connect(&served, Credential::Subprotocol(&ann.token)).await;
        let _second = connect(&served, Credential::Subprotocol(&ann.token)).await;
        let third = open(&served, "/api/v2/jobs/ws", Credential::Subprotocol(&ann.token)).await.err().expect("refused");
        assert_eq!((third.status, third.body["error"]["code"].as_str()), (429, Some("too_many_sockets")));
        let _bobs = connect(&served, Credential::Subprotocol(&bob.token)).await;

        drop(first);
        // The seat frees once the server sees the socket gone.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while open(&served, "/api/v2/jobs/ws", Credential::Subprotocol(&ann.token)).await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "a closed socket gives its seat back");
            // The poll of a deadline-bounded wait: the server notices a closed socket in its own time.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn logging_out_closes_that_sessions_sockets_and_no_others(app) {
        let ann = app.new_user("ann@example.com").await;
        let other_session = app.login("ann@example.com", crate::helpers::PASSWORD).await.body["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let served = app.serve().await;
        let mut ending = connect(&served, Credential::Subprotocol(&ann.token)).await;
        let mut staying = connect(&served, Credential::Subprotocol(&other_session)).await;
        ending.snapshot().await;
        staying.snapshot().await;
        let out = app.request(Method::POST, "/api/v2/auth/logout", Some(&ann.token), None).await;
        assert_eq!(out.status, 204);
        assert_eq!(ending.close_code().await, Some(jobwatch::live::CLOSE_SESSION_ENDED), "closed within seconds");
        // The sweep that closed it judged the other socket too: a change made after it still
        // reaches that socket, where a close from the same sweep would have come first.
        let still_in = TestUser { token: other_session, id: ann.id, email: ann.email.clone() };
        let job = processing_job(app, &still_in).await;
        staying.job_until(&job["id"], |_| true).await;
    }

    async fn disabling_a_user_closes_their_sockets_and_refuses_their_logins(app) {
        let admin = app.new_admin("admin@example.com").await;
        let ann = app.new_user("ann@example.com").await;
        let served = app.serve().await;
        let mut socket = connect(&served, Credential::Subprotocol(&ann.token)).await;
        socket.snapshot().await;
        let path = format!("/api/v2/users/{}", ann.id);
        let disabled = app.request(Method::PATCH, &path, Some(&admin.token), Some(json!({"disabled": true}))).await;
        assert_eq!(disabled.status, 200, "{}", disabled.body);
        assert_eq!(disabled.body["disabled"], true);
        assert_eq!(socket.close_code().await, Some(jobwatch::live::CLOSE_SESSION_ENDED));
        assert_eq!(app.get("/api/v2/jobs/active", &ann).await.status, 401, "the session ended with it");
        let login = app.login("ann@example.com", crate::helpers::PASSWORD).await;
        assert_eq!((login.status.as_u16(), login.body["error"]["code"].as_str()), (403, Some("account_disabled")));
        let wrong = app.login("ann@example.com", "not her password").await;
        assert_eq!(wrong.status, 401, "a wrong password learns nothing about the account");

        let enabled = app.request(Method::PATCH, &path, Some(&admin.token), Some(json!({"disabled": false}))).await;
        assert_eq!(enabled.body["disabled"], false);
        assert_eq!(app.login("ann@example.com", crate::helpers::PASSWORD).await.status, 200);
    }

    async fn an_admin_may_watch_every_users_jobs(app) {
        let admin = app.new_admin("admin@example.com").await;
        let ann = app.new_user("ann@example.com").await;
        let before = processing_job(app, &ann).await;
        let served = app.serve().await;
        let mut all = open(&served, "/api/v2/jobs/ws?scope=all", Credential::Subprotocol(&admin.token)).await.unwrap();
        let snapshot = all.snapshot().await;
        assert_eq!(snapshot.iter().map(|j| j["id"].clone()).collect::<Vec<_>>(), vec![before["id"].clone()]);
        let job = processing_job(app, &ann).await;
        let seen = all.job_until(&job["id"], |j| j["status"] == "pending").await;
        assert_eq!(seen.len(), 1);
    }

    async fn a_running_job_that_goes_quiet_is_pushed_as_stalled(app) {
        let ann = app.new_user("ann@example.com").await;
        let job = processing_job(app, &ann).await;
        app.act(&ann, &job["id"], "start", json!({})).await;
        let served = app.serve().await;
        let mut socket = connect(&served, Credential::Subprotocol(&ann.token)).await;
        let snapshot = socket.snapshot().await;
        assert_eq!(snapshot[0]["stalled"], false);
        // Nothing is written when a job goes quiet: the socket notices the time passing.
        app.clock.advance(chrono::Duration::seconds(25));
        let seen = socket.job_until(&job["id"], |j| j["stalled"] == true).await;
        assert_eq!(seen.last().unwrap()["version"], snapshot[0]["version"], "the same version, now stalled");
    }

    async fn progress_reported_faster_than_ten_a_second_is_coalesced(app) {
        let ann = app.new_user("ann@example.com").await;
        let job = processing_job(app, &ann).await;
        app.act(&ann, &job["id"], "start", json!({})).await;
        let served = app.serve().await;
        let mut socket = connect(&served, Credential::Subprotocol(&ann.token)).await;
        socket.snapshot().await;
        for progress in 1..=40 {
            app.act(&ann, &job["id"], "progress", json!({"progress": progress})).await;
        }
        let seen = socket.job_until(&job["id"], |j| j["progress"] == 40).await;
        assert!(seen.len() < 40, "{} messages for 40 progress reports", seen.len());
        assert!(growing(&versions(&seen)));
        app.act(&ann, &job["id"], "complete", json!({})).await;
        let done = socket.job_until(&job["id"], |j| j["status"] == "completed").await;
        assert_eq!(done.len(), 1, "a state change right after progress is not held back");
    }

    async fn a_slow_reader_does_not_delay_a_fast_one(app) {
        // A socket waiting on its slow client for longer than the fast client waits for a
        // message would fail this test, were the hub to wait on sockets.
        let live = LiveSettings { queue: 2, write_timeout: Duration::from_secs(60), ..test_settings().live };
        let node = app.node(AppSettings { live, ..test_settings() });
        let ann = node.new_user("ann@example.com").await;
        let served = node.serve().await;
        let mut fast = connect(&served, Credential::Subprotocol(&ann.token)).await;
        // The slow one reads its snapshot, then nothing while megabytes of changes go out: the
        // server's writes to it block, and its queue of two overflows.
        let mut slow = connect_narrow(&served, Credential::Subprotocol(&ann.token)).await;
        fast.snapshot().await;
        slow.snapshot().await;
        let padding = "x".repeat(48 * 1024);
        let mut last = Value::Null;
        for _ in 0..160 {
            let res = node.post("/api/v2/jobs", &ann, json!({"job_type": "processing", "metadata": {"padding": padding}})).await;
            assert_eq!(res.status, 201);
            last = res.body;
        }
        fast.job_until(&last["id"], |_| true).await;
        // Caught up without replaying everything: a fresh snapshot replaced its backlog.
        let mut saw_overflow = false;
        loop {
            let message = slow.next().await;
            saw_overflow |= message["type"] == "snapshot" && message["reason"] == "overflow";
            let has_last = match message["type"].as_str() {
                Some("job") => message["job"]["id"] == last["id"],
                _ => message["jobs"].as_array().unwrap().iter().any(|j| j["id"] == last["id"]),
            };
            if has_last {
                break;
            }
        }
        assert!(saw_overflow, "the slow socket was given a snapshot instead of its backlog");
    }

    async fn shutting_down_closes_sockets_with_going_away(app) {
        let ann = app.new_user("ann@example.com").await;
        let served = app.serve().await;
        let mut socket = connect(&served, Credential::Subprotocol(&ann.token)).await;
        socket.snapshot().await;
        app.state.live.shut_down(Duration::from_secs(5)).await;
        assert_eq!(socket.close_code().await, Some(1001));
        assert_eq!(app.state.live.sockets(), 0, "shut_down waited for the sockets to go");
    }

    async fn a_client_that_answers_no_pings_is_dropped(app) {
        let settings = AppSettings {
            live: LiveSettings { ping_every: Duration::from_millis(100), ..test_settings().live },
            ..test_settings()
        };
        let node = app.node(settings);
        let ann = node.new_user("ann@example.com").await;
        let served = node.serve().await;
        let mut deaf = connect(&served, Credential::Subprotocol(&ann.token)).await;
        // Reading is what answers pings: a client that reads nothing answers none.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while node.state.live.sockets() > 0 {
            assert!(tokio::time::Instant::now() < deadline, "dropped after two unanswered pings");
            // The poll of a deadline-bounded wait: pings go out on the server's real timer.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(deaf.close_code().await, None, "no close handshake with a client that is not there");

        let mut listening = connect(&served, Credential::Subprotocol(&ann.token)).await;
        listening.snapshot().await;
        // twice the pings that drop a client that does not answer them
        assert!(listening.answers_pings(4).await, "pings, and nothing else");
        assert_eq!(node.state.live.sockets(), 1, "a client that answers stays");
    }

    async fn a_client_that_sends_a_large_message_is_dropped(app) {
        let ann = app.new_user("ann@example.com").await;
        let served = app.serve().await;
        let mut socket = connect(&served, Credential::Subprotocol(&ann.token)).await;
        socket.snapshot().await;
        socket.send_text("x".repeat(64 * 1024)).await;
        let code = socket.close_code().await;
        assert!(matches!(code, None | Some(1009)), "closed for the size, got {code:?}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while app.state.live.sockets() > 0 {
            assert!(tokio::time::Instant::now() < deadline, "its seat is given back");
            // The poll of a deadline-bounded wait: the server drops the socket in its own time.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn a_change_to_every_owner_reaches_each_watcher_even_beside_an_admins_capped_view(app) {
        let admin = app.new_admin("admin@example.com").await;
        let ann = app.new_user("ann@example.com").await;
        let bob = app.new_user("bob@example.com").await;
        // More of bob's active jobs than an admin's view holds, all newer than ann's below.
        let bobs = match app.backend() {
            "postgres" => format!(
                "insert into background_jobs (job_type, created_by) select 'processing', '{}' from generate_series(1, 1001)",
                bob.id
            ),
            _ => format!(
                "with recursive n(i) as (select 1 union all select i + 1 from n where i < 1001) \
                 insert into background_jobs (job_type, created_by) select 'processing', '{}' from n",
                bob.id
            ),
        };
        app.sql(&bobs).await.unwrap();
        let served = app.serve().await;
        let mut all = open(&served, "/api/v2/jobs/ws?scope=all", Credential::Subprotocol(&admin.token)).await.unwrap();
        assert_eq!(all.snapshot().await.len(), 1000, "an admin's view is capped");
        let mut anns = connect(&served, Credential::Subprotocol(&ann.token)).await;
        assert!(anns.snapshot().await.is_empty());

        // Written by another tool, then heard of as "every owner changed" (another node's bulk).
        let id = uuid::Uuid::new_v4();
        app.sql(&format!(
            "insert into background_jobs (id, job_type, created_by, created_at) values ('{id}', 'import', '{}', '{}')",
            ann.id,
            app.ago(chrono::Duration::hours(1))
        ))
        .await
        .unwrap();
        app.store.events().publish_elsewhere(&jobwatch::jobs::events::Owners::All);
        let seen = anns.job_until(&json!(id.to_string()), |_| true).await;
        assert_eq!(seen[0]["status"], "pending");
    }
}
