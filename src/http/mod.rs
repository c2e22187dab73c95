//! The HTTP edge: application state, the router with its middleware, errors, extractors
//! and the OpenAPI document.

mod error;
mod extract;
pub mod health;
pub mod openapi;

pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use extract::{ClientAddress, JsonBody, PathParam, whole_number};

use crate::auth::{self, AuthService};
use crate::exports::{self, ExportService};
use crate::imports::{self, ImportService};
use crate::jobs::{self, ActiveCache, JobService};
use crate::live::{self, LiveHub};
use crate::metrics::{self, Metrics};
use crate::schedules::{self, ScheduleService};
use crate::storage::Store;
use crate::users::{self, UserService};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderName, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub jobs: JobService,
    /// The node's short memory of rendered `GET /jobs/active` answers.
    pub active: Arc<ActiveCache>,
    /// The node's live sockets (`GET /jobs/ws`).
    pub live: LiveHub,
    /// The node's Prometheus series (`GET /metrics`).
    pub metrics: Metrics,
    /// Origins besides the service's own whose pages may act with the session cookie.
    pub allowed_origins: Arc<[String]>,
    pub imports: ImportService,
    pub exports: ExportService,
    pub auth: AuthService,
    pub users: UserService,
    pub schedules: ScheduleService,
    /// How this node's workers send digest emails.
    pub mail: crate::notify::Mail,
    /// Webhook endpoints, and the client this node's deliveries go through.
    pub webhooks: crate::webhooks::WebhookService,
}

/// Request bodies larger than this get 413 (the JSON API needs little).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route with its OpenAPI entry, from each module's own router.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(auth::routes::router())
        .merge(crate::notify::routes::router())
        .merge(users::routes::router())
        .merge(crate::webhooks::routes::router())
        .merge(jobs::routes::router())
        .merge(live::routes::router())
        .merge(schedules::routes::router())
        .merge(imports::routes::router())
        .merge(exports::routes::router())
        .merge(health::router())
}

/// The routes, and their OpenAPI document with the answers they share added (`openapi`).
fn documented_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (api, mut document) = routes().split_for_parts();
    utoipa::Modify::modify(&openapi::SharedResponses, &mut document);
    (api, document)
}

/// The OpenAPI document, pretty-printed: what `/api/v2/openapi.json` serves and the web app's
/// types are generated from (`web/src/api/openapi.json`).
pub fn openapi_json() -> String {
    let (_, document) = documented_routes();
    document.to_pretty_json().expect("the OpenAPI document serialises")
}

pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let (api, document) = documented_routes();
    api.merge(SwaggerUi::new("/docs").url("/api/v2/openapi.json", document))
        .merge(metrics::routes::router())
        .fallback(crate::web::fallback)
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this route")
        })
        // Inside the routing, where each request's matched route is known (and the fallback's is not).
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), metrics::http::track))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        // Every answer, API or page: no content sniffing, no full URLs leaked to other sites.
        .layer(SetResponseHeaderLayer::if_not_present(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(REFERRER_POLICY, HeaderValue::from_static("same-origin")))
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
