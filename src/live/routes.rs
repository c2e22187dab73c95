//! `GET /api/v2/jobs/ws`: every check happens before the upgrade, so a refused client gets
//! a JSON error with its status code, not a socket that closes.

use super::hub::Scope;
use super::messages::LiveMessage;
use super::socket;
use crate::auth::token;
use crate::http::{ApiError, AppState, ErrorBody};
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{Query, State};
use axum::http::header::SEC_WEBSOCKET_PROTOCOL;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The subprotocol spoken; clients offer it, the server selects it.
pub const PROTOCOL: &str = "jobwatch.v1";
/// A bearer token offered as a subprotocol: `jobwatch.bearer.<token>`.
pub const BEARER_PROTOCOL_PREFIX: &str = "jobwatch.bearer.";
/// Clients send nothing but control frames; anything larger than this closes the socket.
const MAX_CLIENT_MESSAGE_BYTES: usize = 4 * 1024;
/// What a socket keeps for reading: its clients send next to nothing (pongs), and at 10 000
/// sockets every KiB kept is 10 MB.
const READ_BUFFER_BYTES: usize = 512;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(live_jobs))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LiveQuery {
    /// `own` (default): the caller's jobs; `all` (admins): every user's, newest 1 000.
    pub scope: Option<LiveScope>,
    /// Refused: a token in a URL ends up in logs. Offer it as a subprotocol instead.
    #[param(ignore)]
    token: Option<String>,
    #[param(ignore)]
    access_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LiveScope {
    Own,
    All,
}

/// Live job updates over a WebSocket: a snapshot of the caller's active jobs (as
/// `GET /jobs/active`), then a message for each change, pushed the moment it happens on any
/// node. Browsers are authenticated by the session cookie (the page's `Origin` must be the
/// service's own or allowed); other clients offer the subprotocols `jobwatch.v1` and
/// `jobwatch.bearer.<token>` (or send `Authorization`). Messages: `LiveMessage`. The server
/// pings every 20 s; a client that answers none of two pings is dropped. Close codes: 1001 the
/// node is shutting down (reconnect), 4401 the session ended (log in again), 1011 try again.
#[utoipa::path(
    get, path = "/api/v2/jobs/ws", tag = "jobs",
    params(LiveQuery),
    responses(
        (status = 101, description = "Switching to the WebSocket; then LiveMessage text frames", body = LiveMessage),
        (status = 400, description = "Not a WebSocket upgrade, a token in the query string, an unknown scope, \
            or subprotocols offered without jobwatch.v1", body = ErrorBody),
        (status = 403, description = "Cookie from a page of another origin, or scope=all without being an admin", body = ErrorBody),
        (status = 429, description = "The caller holds JOBWATCH_WS_PER_USER sockets on this node already", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn live_jobs(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LiveQuery>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    if query.token.is_some() || query.access_token.is_some() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "token_in_query",
            "tokens in the URL end up in logs: offer the subprotocol 'jobwatch.bearer.<token>' \
             (or send Authorization, or use the session cookie)",
        ));
    }
    let offered = offered_protocols(&headers);
    if !offered.is_empty() && !offered.contains(&PROTOCOL) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_protocol",
            format!("offer the subprotocol '{PROTOCOL}'"),
        ));
    }
    let token = presented_token(&headers, &offered, &state.allowed_origins)?;
    let user = state.auth.authenticate(&token).await?;
    let scope = match query.scope.unwrap_or(LiveScope::Own) {
        LiveScope::Own => Scope::Own(user.id),
        LiveScope::All if user.is_admin => Scope::Everyone,
        LiveScope::All => return Err(ApiError::forbidden("scope=all needs an admin")),
    };
    let seat = state
        .live
        .reserve(user.id)
        .map_err(|e| ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_sockets", e.to_string()))?;
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "not_a_websocket",
            format!("this endpoint speaks WebSocket ({})", rejection.body_text()),
        )
    })?;
    let hub = state.live.hub().clone();
    let digest = token::digest(&token);
    Ok(upgrade
        .protocols([PROTOCOL])
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
        // The seat moves into the socket's task; a failed upgrade drops it, freeing the seat.
        .on_upgrade(move |ws| socket::run(ws, seat, hub, scope, digest)))
}

/// Every subprotocol the client offered.
fn offered_protocols(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// The token offered as a subprotocol, else as for any route — but the cookie counts only from
/// a page of this service's origin or an allowed one, though the upgrade is a GET: browsers send
/// the cookie with another site's sockets too.
fn presented_token(headers: &HeaderMap, offered: &[&str], allowed: &[String]) -> Result<String, ApiError> {
    match offered.iter().find_map(|p| p.strip_prefix(BEARER_PROTOCOL_PREFIX)) {
        Some(token) => Ok(token.to_owned()),
        None => crate::auth::extractor::presented_token(headers, true, allowed),
    }
}
