//! The web app, served next to the API: built files (precompressed, cached), the page for the
//! app's own routes, security headers; and the app's copy of the OpenAPI document kept current.

use crate::helpers::contract_tests;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;

fn get(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut req = Request::get(path).header("host", "127.0.0.1:8080");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.body(Body::empty()).unwrap()
}

const HTML: (&str, &str) = ("accept", "text/html,application/xhtml+xml,*/*;q=0.8");

/// The hashed script the built page loads.
fn script_of(page: &str) -> String {
    let start = page.find("/assets/").expect("the page loads its assets");
    let end = start + page[start..].find(".js").expect("a script") + 3;
    page[start..end].to_owned()
}

async fn raw(app: &crate::helpers::TestApp, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt;
    let res = tower::ServiceExt::oneshot(app.router.clone(), req).await.unwrap();
    let (parts, body) = res.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

contract_tests! {
    async fn the_page_is_served_at_the_root_and_at_the_apps_own_routes(app) {
        for path in ["/", "/index.html", "/jobs/5b0e0cf4-1f5e-4c55-9c0a-3f5d0fb1d7a1", "/?status=failed"] {
            let (status, headers, body) = raw(app, get(path, &[HTML])).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(headers["content-type"], "text/html", "{path}");
            assert!(String::from_utf8(body).unwrap().contains(r#"<div id="root">"#), "{path}");
            assert_eq!(headers["cache-control"], "no-cache");
            let csp = headers["content-security-policy"].to_str().unwrap();
            for part in ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'",
                         "connect-src 'self' ws://127.0.0.1:8080 wss://127.0.0.1:8080"] {
                assert!(csp.contains(part), "{part} in {csp}");
            }
            assert!(!csp.contains("unsafe-inline"), "{csp}");
            assert_eq!(headers["x-content-type-options"], "nosniff");
            assert_eq!(headers["referrer-policy"], "same-origin");
        }
    }

    async fn the_page_is_revalidated_by_etag(app) {
        let (_, headers, _) = raw(app, get("/", &[HTML, ("accept-encoding", "br")])).await;
        let etag = headers["etag"].to_str().unwrap().to_owned();
        let (status, again, body) = raw(app, get("/", &[HTML, ("accept-encoding", "br"), ("if-none-match", &etag)])).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
        assert_eq!(again["etag"], etag.as_str());
        let weak = format!("W/{etag}");
        let (status, ..) = raw(app, get("/", &[HTML, ("accept-encoding", "br"), ("if-none-match", &weak)])).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "compared weakly");
        let (status, ..) = raw(app, get("/", &[HTML, ("if-none-match", "\"something-else\"")])).await;
        assert_eq!(status, StatusCode::OK);
    }

    async fn hashed_assets_are_precompressed_and_cached_for_good(app) {
        let (_, _, page) = raw(app, get("/", &[HTML])).await;
        let script = script_of(&String::from_utf8(page).unwrap());
        let (status, plain_headers, plain) = raw(app, get(&script, &[])).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(plain_headers["content-type"], "text/javascript");
        assert!(plain_headers.get("content-encoding").is_none());
        assert_eq!(plain_headers["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(plain_headers["x-content-type-options"], "nosniff");

        for (accept, coding) in [("gzip, deflate, br, zstd", "br"), ("gzip", "gzip"), ("br;q=0, gzip", "gzip")] {
            let (status, headers, body) = raw(app, get(&script, &[("accept-encoding", accept)])).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(headers["content-encoding"], coding, "{accept}");
            assert_eq!(headers["vary"], "accept, accept-encoding");
            assert_ne!(headers["etag"], plain_headers["etag"], "each encoding is its own representation");
            assert!(body.len() * 2 < plain.len(), "{coding}: {} of {} bytes", body.len(), plain.len());
        }
        let (_, headers, body) = raw(app, get(&script, &[("accept-encoding", "gzip")])).await;
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut unzipped).unwrap();
        assert_eq!(unzipped, plain, "the gzip copy is the script ({:?})", headers["etag"]);
    }

    async fn misses_stay_json_404s(app) {
        for (path, headers) in [
            ("/api/v2/no-such-route", vec![HTML]),
            ("/api/nothing", vec![HTML]),
            ("/assets/missing-abc.js", vec![HTML]),
            ("/no-such-file.txt", vec![("accept", "*/*")]),
            ("/assets/", vec![]),
        ] {
            let res = app.send(get(path, &headers)).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(res.body["error"]["code"], "not_found", "{path}");
            assert_eq!(res.headers["cache-control"], "no-store", "{path}: a cache must not keep it for the page's URL");
            assert_eq!(res.headers["x-content-type-options"], "nosniff");
        }
        // Compressed copies are not files of their own.
        let (_, _, page) = raw(app, get("/", &[HTML])).await;
        let script = script_of(&String::from_utf8(page).unwrap());
        assert_eq!(app.send(get(&format!("{script}.br"), &[])).await.status, StatusCode::NOT_FOUND);
        // Only GET and HEAD reach the page.
        let post = Request::post("/history").header("accept", "text/html").body(Body::empty()).unwrap();
        assert_eq!(app.send(post).await.status, StatusCode::NOT_FOUND);
    }
}

/// `web/src/api/openapi.json` is what the page's types are generated from (`make web`).
#[test]
fn the_web_apps_copy_of_the_openapi_document_is_current() {
    let served: Value = serde_json::from_str(&jobwatch::http::openapi_json()).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/web/src/api/openapi.json");
    let copy: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(served == copy, "web/src/api/openapi.json is stale: run `make web` and commit the result");
}

#[test]
fn every_reference_in_the_openapi_document_resolves() {
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    out.push(target);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let document: Value = serde_json::from_str(&jobwatch::http::openapi_json()).unwrap();
    let mut found = Vec::new();
    refs(&document, &mut found);
    assert!(!found.is_empty());
    for target in found {
        let pointer = target.strip_prefix('#').expect("local references only");
        assert!(document.pointer(pointer).is_some(), "{target} does not resolve");
    }
}

#[test]
fn path_parameters_are_in_their_paths_and_the_rest_are_queries() {
    let document: Value = serde_json::from_str(&jobwatch::http::openapi_json()).unwrap();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                let in_path = path.contains(&format!("{{{name}}}"));
                assert_eq!(
                    parameter["in"] == "path",
                    in_path,
                    "{method} {path}: parameter {name} is in {}",
                    parameter["in"]
                );
            }
        }
    }
}
