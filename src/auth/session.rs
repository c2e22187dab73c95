//! Browser sessions: the same opaque tokens as bearer logins, carried in an HttpOnly cookie so
//! page scripts never hold them. A request authenticated by the cookie that could change
//! something (any method but GET, HEAD, OPTIONS) must come from this service's own origin or
//! an allowed one: a page elsewhere cannot act with the user's cookie (CSRF).

use axum::http::header::{COOKIE, HOST, ORIGIN, REFERER};
use axum::http::{HeaderMap, HeaderValue, Method};

/// The cookie's name.
pub const COOKIE_NAME: &str = "jobwatch_session";

/// The session token from a request's `Cookie` headers, if any.
pub fn token_from_cookies(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE_NAME && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// Is the request served over plain http on a loopback address (a developer's machine)? Only
/// then is the cookie not marked `Secure`, which browsers would refuse to send over http.
fn plain_http_on_loopback(headers: &HeaderMap) -> bool {
    let https = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|p| p == "https");
    let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let name = host.rsplit_once(':').map_or(host, |(name, port)| if port.parse::<u16>().is_ok() { name } else { host });
    let loopback = name == "localhost"
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !https && loopback
}

/// `Set-Cookie` for a new session lasting `max_age_secs`.
pub fn set_cookie(token: &str, max_age_secs: i64, request: &HeaderMap) -> HeaderValue {
    let secure = if plain_http_on_loopback(request) { "" } else { "; Secure" };
    let value = format!("{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&value).expect("a token is plain ASCII")
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(request: &HeaderMap) -> HeaderValue {
    set_cookie("", 0, request)
}

/// Whether a cookie-authenticated request with `method` may go ahead: safe methods always;
/// others only with an `Origin` (or, lacking one, a `Referer`) that is this service's own —
/// the `Host` it was asked for — or one of `allowed` (`scheme://host[:port]`).
pub fn same_origin_or_allowed(method: &Method, headers: &HeaderMap, allowed: &[String]) -> bool {
    changes_nothing(method) || from_allowed_origin(headers, allowed)
}

/// GET, HEAD and OPTIONS: methods a cookie may authenticate from any page.
pub fn changes_nothing(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request's `Origin` (or, lacking one, its `Referer`) is this service's own — the
/// `Host` it was asked for — or one of `allowed` (`scheme://host[:port]`). A WebSocket upgrade
/// authenticated by the cookie needs this even though it is a GET: browsers send the cookie
/// with a cross-site page's socket too.
pub fn from_allowed_origin(headers: &HeaderMap, allowed: &[String]) -> bool {
    let header = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let Some(origin) =
        header(ORIGIN).filter(|o| *o != "null").map(str::to_owned).or_else(|| header(REFERER).and_then(origin_of))
    else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    if allowed.iter().any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
        return true;
    }
    // Our own origin: the Host the request was sent to, on either scheme a proxy may use.
    let host = header(HOST).unwrap_or_default();
    !host.is_empty()
        && ["http://", "https://"].iter().any(|scheme| origin.eq_ignore_ascii_case(&format!("{scheme}{host}")))
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_session_token_is_read_from_the_cookie_header() {
        let h = headers(&[("cookie", "theme=dark; jobwatch_session=jw_abc; x=1")]);
        assert_eq!(token_from_cookies(&h).as_deref(), Some("jw_abc"));
        assert_eq!(token_from_cookies(&headers(&[("cookie", "jobwatch_session=")])), None);
        assert_eq!(token_from_cookies(&HeaderMap::new()), None);
    }

    #[test]
    fn the_cookie_is_secure_except_over_plain_http_on_loopback() {
        let local = set_cookie("t", 60, &headers(&[("host", "127.0.0.1:8080")]));
        assert_eq!(local, "jobwatch_session=t; HttpOnly; SameSite=Strict; Path=/; Max-Age=60");
        for host in ["localhost:8080", "[::1]:8080"] {
            assert!(!set_cookie("t", 60, &headers(&[("host", host)])).to_str().unwrap().contains("Secure"), "{host}");
        }
        let public = set_cookie("t", 60, &headers(&[("host", "jobs.example.com")]));
        assert!(public.to_str().unwrap().ends_with("; Secure"));
        let proxied = set_cookie("t", 60, &headers(&[("host", "localhost"), ("x-forwarded-proto", "https")]));
        assert!(proxied.to_str().unwrap().ends_with("; Secure"));
    }

    #[test]
    fn unsafe_methods_need_our_own_or_an_allowed_origin() {
        let ours = headers(&[("host", "jobs.example.com"), ("origin", "https://jobs.example.com")]);
        assert!(same_origin_or_allowed(&Method::POST, &ours, &[]));
        let evil = headers(&[("host", "jobs.example.com"), ("origin", "https://evil.example")]);
        assert!(!same_origin_or_allowed(&Method::POST, &evil, &[]));
        assert!(same_origin_or_allowed(&Method::POST, &evil, &["https://evil.example/".into()]), "allow-listed");
        assert!(same_origin_or_allowed(&Method::GET, &evil, &[]), "reading is not what CSRF abuses");
        let referred = headers(&[("host", "jobs.example.com"), ("referer", "https://jobs.example.com/imports?x=1")]);
        assert!(same_origin_or_allowed(&Method::DELETE, &referred, &[]));
        let blind = headers(&[("host", "jobs.example.com")]);
        assert!(!same_origin_or_allowed(&Method::POST, &blind, &[]), "no origin at all: refused");
        let opaque = headers(&[("host", "jobs.example.com"), ("origin", "null")]);
        assert!(!same_origin_or_allowed(&Method::POST, &opaque, &[]));
    }
}
