//! `GET /metrics`: Prometheus text of this node's series and the database's gauges. Outside
//! `/api/v2` and its OpenAPI document (it is for scrapers, not the JSON API). Open unless
//! `JOBWATCH_METRICS_TOKEN` is set, then it takes `Authorization: Bearer <token>`.

use crate::http::{ApiError, AppState};
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What Prometheus asks for and `prometheus_client` writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/metrics", axum::routing::get(scrape))
}

async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(expected) = &state.metrics.settings().token {
        authorize(&headers, expected)?;
    }
    state.metrics.read_database(&state.jobs).await;
    let body = state.metrics.render(state.live.sockets());
    Ok(([(CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS))], body).into_response())
}

/// The bearer token must be `expected`. Compared as SHA-256 digests in constant time, so
/// neither the token's bytes nor its length show in how long a refusal takes.
fn authorize(headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    let header =
        headers.get(AUTHORIZATION).ok_or_else(|| ApiError::unauthorized("this endpoint needs a bearer token"))?;
    let presented = crate::auth::extractor::bearer(header).map_err(ApiError::from)?;
    let same: bool = Sha256::digest(presented.as_bytes()).ct_eq(&Sha256::digest(expected.as_bytes())).into();
    if !same {
        return Err(ApiError::unauthorized("wrong metrics token"));
    }
    Ok(())
}
