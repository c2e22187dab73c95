//! Live sockets across nodes (PostgreSQL; SQLite serves one node): changes made by another
//! node's API or worker reach this node's sockets, still only their owners', and a lost
//! notification connection is made good by a snapshot.

use crate::helpers::{TestApp, contract_tests, fast_worker_settings, test_settings};
use crate::live_helpers::{Credential, connect};
use jobwatch::jobs::events::Relay;
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// A second node on its own connection pool, hearing the first node's changes; `None` on
/// SQLite. Its relay stops with the token.
async fn second_node(app: &TestApp) -> Option<(TestApp, CancellationToken)> {
    let store = app.second_store().await?;
    let node = app.node_on(store.clone(), test_settings());
    let stop = CancellationToken::new();
    let relay = Relay::connect(store).await;
    tokio::spawn(relay.run(stop.clone()));
    Some((node, stop))
}

contract_tests! {
    async fn a_job_run_by_a_worker_on_another_node_reaches_a_socket_here_and_only_its_owners(app) {
        let Some((here, stop)) = second_node(app).await else { return };
        let ann = app.new_user("ann@example.com").await;
        let bob = app.new_user("bob@example.com").await;
        let served = here.serve().await;
        let mut anns = connect(&served, Credential::Subprotocol(&ann.token)).await;
        let mut bobs = connect(&served, Credential::Subprotocol(&bob.token)).await;
        anns.snapshot().await;
        bobs.snapshot().await;

        // Made through the first node's API and run by the first node's worker.
        let worker = app.start_worker(fast_worker_settings());
        let res = app.post("/api/v2/jobs", &ann, json!({"job_type": "processing", "metadata": {"steps": 3, "step_ms": 20}})).await;
        let job = res.body;
        let seen = anns.job_until(&job["id"], |j| j["status"] == "completed").await;
        assert!(seen.iter().any(|j| j["status"] == "running"), "its run was seen: {seen:?}");
        assert_eq!(seen.last().unwrap()["progress"], 100);
        worker.stop().await;

        let his = app.create_job(&bob, "processing").await;
        let first = bobs.next().await;
        assert_eq!(first["job"]["id"], his["id"], "bob was sent nothing of ann's: {first}");
        stop.cancel();
    }

    async fn after_the_listener_connection_drops_every_socket_gets_a_fresh_snapshot(app) {
        let Some((here, stop)) = second_node(app).await else { return };
        let ann = app.new_user("ann@example.com").await;
        let job = app.create_job(&ann, "processing").await;
        let served = here.serve().await;
        let mut socket = connect(&served, Credential::Subprotocol(&ann.token)).await;
        socket.snapshot().await;

        app.kill_second_store_listeners().await;
        // Changed elsewhere while the node may not be listening: its notification may be lost.
        app.act(&ann, &job["id"], "cancel", json!({})).await;
        let resynced = loop {
            let message = socket.next().await;
            if message["type"] == "snapshot" {
                break message;
            }
        };
        assert_eq!(resynced["reason"], "resync");
        let cancelled = app.get(&format!("/api/v2/jobs/{}", job["id"].as_str().unwrap()), &ann).await.body;
        let mut latest = resynced["jobs"][0].clone();
        if latest["version"] != cancelled["version"] {
            // The cancel was heard after all, before or after the snapshot was read.
            latest = socket.job_until(&job["id"], |j| j["version"] == cancelled["version"]).await.pop().unwrap();
        }
        assert_eq!(latest, cancelled, "no final state is missed");
        stop.cancel();
    }
}
