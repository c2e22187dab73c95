//! Login, tokens, expiry, revocation, and that every route but login needs a token.

use crate::helpers::{PASSWORD, TOKEN_TTL, contract_tests};
use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::json;

/// Every `/api/v2` route but login, with a body it would accept.
fn protected_routes() -> Vec<(Method, String, Option<serde_json::Value>)> {
    let id = uuid::Uuid::new_v4();
    vec![
        (Method::GET, "/api/v2/auth/me".into(), None),
        (Method::POST, "/api/v2/auth/logout".into(), None),
        (Method::POST, "/api/v2/users".into(), Some(json!({"email": "x@y.z", "password": "longenough"}))),
        (Method::GET, "/api/v2/jobs/active".into(), None),
        (Method::POST, "/api/v2/jobs".into(), Some(json!({"job_type": "import"}))),
        (Method::POST, "/api/v2/jobs/".into(), Some(json!({"job_type": "import"}))),
        (Method::GET, format!("/api/v2/jobs/{id}"), None),
        (Method::POST, format!("/api/v2/jobs/{id}/start"), None),
        (Method::POST, format!("/api/v2/jobs/{id}/progress"), Some(json!({"progress": 1}))),
        (Method::POST, format!("/api/v2/jobs/{id}/complete"), None),
        (Method::POST, format!("/api/v2/jobs/{id}/fail"), Some(json!({"error_message": "x"}))),
        (Method::POST, format!("/api/v2/jobs/{id}/cancel"), None),
        (Method::POST, format!("/api/v2/jobs/{id}/retry"), None),
    ]
}

contract_tests! {
    async fn login_returns_a_bearer_token_and_the_user(app) {
        let user = app.state.users.create("Ann@Example.com", PASSWORD, false).await.unwrap();
        // Emails match case-insensitively.
        let res = app.login("ann@example.com", PASSWORD).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(res.body["token_type"], "bearer");
        assert!(res.body["access_token"].as_str().unwrap().starts_with("jw_"));
        assert_eq!(res.body["user"], json!({"id": user.id, "email": "Ann@Example.com", "is_admin": false, "disabled": false}));
        let expires: chrono::DateTime<chrono::Utc> = res.body["expires_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(expires, app.clock_now() + chrono::Duration::from_std(TOKEN_TTL).unwrap());

        let token = res.body["access_token"].as_str().unwrap();
        let me = app.request(Method::GET, "/api/v2/auth/me", Some(token), None).await;
        assert_eq!(me.body["email"], "Ann@Example.com");
    }

    async fn unknown_email_and_wrong_password_get_the_same_401(app) {
        app.state.users.create("ann@example.com", PASSWORD, false).await.unwrap();
        let wrong = app.login("ann@example.com", "not the password").await;
        let unknown = app.login("bob@example.com", PASSWORD).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.body, unknown.body);
    }

    async fn tokens_are_stored_only_as_hashes(app) {
        let user = app.new_user("u@example.com").await;
        app.sql(&format!("delete from auth_tokens where user_id = '{}' and token_hash = '{}'", user.id, user.token))
            .await.unwrap();
        let me = app.get("/api/v2/auth/me", &user).await;
        assert_eq!(me.status, StatusCode::OK, "the plain token is not what the table holds");
    }

    async fn missing_or_bad_tokens_get_401(app) {
        let user = app.new_user("u@example.com").await;
        let headers = [
            None,
            Some("Bearer".to_owned()),
            Some("Bearer ".to_owned()),
            Some(format!("Basic {}", user.token)),
            Some("Bearer jw_0000".to_owned()),
            Some(format!("Bearer {}x", user.token)),
        ];
        for header in headers {
            let mut req = axum::http::Request::get("/api/v2/jobs/active");
            if let Some(h) = &header {
                req = req.header("authorization", h);
            }
            let res = app.send(req.body(axum::body::Body::empty()).unwrap()).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{header:?}");
            assert_eq!(res.headers["www-authenticate"], "Bearer");
            assert_eq!(res.body["error"]["code"], "unauthorized");
        }
    }

    async fn tokens_expire(app) {
        let user = app.new_user("u@example.com").await;
        let ttl = Duration::from_std(TOKEN_TTL).unwrap();
        app.clock.advance(ttl - Duration::seconds(1));
        assert_eq!(app.get("/api/v2/auth/me", &user).await.status, StatusCode::OK);
        app.clock.advance(Duration::seconds(1));
        let res = app.get("/api/v2/jobs/active", &user).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.body["error"]["message"], "invalid or expired token");
    }

    async fn logout_revokes_the_token_only(app) {
        let user = app.new_user("u@example.com").await;
        let second = app.login(&user.email, PASSWORD).await.body["access_token"].as_str().unwrap().to_owned();
        let res = app.request(Method::POST, "/api/v2/auth/logout", Some(&user.token), None).await;
        assert_eq!(res.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get("/api/v2/auth/me", &user).await.status, StatusCode::UNAUTHORIZED);
        let other_session = app.request(Method::GET, "/api/v2/auth/me", Some(&second), None).await;
        assert_eq!(other_session.status, StatusCode::OK, "the user's other session lives on");
    }

    async fn every_route_but_login_needs_a_token(app) {
        for (method, path, body) in protected_routes() {
            let res = app.request(method.clone(), &path, None, body).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        }
    }

    async fn login_rejects_malformed_bodies(app) {
        let res = app.request(Method::POST, "/api/v2/auth/login", None, Some(json!({"email": "a@b.c"}))).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn repeated_failed_logins_are_held_off_for_a_while_known_or_not(app) {
        app.state.users.create("ann@example.com", PASSWORD, false).await.unwrap();
        for email in ["ann@example.com", "nobody@example.com"] {
            for _ in 0..jobwatch::auth::limits::PER_ACCOUNT {
                assert_eq!(app.login(email, "guess").await.status, StatusCode::UNAUTHORIZED);
            }
            let held = app.login(email, PASSWORD).await;
            assert_eq!((held.status, held.body["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts")), "{email}");
            let wait: i64 = held.headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=300).contains(&wait), "{wait}");
        }
        assert_eq!(app.login("other@example.com", "guess").await.status, StatusCode::UNAUTHORIZED, "others are not held off");
        app.clock.advance(chrono::Duration::minutes(5));
        assert_eq!(app.login("ann@example.com", PASSWORD).await.status, StatusCode::OK, "the window passed");
    }
}
