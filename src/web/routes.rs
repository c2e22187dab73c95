//! What the router answers when no API route matched: a built file, the page itself for the
//! app's own routes, or the API's JSON 404.

use super::assets::{self, Asset};
use super::encoding::{self, Encoding};
use crate::http::ApiError;
use axum::body::Body;
use axum::http::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, HOST, IF_NONE_MATCH, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

const PAGE: &str = "index.html";

/// Hashed build outputs (Vite names them after their content) never change under one name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The page and unhashed files are checked again on every load (cheap: 304 by ETag).
const REVALIDATE: &str = "no-cache";

pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    let api = path == "/api" || path.starts_with("/api/");
    if api || (method != Method::GET && method != Method::HEAD) {
        return miss();
    }
    let file = path.trim_start_matches('/');
    let accepted = encoding::accepted(&headers);
    if !file.is_empty()
        && file != PAGE
        && let Some(asset) = assets::find(file, &accepted)
    {
        let caching = if file.starts_with("assets/") { IMMUTABLE } else { REVALIDATE };
        return send(asset, caching, &headers, None);
    }
    // The page answers its own routes, for a browser asking for a page. A script or a client
    // asking for something else that is not there gets the usual 404.
    let app_route = !file.starts_with("assets/") && wants_html(&headers);
    if (file.is_empty() || file == PAGE || app_route)
        && let Some(page) = assets::find(PAGE, &accepted)
    {
        let policy = content_security_policy(&headers);
        return send(page, REVALIDATE, &headers, Some(policy));
    }
    miss()
}

/// The API's 404, never kept by a cache: the same URL may be the page for a browser.
fn miss() -> Response {
    let mut response = ApiError::not_found("no such route").into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(VARY, HeaderValue::from_static("accept"));
    response
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
}

fn send(asset: Asset, caching: &'static str, request: &HeaderMap, policy: Option<HeaderValue>) -> Response {
    let fresh = request
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        // If-None-Match compares weakly (RFC 9110): a proxy may have marked the tag `W/`.
        .is_some_and(|tags| {
            tags.split(',').map(str::trim).any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == asset.etag)
        });
    let mut response =
        if fresh { StatusCode::NOT_MODIFIED.into_response() } else { Body::from(asset.body).into_response() };
    let headers = response.headers_mut();
    if !fresh {
        headers.insert(CONTENT_TYPE, header(&asset.content_type));
        if asset.encoding != Encoding::Identity {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(asset.encoding.token()));
        }
    }
    headers.insert(ETAG, header(&asset.etag));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(caching));
    // The same URL is the page or a JSON 404 by `Accept`, a copy by `Accept-Encoding`.
    headers.insert(VARY, HeaderValue::from_static("accept, accept-encoding"));
    if let Some(policy) = policy {
        headers.insert(CONTENT_SECURITY_POLICY, policy);
    }
    response
}

fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// Only the app's own files run, nothing inline; it talks to this service alone, over HTTP
/// and its WebSocket (named in full: older browsers do not count `ws:` as `'self'`); no site
/// may frame it.
fn content_security_policy(request: &HeaderMap) -> HeaderValue {
    let host = request
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)));
    let sockets = host.map(|h| format!(" ws://{h} wss://{h}")).unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
         connect-src 'self'{sockets}; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
}
