//! axum's `Json` and `Path` with their rejections turned into [`ApiError`]s, so a bad body
//! or id gets the API's JSON error instead of a plain-text one.

use super::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

/// A JSON request body.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Expected request with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "body_too_large" } else { "bad_body" };
            ApiError::new(status, code, rejection.body_text())
        })?;
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        // PostgreSQL's text and jsonb cannot hold NUL: refused here, the same on both backends,
        // before anything is stored.
        if has_nul_escape(&bytes) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "nul_character",
                "text may not contain the NUL character (\\u0000)",
            ));
        }
        Ok(JsonBody(value))
    }
}

/// `application/json` or `application/…+json`, as axum's `Json` accepts.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Whether valid JSON text carries a NUL character: it can only be written as the escape
/// `\u0000` (a raw NUL is not valid JSON), one whose backslash is not itself escaped.
fn has_nul_escape(json: &[u8]) -> bool {
    let needle = b"u0000";
    json.windows(needle.len())
        .enumerate()
        .any(|(at, window)| window == needle && json[..at].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1)
}

/// Integers in JSON bodies, counted as JSON Schema counts them: `50` and `50.0` are the same
/// number (a client computing progress as a float sends the latter), `50.5` is no integer.
/// serde alone refuses `50.0` for an integer field. For `#[serde(deserialize_with = …)]`.
pub mod whole_number {
    use serde::de::{Deserialize, Deserializer, Error};
    use serde_json::Number;

    fn integer<T: TryFrom<i64>, E: Error>(number: Number) -> Result<T, E> {
        // Every f64 in this range converts to an i64 exactly (2^63 itself does not fit).
        let whole =
            |f: &f64| f.fract() == 0.0 && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(f);
        number
            .as_i64()
            .or_else(|| number.as_f64().filter(whole).map(|f| f as i64))
            .and_then(|i| T::try_from(i).ok())
            .ok_or_else(|| E::custom(format!("invalid value: {number}, expected a whole number in range")))
    }

    pub fn required<'de, D: Deserializer<'de>, T: TryFrom<i64>>(deserializer: D) -> Result<T, D::Error> {
        integer(Number::deserialize(deserializer)?)
    }

    /// For an `Option` field, with `#[serde(default)]` so that leaving it out is `None`.
    pub fn optional<'de, D: Deserializer<'de>, T: TryFrom<i64>>(deserializer: D) -> Result<Option<T>, D::Error> {
        Option::<Number>::deserialize(deserializer)?.map(integer).transpose()
    }
}

/// A typed path parameter.
#[derive(Debug, Clone, Copy)]
pub struct PathParam<T>(pub T);

impl<S, T> FromRequestParts<S> for PathParam<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(value) = axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(PathParam(value))
    }
}

/// The client's address, when the server was started with connection info (`jobwatch serve`
/// is; in-process tests are not).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let info = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(ClientAddress(info.map(|c| c.0.ip())))
    }
}

#[cfg(test)]
mod tests {
    use super::has_nul_escape;

    #[derive(Debug, serde::Deserialize)]
    struct Numbers {
        #[serde(deserialize_with = "super::whole_number::required")]
        progress: i64,
        #[serde(default, deserialize_with = "super::whole_number::optional")]
        priority: Option<i32>,
    }

    fn numbers(json: &str) -> Result<(i64, Option<i32>), String> {
        serde_json::from_str::<Numbers>(json).map(|n| (n.progress, n.priority)).map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_may_be_written_as_floats() {
        assert_eq!(numbers(r#"{"progress": 50}"#), Ok((50, None)));
        assert_eq!(numbers(r#"{"progress": 50.0, "priority": -3.0}"#), Ok((50, Some(-3))));
        assert_eq!(numbers(r#"{"progress": 1e3, "priority": null}"#), Ok((1000, None)));
        assert_eq!(numbers(r#"{"progress": -9223372036854775808}"#), Ok((i64::MIN, None)));
        for bad in [
            r#"{"progress": 50.5}"#,
            r#"{"progress": "50"}"#,
            r#"{"progress": 9223372036854775808}"#,
            r#"{"progress": 9.3e18}"#,
            r#"{"progress": 1, "priority": 2147483648}"#,
            r#"{"progress": 1, "priority": 0.5}"#,
        ] {
            assert!(numbers(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_real_nul_escape_counts() {
        assert!(has_nul_escape(br#"{"x": "a\u0000b"}"#));
        assert!(has_nul_escape(br#"{"a\u0000": 1}"#));
        assert!(has_nul_escape(br#"["\\\u0000"]"#), "an escaped backslash, then the escape");
        assert!(!has_nul_escape(br#"{"x": "\\u0000"}"#), "the text \\u0000, not a NUL");
        assert!(!has_nul_escape(br#"{"x": "u0000"}"#));
        assert!(has_nul_escape(br#"{"x": "\u00001"}"#), "NUL, then the digit 1");
    }
}
