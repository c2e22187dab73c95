//! The few calls of the HTTP API that `jobwatch jobs …` makes, and what their failures mean to
//! a person at a terminal.

use crate::jobs::routes::{JobPage, JobResponse};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::Duration;
use uuid::Uuid;

/// Why a call did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("the token was refused ({0}): log in again, or set a fresh JOBWATCH_TOKEN")]
    Unauthorized(String),
    #[error("{message} ({status} {code})")]
    Refused { status: StatusCode, code: String, message: String },
    #[error("could not reach {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
}

impl CallError {
    /// Worth asking again: the service is away, restarting or overloaded.
    pub fn is_transient(&self) -> bool {
        match self {
            CallError::Unreachable { .. } => true,
            CallError::Refused { status, .. } => {
                matches!(
                    *status,
                    StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
                )
            }
            CallError::NotFound(_) | CallError::Unauthorized(_) => false,
        }
    }
}

/// `{"error": {"code", "message"}}`, every error's shape (`http/error.rs`).
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

#[derive(Deserialize)]
struct LoginResponse {
    access_token: String,
}

/// The service at one address, called with one token.
pub struct Api {
    http: reqwest::Client,
    /// Ends without a slash: `http://127.0.0.1:8080`, or with a path prefix behind a proxy.
    base: String,
    token: String,
}

impl Api {
    /// Checks the address; the token is set by `with_token` (a login needs none).
    pub fn new(url: &str) -> anyhow::Result<Api> {
        let parsed = Url::parse(url).map_err(|e| anyhow::anyhow!("--url / JOBWATCH_URL '{url}' is not a URL: {e}"))?;
        anyhow::ensure!(
            matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some(),
            "--url / JOBWATCH_URL must be http://HOST[:PORT] or https://…, not '{url}'"
        );
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("jobwatch-cli/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Api { http, base: parsed.as_str().trim_end_matches('/').to_owned(), token: String::new() })
    }

    pub fn with_token(mut self, token: String) -> Api {
        self.token = token;
        self
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// The live socket's address: `ws://…/api/v2/jobs/ws` (`wss://` behind https).
    pub fn live_url(&self) -> String {
        let rest = self.base.strip_prefix("http").unwrap_or(&self.base);
        format!("ws{rest}/api/v2/jobs/ws")
    }

    /// Logs in; the token comes back for `with_token`.
    pub async fn login(&self, email: &str, password: &str) -> Result<String, CallError> {
        let body = serde_json::json!({"email": email, "password": password});
        let request = self.http.post(self.url("/auth/login")).json(&body);
        let login: LoginResponse = self.send(request, "").await?;
        Ok(login.access_token)
    }

    /// Revokes the token (after a login made for one command).
    pub async fn logout(&self) -> Result<(), CallError> {
        let request = self.http.post(self.url("/auth/logout")).bearer_auth(&self.token);
        self.answer(request, "").await.map(drop)
    }

    pub async fn job(&self, id: Uuid) -> Result<JobResponse, CallError> {
        self.get(&format!("/jobs/{id}"), &[], &format!("job {id}")).await
    }

    /// A page of the caller's history (`GET /jobs`), filtered as the route takes it.
    pub async fn history(&self, query: &[(&str, String)]) -> Result<JobPage, CallError> {
        self.get("/jobs", query, "").await
    }

    /// The caller's active jobs (`GET /jobs/active`).
    pub async fn active(&self) -> Result<Vec<JobResponse>, CallError> {
        self.get("/jobs/active", &[], "").await
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v2{path}", self.base)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)], what: &str) -> Result<T, CallError> {
        let request = self.http.get(self.url(path)).query(query).bearer_auth(&self.token);
        self.send(request, what).await
    }

    async fn send<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder, what: &str) -> Result<T, CallError> {
        let response = self.answer(request, what).await?;
        response.json().await.map_err(|source| self.unreachable(source))
    }

    /// Sends; a 2xx comes back, anything else as the error it means. `what` names the thing a
    /// 404 did not find (empty: the route itself).
    async fn answer(&self, request: reqwest::RequestBuilder, what: &str) -> Result<reqwest::Response, CallError> {
        let response = request.send().await.map_err(|source| self.unreachable(source))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let (code, message) = match response.json::<ErrorBody>().await {
            Ok(ErrorBody { error }) => (error.code, error.message),
            Err(_) => (String::new(), format!("{status} from {}: is this a jobwatch service?", self.base)),
        };
        Err(match status {
            StatusCode::NOT_FOUND if !what.is_empty() && code == "not_found" => CallError::NotFound(what.to_owned()),
            StatusCode::UNAUTHORIZED => CallError::Unauthorized(message),
            _ => CallError::Refused { status, code, message },
        })
    }

    fn unreachable(&self, source: reqwest::Error) -> CallError {
        CallError::Unreachable { url: self.base.clone(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_socket_follows_the_scheme_and_any_path_prefix() {
        assert_eq!(Api::new("http://127.0.0.1:8080/").unwrap().live_url(), "ws://127.0.0.1:8080/api/v2/jobs/ws");
        assert_eq!(
            Api::new("https://jobs.example.com/jw").unwrap().live_url(),
            "wss://jobs.example.com/jw/api/v2/jobs/ws"
        );
    }

    #[test]
    fn addresses_that_are_not_http_are_refused() {
        for bad in ["127.0.0.1:8080", "ftp://example.com", "http://"] {
            assert!(Api::new(bad).is_err(), "{bad}");
        }
    }
}
