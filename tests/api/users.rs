//! `/api/v2/users`: admins create users and disable them.

use crate::helpers::contract_tests;
use axum::http::{Method, StatusCode};
use serde_json::json;

contract_tests! {
    async fn admins_create_users_who_can_log_in(app) {
        let admin = app.new_admin("root@example.com").await;
        let res = app.post("/api/v2/users", &admin, json!({"email": "new@example.com", "password": "s3cret-enough"})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        assert_eq!(res.body["email"], "new@example.com");
        assert_eq!(res.body["is_admin"], false);
        assert!(res.body.get("password_hash").is_none());
        assert_eq!(app.login("new@example.com", "s3cret-enough").await.status, StatusCode::OK);

        let res = app.post("/api/v2/users", &admin,
            json!({"email": "boss@example.com", "password": "s3cret-enough", "is_admin": true})).await;
        assert_eq!(res.body["is_admin"], true);
    }

    async fn only_admins_create_users(app) {
        let user = app.new_user("u@example.com").await;
        let res = app.post("/api/v2/users", &user, json!({"email": "x@example.com", "password": "s3cret-enough"})).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(res.body["error"]["code"], "forbidden");
        assert_eq!(app.login("x@example.com", "s3cret-enough").await.status, StatusCode::UNAUTHORIZED);
    }

    async fn emails_are_unique_regardless_of_case(app) {
        let admin = app.new_admin("root@example.com").await;
        let res = app.post("/api/v2/users", &admin, json!({"email": "ROOT@example.com", "password": "s3cret-enough"})).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert_eq!(res.body["error"]["code"], "email_taken");
    }

    async fn bad_emails_and_passwords_are_422(app) {
        let admin = app.new_admin("root@example.com").await;
        for body in [json!({"email": "nope", "password": "s3cret-enough"}),
                     json!({"email": "a@b.c", "password": "short"}),
                     json!({"email": "a@b.c", "password": "x".repeat(2000)}),
                     json!({"email": "a@b.c", "password": "s3cret-enough", "role": "god"})] {
            let res = app.post("/api/v2/users", &admin, body.clone()).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", res.body);
        }
    }

    async fn first_start_creates_one_admin(app) {
        let created = jobwatch::startup::ensure_admin(&app.state.users, "boot@example.com", None).await.unwrap();
        let (email, password) = created.expect("no users yet, so an admin is created");
        assert_eq!(email, "boot@example.com");
        let res = app.login(&email, &password).await;
        assert_eq!(res.body["user"]["is_admin"], true);
        let again = jobwatch::startup::ensure_admin(&app.state.users, "boot@example.com", None).await.unwrap();
        assert!(again.is_none(), "never a second time");
    }

    async fn disabling_is_for_admins_on_others_and_refuses_unknown_ids_and_fields(app) {
        let admin = app.new_admin("root@example.com").await;
        let ann = app.new_user("ann@example.com").await;
        let patch = |path: String, token: String, body: serde_json::Value| async move {
            app.request(Method::PATCH, &path, Some(&token), Some(body)).await
        };
        let anns = format!("/api/v2/users/{}", ann.id);
        let res = patch(anns.clone(), ann.token.clone(), json!({"disabled": true})).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "not for non-admins");
        let own = format!("/api/v2/users/{}", admin.id);
        let res = patch(own, admin.token.clone(), json!({"disabled": true})).await;
        assert_eq!((res.status, res.body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("disabling_self")));
        let res = patch(format!("/api/v2/users/{}", uuid::Uuid::new_v4()), admin.token.clone(), json!({"disabled": true})).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let res = patch("/api/v2/users/nope".into(), admin.token.clone(), json!({"disabled": true})).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        let res = patch(anns.clone(), admin.token.clone(), json!({"disabled": "yes"})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        let res = patch(anns, admin.token.clone(), json!({"disabled": true, "is_admin": true})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "unknown fields are refused");
        assert_eq!(app.get("/api/v2/auth/me", &ann).await.status, StatusCode::OK, "nothing was changed");
    }
}
