//! `POST /api/v2/jobs/bulk`: many jobs retried or cancelled, each answered on its own.

use crate::helpers::{TestApp, TestUser, contract_tests};
use axum::http::StatusCode;
use serde_json::{Value, json};

async fn failed_job(app: &TestApp, user: &TestUser) -> Value {
    let job = app.create_job(user, "validation").await;
    app.act(user, &job["id"], "start", json!({})).await;
    app.act(user, &job["id"], "fail", json!({"error_message": "bad row"})).await.body
}

fn results(res: &Value) -> Vec<(String, String)> {
    res["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r["result"].as_str().unwrap().to_owned()))
        .collect()
}

contract_tests! {
    async fn a_bulk_retry_answers_each_id_and_never_touches_anothers_job(app) {
        let ann = app.new_user("ann@example.com").await;
        let bob = app.new_user("bob@example.com").await;
        let (a, b) = (failed_job(app, &ann).await, failed_job(app, &ann).await);
        let done = app.create_job(&ann, "validation").await;
        app.act(&ann, &done["id"], "start", json!({})).await;
        app.act(&ann, &done["id"], "complete", json!({})).await;
        let bobs = failed_job(app, &bob).await;
        let unknown = json!(uuid::Uuid::now_v7());
        let ids = json!([a["id"], b["id"], done["id"], bobs["id"], unknown, a["id"]]);
        let res = app.post("/api/v2/jobs/bulk", &ann, json!({"action": "retry", "ids": ids})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let id = |j: &Value| j.as_str().unwrap().to_owned();
        assert_eq!(results(&res.body), vec![
            (id(&a["id"]), "ok".into()),
            (id(&b["id"]), "ok".into()),
            (id(&done["id"]), "conflict".into()),
            (id(&bobs["id"]), "not_found".into()),
            (id(&unknown), "not_found".into()),
        ], "each id once, in order");
        let items = res.body["results"].as_array().unwrap();
        assert_eq!(items[0]["job"]["status"], "pending");
        assert_eq!(items[2]["reason"], "cannot retry a job that is completed");
        assert!(items[3].get("job").is_none() && items[3].get("reason").is_none(), "nothing of bob's job shows");
        assert_eq!(app.get(&format!("/api/v2/jobs/{}", id(&bobs["id"])), &bob).await.body["status"], "failed");
    }

    async fn a_bulk_cancel_stops_pending_and_running_jobs(app) {
        let ann = app.new_user("ann@example.com").await;
        let admin = app.new_admin("root@example.com").await;
        let pending = app.create_job(&ann, "validation").await;
        let running = app.create_job(&ann, "validation").await;
        app.act(&ann, &running["id"], "start", json!({})).await;
        let failed = failed_job(app, &ann).await;
        let res = app.post("/api/v2/jobs/bulk", &admin,
            json!({"action": "cancel", "ids": [pending["id"], running["id"], failed["id"]]})).await;
        let outcomes: Vec<String> = results(&res.body).into_iter().map(|(_, r)| r).collect();
        assert_eq!(outcomes, ["ok", "ok", "conflict"], "admins may act on anyone's jobs");
        for job in [&pending, &running] {
            let path = format!("/api/v2/jobs/{}", job["id"].as_str().unwrap());
            assert_eq!(app.get(&path, &ann).await.body["status"], "cancelled");
        }
    }

    async fn a_bulk_request_names_one_to_a_thousand_ids_and_a_known_action(app) {
        let ann = app.new_user("ann@example.com").await;
        let many: Vec<String> = (0..1001).map(|_| uuid::Uuid::now_v7().to_string()).collect();
        for (body, code) in [
            (json!({"action": "retry", "ids": []}), "invalid_field"),
            (json!({"action": "retry", "ids": many}), "invalid_field"),
            (json!({"action": "delete", "ids": [uuid::Uuid::now_v7()]}), "invalid_body"),
            (json!({"action": "retry", "ids": ["not-a-uuid"]}), "invalid_body"),
        ] {
            let res = app.post("/api/v2/jobs/bulk", &ann, body.clone()).await;
            assert_eq!((res.status, res.body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{body}");
        }
        let ok = app.post("/api/v2/jobs/bulk", &ann, json!({"action": "retry", "ids": many[..1000]})).await;
        assert_eq!(ok.body["results"].as_array().unwrap().len(), 1000);
    }
}
