//! `/api/v2/webhooks`: a user's (or, for admins, global) endpoints, their delivery logs and
//! the test-send.

use super::service::NewWebhook;
use super::{Delivery, WebhookEvent, WebhookView};
use crate::auth::CurrentUser;
use crate::http::{ApiError, AppState, ErrorBody, JsonBody, PathParam};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

/// `/webhooks/…`, declared once with their OpenAPI entries.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(delete_webhook))
        .routes(routes!(webhook_deliveries))
        .routes(routes!(test_webhook))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// Where events are POSTed: http or https, no credentials, a public host (unless the
    /// service allows private addresses).
    #[schema(max_length = 2048)]
    pub url: String,
    /// The events to send (default: all three).
    #[schema(schema_with = super::events_schema)]
    pub events: Option<Vec<WebhookEvent>>,
    /// Admins: told of every user's jobs, not only the caller's (default false).
    pub global: Option<bool>,
}

/// A new endpoint, with the secret its events are signed with: shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_…`: the Standard Webhooks key (base64 after the prefix). Not shown again.
    pub secret: String,
}

/// The query of `GET /webhooks/{id}/deliveries`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// 1–200 lines (default 50); a number outside is brought within (0 is 1).
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
}

/// The caller's endpoints (an admin's list has the global ones too), oldest first.
#[utoipa::path(
    get, path = "/api/v2/webhooks", tag = "webhooks",
    responses((status = 200, description = "Endpoints, without their secrets", body = [WebhookView])),
    security(("bearer" = []))
)]
pub async fn list_webhooks(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<Json<Vec<WebhookView>>, ApiError> {
    let webhooks = state.webhooks.list(&caller.user).await?;
    Ok(Json(webhooks.iter().map(WebhookView::from).collect()))
}

/// Register an endpoint for the caller's job events (or, `global`, everyone's).
#[utoipa::path(
    post, path = "/api/v2/webhooks", tag = "webhooks",
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Endpoint registered; the secret is shown this once", body = CreatedWebhook,
            links(
                ("delete" = (operation_id = "delete_webhook", parameters(("webhook_id" = "$response.body#/id")))),
                ("test" = (operation_id = "test_webhook", parameters(("webhook_id" = "$response.body#/id")))),
            )),
        (status = 403, description = "`forbidden`: `global` from a caller who is not an admin", body = ErrorBody),
        (status = 422, description = "`unsafe_webhook_url`: the host is, or resolves to, a loopback, private, \
            link-local, unique-local, shared or metadata address (the message says which); `invalid_field`: a URL \
            that does not parse, is not http(s), carries credentials or does not resolve, or no events; \
            `invalid_body`: an unknown event (the message lists the allowed ones), or JSON of another shape",
            body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: CurrentUser,
    JsonBody(req): JsonBody<CreateWebhookRequest>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    let new = NewWebhook { url: req.url, events: req.events, global: req.global.unwrap_or(false) };
    let webhook = state.webhooks.create(&caller.user, new).await?;
    let created = CreatedWebhook { webhook: WebhookView::from(&webhook), secret: webhook.secret };
    Ok((StatusCode::CREATED, Json(created)))
}

/// Remove an endpoint, with its delivery log; deliveries not yet made are dropped.
#[utoipa::path(
    delete, path = "/api/v2/webhooks/{webhook_id}", tag = "webhooks",
    params(("webhook_id" = Uuid, Path, description = "Endpoint id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such endpoint, or not the caller's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: CurrentUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.webhooks.delete(&caller.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The endpoint's delivery log: one line per attempt, newest first.
#[utoipa::path(
    get, path = "/api/v2/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    params(("webhook_id" = Uuid, Path, description = "Endpoint id"), DeliveriesQuery),
    responses(
        (status = 200, description = "Attempts, newest first; `error` is null for a delivered one",
            body = [Delivery]),
        (status = 404, description = "No such endpoint, or not the caller's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn webhook_deliveries(
    State(state): State<AppState>,
    caller: CurrentUser,
    PathParam(id): PathParam<Uuid>,
    query: Result<Query<DeliveriesQuery>, QueryRejection>,
) -> Result<Json<Vec<Delivery>>, ApiError> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    Ok(Json(state.webhooks.deliveries(&caller.user, id, limit).await?))
}

/// Send a `webhook.test` event to the endpoint now, once, and answer with how it went.
#[utoipa::path(
    post, path = "/api/v2/webhooks/{webhook_id}/test", tag = "webhooks",
    params(("webhook_id" = Uuid, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "The attempt (also in the log): `error` null if the endpoint answered 2xx",
            body = Delivery),
        (status = 404, description = "No such endpoint, or not the caller's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn test_webhook(
    State(state): State<AppState>,
    caller: CurrentUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<Json<Delivery>, ApiError> {
    Ok(Json(state.webhooks.test(&caller.user, id).await?))
}
