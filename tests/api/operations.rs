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
                   serde_json::json!(["import", "export", "validation", "processing"]));
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
