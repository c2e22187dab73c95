//! Every request's duration, labelled by its route's pattern, method and status class.

use super::Metrics;
use super::series::{HttpLabels, UNMATCHED_ROUTE, status_class};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Middleware (`axum::middleware::from_fn_with_state`) around every route and the fallback.
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let began = std::time::Instant::now();
    let method = request.method().as_str().to_owned();
    // The pattern, not the URL: one series per route however many ids it is called with.
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED_ROUTE, MatchedPath::as_str).to_owned();
    let response = next.run(request).await;
    let status = status_class(response.status().as_u16());
    metrics.http_request(HttpLabels { method, route, status }, began.elapsed());
    response
}
