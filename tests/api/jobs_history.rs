//! `GET /api/v2/jobs`: history pages, newest first, filtered, with a cursor that stays put.

use crate::helpers::{TestApp, TestUser, contract_tests};
use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap().to_owned()).collect()
}

async fn page(app: &TestApp, user: &TestUser, query: &str) -> Value {
    let res = app.get(&format!("/api/v2/jobs?{query}"), user).await;
    assert_eq!(res.status, StatusCode::OK, "{query}: {}", res.body);
    res.body
}

/// `n` validation jobs, a millisecond apart, oldest first.
async fn jobs(app: &TestApp, user: &TestUser, n: usize) -> Vec<String> {
    let mut made = Vec::new();
    for _ in 0..n {
        made.push(app.create_job(user, "validation").await["id"].as_str().unwrap().to_owned());
        app.clock.advance(Duration::milliseconds(1));
    }
    made
}

contract_tests! {
    async fn admins_see_the_queue_depth_by_type_and_state(app) {
        let ann = app.new_user("ann@example.com").await;
        let bob = app.new_user("bob@example.com").await;
        let admin = app.new_admin("root@example.com").await;
        let first = app.create_job(&ann, "validation").await;
        app.create_job(&bob, "validation").await;
        let running = app.create_job(&bob, "export").await;
        app.post(&format!("/api/v2/jobs/{}/start", running["id"].as_str().unwrap()), &bob, json!({})).await;
        let done = app.create_job(&ann, "export").await;
        let done_id = done["id"].as_str().unwrap();
        app.post(&format!("/api/v2/jobs/{done_id}/start"), &ann, json!({})).await;
        app.post(&format!("/api/v2/jobs/{done_id}/complete"), &ann, json!({})).await;

        let res = app.get("/api/v2/admin/queue", &admin).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let counts: Vec<(String, String, i64)> = res.body.as_array().unwrap().iter()
            .map(|d| (d["job_type"].as_str().unwrap().into(), d["status"].as_str().unwrap().into(), d["count"].as_i64().unwrap()))
            .collect();
        assert_eq!(counts, vec![("export".into(), "running".into(), 1), ("validation".into(), "pending".into(), 2)]);
        let validation = res.body.as_array().unwrap().iter().find(|d| d["job_type"] == "validation").unwrap();
        assert_eq!(validation["oldest_created_at"], first["created_at"]);
        assert_eq!(app.get("/api/v2/admin/queue", &ann).await.status, StatusCode::FORBIDDEN);
    }

    async fn history_pages_newest_first_and_stays_put_while_jobs_arrive(app) {
        let user = app.new_user("u@example.com").await;
        let made = jobs(app, &user, 5).await;
        let first = page(app, &user, "limit=2").await;
        assert_eq!(ids(&first), vec![made[4].clone(), made[3].clone()]);
        jobs(app, &user, 2).await; // new jobs arrive while the user reads
        let cursor = first["next_cursor"].as_str().unwrap();
        let second = page(app, &user, &format!("limit=2&cursor={cursor}")).await;
        assert_eq!(ids(&second), vec![made[2].clone(), made[1].clone()], "no job shown twice, none skipped");
        let third = page(app, &user, &format!("limit=2&cursor={}", second["next_cursor"].as_str().unwrap())).await;
        assert_eq!(ids(&third), vec![made[0].clone()]);
        assert_eq!(third["next_cursor"], Value::Null, "the last page says so");
        // Same created_at, ties broken by id.
        let tied = app.clock_now();
        let (a, b) = (app.create_job(&user, "export").await, app.create_job(&user, "export").await);
        let newest = page(app, &user, "limit=2").await;
        assert_eq!(ids(&newest), vec![b["id"].as_str().unwrap().to_owned(), a["id"].as_str().unwrap().to_owned()], "{tied}");
    }

    async fn history_filters_by_status_type_time_and_search(app) {
        let user = app.new_user("u@example.com").await;
        let early = app.clock_now();
        let failed = app.post("/api/v2/jobs", &user,
            json!({"job_type": "validation", "metadata": {"filename": "Prices_2026.CSV"}})).await.body;
        app.act(&user, &failed["id"], "start", json!({})).await;
        app.act(&user, &failed["id"], "fail", json!({"error_message": "line 18: 7 fields, header has 6"})).await;
        app.clock.advance(Duration::seconds(10));
        let later = app.clock_now();
        let export = app.create_job(&user, "export").await;
        let id = |j: &Value| j["id"].as_str().unwrap().to_owned();

        assert_eq!(ids(&page(app, &user, "status=failed").await), vec![id(&failed)]);
        assert_eq!(ids(&page(app, &user, "status=failed,pending").await), vec![id(&export), id(&failed)]);
        assert_eq!(
            ids(&page(app, &user, "status=failed,pending,failed").await),
            vec![id(&export), id(&failed)],
            "a status named twice is one status"
        );
        assert_eq!(ids(&page(app, &user, "type=export").await), vec![id(&export)]);
        let from = later.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        assert_eq!(ids(&page(app, &user, &format!("created_from={from}")).await), vec![id(&export)]);
        let to = (early + Duration::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        assert_eq!(ids(&page(app, &user, &format!("created_to={to}")).await), vec![id(&failed)]);
        assert_eq!(ids(&page(app, &user, "q=prices_2026").await), vec![id(&failed)], "file name, any case");
        assert_eq!(ids(&page(app, &user, "q=7%20fields").await), vec![id(&failed)], "error text");
        assert_eq!(ids(&page(app, &user, &format!("q={}", &id(&export)[..13])).await), vec![id(&export)], "id prefix");
        assert!(ids(&page(app, &user, "q=100%25").await).is_empty(), "wildcards are literal");

        // The searched text is kept in the history indexes, cut so that even the longest error
        // in four-byte characters fits an index row: failing with one still works.
        let long = app.create_job(&user, "validation").await;
        app.act(&user, &long["id"], "start", json!({})).await;
        // Four-byte characters in no pattern a compressor could shorten.
        let noise: String = (0u32..9_900).map(|i| char::from_u32(0x20000 + (i * 7919) % 40_000).unwrap()).collect();
        let error = format!("quota exceeded {noise}");
        let res = app.act(&user, &long["id"], "fail", json!({"error_message": error})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(ids(&page(app, &user, "q=QUOTA%20exceeded").await), vec![id(&long)], "found by its error's start");
    }

    async fn users_see_only_their_own_history_and_admins_may_ask_for_others(app) {
        let ann = app.new_user("ann@example.com").await;
        let bob = app.new_user("bob@example.com").await;
        let admin = app.new_admin("root@example.com").await;
        let a = app.create_job(&ann, "validation").await["id"].as_str().unwrap().to_owned();
        app.clock.advance(Duration::milliseconds(1));
        let b = app.create_job(&bob, "validation").await["id"].as_str().unwrap().to_owned();
        app.sql("insert into background_jobs (job_type, status) values ('import', 'failed')").await.unwrap();
        assert_eq!(ids(&page(app, &bob, "").await), vec![b.clone()]);
        assert!(ids(&page(app, &admin, "").await).is_empty(), "an admin's own history by default");
        assert_eq!(ids(&page(app, &admin, &format!("user={}", ann.id)).await), vec![a.clone()]);
        assert_eq!(ids(&page(app, &admin, "user=all").await), vec![b, a], "every user's, no ownerless jobs");
        let res = app.get(&format!("/api/v2/jobs?user={}", ann.id), &bob).await;
        assert_eq!((res.status, res.body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    }

    async fn bad_history_queries_get_clear_400s(app) {
        let user = app.new_user("u@example.com").await;
        jobs(app, &user, 3).await;
        for (query, code, says) in [
            ("status=done", "invalid_query", "expected one of: pending, running"),
            ("type=upload", "invalid_query", "expected one of: import"),
            ("created_from=yesterday", "invalid_query", "created_from"),
            ("limit=many", "invalid_query", "limit"),
            ("user=someone", "invalid_query", "user"),
            ("sort=asc", "invalid_query", "sort"),
            ("cursor=0123abcd", "invalid_cursor", "cursor"),
        ] {
            let res = app.get(&format!("/api/v2/jobs?{query}"), &user).await;
            assert_eq!((res.status, res.body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{query}: {}", res.body);
            assert!(res.body["error"]["message"].as_str().unwrap().contains(says), "{query}: {}", res.body);
        }
        let cursor = page(app, &user, "limit=1").await["next_cursor"].as_str().unwrap().to_owned();
        let mut tampered = cursor.clone().into_bytes();
        tampered[3] = if tampered[3] == b'a' { b'b' } else { b'a' };
        let tampered = String::from_utf8(tampered).unwrap();
        let res = app.get(&format!("/api/v2/jobs?limit=1&cursor={tampered}"), &user).await;
        assert_eq!(res.body["error"]["code"], "invalid_cursor");
        let res = app.get(&format!("/api/v2/jobs?limit=1&status=failed&cursor={cursor}"), &user).await;
        assert_eq!(res.body["error"]["code"], "invalid_cursor", "a cursor belongs to its filters");
        assert_eq!(page(app, &user, "limit=0").await["items"].as_array().unwrap().len(), 1, "limit is kept within 1-200");
    }

    // Like an empty `status=` or `user=`, an empty cursor is none (it was 400 invalid_cursor).
    async fn an_empty_cursor_is_the_first_page(app) {
        let user = app.new_user("u@example.com").await;
        jobs(app, &user, 3).await;
        let first = page(app, &user, "limit=2").await;
        assert_eq!(page(app, &user, "limit=2&cursor=").await, first);
        assert_eq!(page(app, &user, "limit=2&cursor=%20").await, first);
    }
}
