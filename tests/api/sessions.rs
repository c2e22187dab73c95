//! Browser sessions: a login that sets an HttpOnly cookie, accepted wherever a bearer token is,
//! with requests that change something allowed only from the service's own origin.

use crate::helpers::{PASSWORD, TestApp, contract_tests, test_settings};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

/// A request as a browser on `origin` (if any) would send it, with the session cookie.
async fn browser(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: &str,
    origin: Option<&str>,
    body: Option<Value>,
) -> crate::helpers::TestResponse {
    let mut req =
        Request::builder().method(method).uri(path).header("host", "jobs.example.com").header("cookie", cookie);
    if let Some(origin) = origin {
        req = req.header("origin", origin);
    }
    let req = match body {
        Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    };
    app.send(req.unwrap()).await
}

/// Logs in by session at host `host`; returns the `Set-Cookie` header and the `name=value` pair.
async fn start_session(app: &TestApp, host: &str, email: &str) -> (String, String) {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v2/auth/session")
        .header("host", host)
        .header("content-type", "application/json")
        .body(Body::from(json!({"email": email, "password": PASSWORD}).to_string()))
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.body.get("access_token").is_none(), "the token travels in the cookie only");
    assert_eq!(res.body["user"]["email"], email);
    let set = res.headers["set-cookie"].to_str().unwrap().to_owned();
    let pair = set.split(';').next().unwrap().to_owned();
    (set, pair)
}

const OURS: &str = "https://jobs.example.com";

contract_tests! {
    async fn a_session_cookie_is_httponly_strict_and_secure_off_loopback(app) {
        app.new_user("ann@example.com").await;
        let (public, _) = start_session(app, "jobs.example.com", "ann@example.com").await;
        for part in ["jobwatch_session=jw_", "HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=604800", "Secure"] {
            assert!(public.contains(part), "{part} in {public}");
        }
        let (local, _) = start_session(app, "127.0.0.1:8080", "ann@example.com").await;
        assert!(!local.contains("Secure"), "plain http on loopback: {local}");
    }

    async fn the_cookie_works_wherever_a_bearer_token_does(app) {
        let ann = app.new_user("ann@example.com").await;
        let (_, cookie) = start_session(app, "jobs.example.com", "ann@example.com").await;
        let job = app.create_job(&ann, "validation").await;
        assert_eq!(browser(app, Method::GET, "/api/v2/auth/me", &cookie, None, None).await.body["email"], "ann@example.com");
        assert_eq!(browser(app, Method::GET, "/api/v2/jobs/active", &cookie, None, None).await.body[0]["id"], job["id"]);
        let created = browser(app, Method::POST, "/api/v2/jobs", &cookie, Some(OURS), Some(json!({"job_type": "export"}))).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    }

    async fn changes_with_the_cookie_from_another_origin_are_refused(app) {
        app.new_user("ann@example.com").await;
        let (_, cookie) = start_session(app, "jobs.example.com", "ann@example.com").await;
        let body = || Some(json!({"job_type": "export"}));
        for origin in [Some("https://evil.example"), None, Some("null")] {
            let res = browser(app, Method::POST, "/api/v2/jobs", &cookie, origin, body()).await;
            assert_eq!((res.status, res.body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("cross_origin")), "{origin:?}");
        }
        assert_eq!(app.count_jobs("true").await, 0, "nothing was created");
        // An allowed origin (JOBWATCH_ALLOWED_ORIGINS) may.
        let node = app.node(jobwatch::startup::AppSettings { allowed_origins: vec!["https://app.example.com".into()], ..test_settings() });
        let res = browser(&node, Method::POST, "/api/v2/jobs", &cookie, Some("https://app.example.com"), body()).await;
        assert_eq!(res.status, StatusCode::CREATED);
        // Bearer clients are not affected by origins.
        let ann = app.login("ann@example.com", PASSWORD).await.body["access_token"].as_str().unwrap().to_owned();
        let req = Request::builder().method(Method::POST).uri("/api/v2/jobs").header("authorization", format!("Bearer {ann}"))
            .header("origin", "https://evil.example").header("content-type", "application/json")
            .body(Body::from(json!({"job_type": "export"}).to_string())).unwrap();
        assert_eq!(app.send(req).await.status, StatusCode::CREATED);
    }

    async fn a_page_asks_for_its_session_without_a_failed_request(app) {
        app.new_user("ann@example.com").await;
        let none = browser(app, Method::GET, "/api/v2/auth/session", "other=1", None, None).await;
        assert_eq!((none.status, &none.body), (StatusCode::OK, &json!({"user": null})));
        assert!(none.headers.get("set-cookie").is_none());
        let (_, cookie) = start_session(app, "jobs.example.com", "ann@example.com").await;
        let live = browser(app, Method::GET, "/api/v2/auth/session", &cookie, None, None).await;
        assert_eq!((live.status, live.body["user"]["email"].as_str()), (StatusCode::OK, Some("ann@example.com")));
        assert_eq!(live.headers["cache-control"], "no-store");
        browser(app, Method::DELETE, "/api/v2/auth/session", &cookie, Some(OURS), None).await;
        let ended = browser(app, Method::GET, "/api/v2/auth/session", &cookie, None, None).await;
        assert_eq!((ended.status, &ended.body), (StatusCode::OK, &json!({"user": null})));
        assert!(ended.headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"), "a dead cookie is cleared");
    }

    async fn ending_a_session_revokes_it_on_the_server(app) {
        app.new_user("ann@example.com").await;
        let (_, cookie) = start_session(app, "jobs.example.com", "ann@example.com").await;
        let refused = browser(app, Method::DELETE, "/api/v2/auth/session", &cookie, Some("https://evil.example"), None).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let ended = browser(app, Method::DELETE, "/api/v2/auth/session", &cookie, Some(OURS), None).await;
        assert_eq!(ended.status, StatusCode::NO_CONTENT);
        assert!(ended.headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"), "the cookie is cleared");
        let after = browser(app, Method::GET, "/api/v2/auth/me", &cookie, None, None).await;
        assert_eq!(after.status, StatusCode::UNAUTHORIZED, "revoked server-side, not just forgotten by the browser");
        let req = Request::builder().method(Method::DELETE).uri("/api/v2/auth/session").body(Body::empty()).unwrap();
        assert_eq!(app.send(req).await.status, StatusCode::NO_CONTENT, "no session: nothing to end, still 204");
    }

    async fn a_wrong_session_login_answers_as_a_wrong_bearer_login(app) {
        app.new_user("ann@example.com").await;
        let req = |email: &str| Request::builder().method(Method::POST).uri("/api/v2/auth/session")
            .header("content-type", "application/json")
            .body(Body::from(json!({"email": email, "password": "guess"}).to_string())).unwrap();
        let wrong = app.send(req("ann@example.com")).await;
        let unknown = app.send(req("bob@example.com")).await;
        assert_eq!((wrong.status, unknown.status), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
        assert_eq!(wrong.body, unknown.body);
        assert_eq!(wrong.body, app.login("ann@example.com", "guess").await.body);
    }
}
