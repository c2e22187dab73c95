//! The HTTP edge: application state, the router with its middleware, errors, extractors
//! and the OpenAPI document.

mod error;
mod extract;
pub mod health;
pub mod openapi;

pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use extract::{JsonBody, PathParam};

use crate::auth::{self, AuthService};
use crate::exports::{self, ExportService};
use crate::imports::{self, ImportService};
use crate::jobs::{self, JobService};
use crate::schedules::{self, ScheduleService};
use crate::storage::Store;
use crate::users::{self, UserService};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub jobs: JobService,
    pub imports: ImportService,
    pub exports: ExportService,
    pub auth: AuthService,
    pub users: UserService,
    pub schedules: ScheduleService,
}

/// Request bodies larger than this get 413 (the JSON API needs little).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn api_routes() -> Router<AppState> {
    use imports::routes as i;
    use jobs::routes as j;
    Router::new()
        .route("/auth/login", post(auth::routes::login))
        .route("/auth/logout", post(auth::routes::logout))
        .route("/auth/me", get(auth::routes::me))
        .route("/users", post(users::routes::create_user))
        // The spec's router declares `POST /`: answer both spellings.
        .route("/jobs", post(j::create_job))
        .route("/jobs/", post(j::create_job))
        .route("/jobs/active", get(j::active_jobs))
        .route("/jobs/{job_id}", get(j::get_job))
        .route("/jobs/{job_id}/start", post(j::start_job))
        .route("/jobs/{job_id}/progress", post(j::report_progress))
        .route("/jobs/{job_id}/complete", post(j::complete_job))
        .route("/jobs/{job_id}/fail", post(j::fail_job))
        .route("/jobs/{job_id}/cancel", post(j::cancel_job))
        .route("/jobs/{job_id}/retry", post(j::retry_job))
        .route("/schedules", get(schedules::routes::list_schedules).post(schedules::routes::create_schedule))
        .route("/schedules/{schedule_id}", delete(schedules::routes::delete_schedule))
        .route("/imports/suppliers", get(i::list_suppliers).post(i::create_supplier))
        .route("/imports/datasets", get(i::list_datasets))
        .route("/imports/datasets/{dataset_id}", get(i::get_dataset))
        // The upload enforces its own, larger limit while streaming (and removes what it stored).
        .route("/imports/files/upload", post(i::upload_file).layer(DefaultBodyLimit::disable()))
        .route("/exports", post(exports::routes::create_export))
        .route("/exports/{job_id}/download", get(exports::routes::download_export))
}

pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .nest("/api/v2", api_routes())
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(SwaggerUi::new("/docs").url("/api/v2/openapi.json", openapi::ApiDoc::openapi()))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this route")
        })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(CatchPanicLayer::custom(|_| -> Response { ApiError::internal("handler panicked").into_response() }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                // One line per request at debug: access logs are opt-in (RUST_LOG=tower_http=debug).
                .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}
