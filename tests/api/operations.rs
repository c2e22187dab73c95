//! Probes and the generated API documentation.

use crate::helpers::contract_tests;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};

contract_tests! {
    async fn health_and_readiness(app) {
        let res = app.request(Method::GET, "/healthz", None, None).await;
        assert_eq!(res.status, StatusCode::OK);
        let res = app.request(Method::GET, "/readyz", None, None).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(res.body["database"], app.backend());
    }

    async fn openapi_document_describes_the_api(app) {
        let res = app.request(Method::GET, "/api/v2/openapi.json", None, None).await;
        assert_eq!(res.status, StatusCode::OK);
        assert!(res.body["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in ["/api/v2/jobs/active", "/api/v2/jobs/{job_id}", "/api/v2/jobs", "/api/v2/auth/login",
                     "/api/v2/users", "/api/v2/jobs/{job_id}/cancel", "/api/v2/imports/suppliers",
                     "/api/v2/imports/files/upload", "/api/v2/imports/datasets", "/api/v2/imports/datasets/{dataset_id}",
                     "/api/v2/exports", "/api/v2/exports/{job_id}/download"] {
            assert!(res.body["paths"].get(path).is_some(), "{path} missing");
        }
        let job = &res.body["components"]["schemas"]["JobResponse"];
        assert_eq!(job["properties"]["type"]["$ref"], "#/components/schemas/JobType");
        assert_eq!(res.body["components"]["schemas"]["JobType"]["enum"],
                   serde_json::json!(["import", "export", "validation", "processing", "email", "webhook"]));
        // What a client may submit: the spec's four (email and webhook jobs are jobwatch's own).
        let create = &res.body["components"]["schemas"]["CreateJobRequest"]["properties"]["job_type"];
        assert_eq!(create["enum"], serde_json::json!(["import", "export", "validation", "processing"]), "{create}");
        assert!(res.body["components"]["securitySchemes"]["bearer"].is_object());
        assert_eq!(res.body["components"]["schemas"]["ExportFormat"]["enum"], serde_json::json!(["csv", "xlsx", "jsonl"]));
    }

    async fn interactive_docs_are_served(app) {
        let req = Request::get("/docs/").body(Body::empty()).unwrap();
        let response = tower::ServiceExt::oneshot(app.router.clone(), req).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}

contract_tests! {
    // The database going away (restart, network) is a 503 to retry, not a 500.
    async fn a_lost_database_answers_503(app) {
        let user = app.new_user("u@example.com").await;
        app.close_pool().await;
        for path in ["/api/v2/jobs/active", "/api/v2/auth/me"] {
            let res = app.get(path, &user).await;
            assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {}", res.body);
            assert_eq!(res.body["error"]["code"], "unavailable");
            assert_eq!(res.headers["retry-after"], "1");
        }
        let res = app.request(Method::GET, "/readyz", None, None).await;
        assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(app.request(Method::GET, "/healthz", None, None).await.status, StatusCode::OK);
    }
}

/// The answers every route of a kind gives are written once, under `components/responses`, and
/// each operation of that kind refers to them: every route that takes a token lists 401, every
/// JSON body 400, 413, 415 and 422, every path or query parameter 400, and every route but the
/// probes 503.
#[test]
fn shared_answers_are_declared_once_and_referred_to() {
    let document: serde_json::Value = serde_json::from_str(&jobwatch::http::openapi_json()).unwrap();
    let shared = |name: &str| serde_json::json!({"$ref": format!("#/components/responses/{name}")});
    let responses = document["components"]["responses"].as_object().unwrap();
    assert_eq!(responses["Unauthorized"]["headers"]["WWW-Authenticate"]["schema"]["type"], "string");
    assert_eq!(responses["Unavailable"]["headers"]["Retry-After"]["schema"]["type"], "integer");
    let mut checked = 0;
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let answers = &operation["responses"];
            let has = |status: &str| answers.get(status).is_some();
            let refers = |status: &str, name: &str| answers[status] == shared(name);
            let secured = operation["security"].as_array().is_some_and(|s| !s.is_empty());
            let json_body = operation["requestBody"]["content"].get("application/json").is_some();
            if secured {
                assert!(refers("401", "Unauthorized"), "{method} {path}: {}", answers["401"]);
            }
            if json_body {
                for (status, name) in [("413", "BodyTooLarge"), ("415", "NotJson")] {
                    assert!(refers(status, name), "{method} {path}: {status}");
                }
                assert!(has("400") && has("422"), "{method} {path}");
            }
            if operation["parameters"].as_array().is_some_and(|p| !p.is_empty()) {
                assert!(has("400"), "{method} {path}");
            }
            if !path.ends_with("z") {
                assert!(refers("503", "Unavailable"), "{method} {path}");
            }
            checked += 1;
        }
    }
    assert!(checked > 30, "{checked} operations");
    // No route copies a shared answer word for word.
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for (status, answer) in operation["responses"].as_object().unwrap() {
                if let Some(description) = answer["description"].as_str() {
                    assert!(!description.contains("Missing, invalid or expired"), "{method} {path} {status}");
                }
            }
        }
    }
}
