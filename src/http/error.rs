//! The one error shape of the API: `{"error": {"code", "message", "details"?}}`.
//! Each module's error maps to a status and a stable `code` here; internal errors are logged
//! with their cause and answered with a generic 500.

use crate::auth::AuthError;
use crate::exports::ExportError;
use crate::imports::ImportError;
use crate::jobs::JobError;
use crate::jobs::history::HistoryError;
use crate::schedules::ScheduleError;
use crate::storage::StoreError;
use crate::users::UserError;
use crate::webhooks::WebhookError;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `not_found`, `unauthorized`, `invalid_transition`, …
    pub code: &'static str,
    /// For people.
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: ErrorDetail,
    /// Seconds a client should wait before trying again (429; 503 says 1).
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, detail: ErrorDetail { code, message: message.into(), details: None }, retry_after: None }
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.detail.details = Some(details);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// The database is away; the client may retry shortly.
    pub fn unavailable() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "database unavailable, retry shortly")
    }

    /// Logs the cause; the client learns only that something went wrong on our side.
    #[track_caller]
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let at = std::panic::Location::caller();
        tracing::error!(error = %cause, location = %at, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let retry_after = self.retry_after;
        let mut response = (status, axum::Json(ErrorBody { error: self.detail })).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<JobError> for ApiError {
    #[track_caller]
    fn from(err: JobError) -> Self {
        match err {
            JobError::NotFound => ApiError::not_found("job not found"),
            JobError::Conflict { action, status } => {
                ApiError::new(StatusCode::CONFLICT, "invalid_transition", err.to_string())
                    .with_details(json!({ "action": action, "status": status }))
            }
            JobError::UnknownDataset => ApiError::not_found(err.to_string()),
            JobError::InvalidField(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", err.to_string())
            }
            JobError::History(HistoryError::BadCursor) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_cursor", err.to_string())
            }
            JobError::History(HistoryError::Invalid(_)) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", err.to_string())
            }
            JobError::Forbidden => ApiError::forbidden(err.to_string()),
            JobError::CannotRetry(_) => ApiError::new(StatusCode::CONFLICT, "cannot_retry", err.to_string()),
            JobError::Store(e) => e.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    #[track_caller]
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::InvalidCredentials => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", err.to_string())
            }
            AuthError::Unauthorized(message) => ApiError::unauthorized(message),
            AuthError::Disabled => ApiError::new(StatusCode::FORBIDDEN, "account_disabled", err.to_string()),
            AuthError::TooManyAttempts { retry_after } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", err.to_string())
                    .with_retry_after(retry_after)
            }
            AuthError::Store(e) => e.into(),
            AuthError::Internal(e) => ApiError::internal(e),
        }
    }
}

impl From<UserError> for ApiError {
    #[track_caller]
    fn from(err: UserError) -> Self {
        match err {
            UserError::InvalidEmail | UserError::InvalidPassword => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", err.to_string())
            }
            UserError::EmailTaken => ApiError::new(StatusCode::CONFLICT, "email_taken", err.to_string()),
            UserError::NotFound => ApiError::not_found(err.to_string()),
            UserError::DisablingSelf => ApiError::new(StatusCode::CONFLICT, "disabling_self", err.to_string()),
            UserError::Store(e) => e.into(),
            UserError::Internal(e) => ApiError::internal(e),
        }
    }
}

impl From<ScheduleError> for ApiError {
    #[track_caller]
    fn from(err: ScheduleError) -> Self {
        match err {
            ScheduleError::Invalid(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", err.to_string())
            }
            ScheduleError::NameTaken => ApiError::new(StatusCode::CONFLICT, "name_taken", err.to_string()),
            ScheduleError::NotFound => ApiError::not_found(err.to_string()),
            ScheduleError::Store(e) => e.into(),
        }
    }
}

impl From<ImportError> for ApiError {
    #[track_caller]
    fn from(err: ImportError) -> Self {
        let message = err.to_string();
        match err {
            ImportError::NotFound(_) => ApiError::not_found(message),
            ImportError::UnknownSupplier | ImportError::Invalid(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message)
            }
            ImportError::NameTaken => ApiError::new(StatusCode::CONFLICT, "name_taken", message),
            ImportError::UnsupportedType(_) => {
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_file_type", message)
            }
            ImportError::TooLarge { limit } => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "file_too_large", message)
                .with_details(json!({ "limit_bytes": limit })),
            ImportError::Interrupted(_) => ApiError::new(StatusCode::BAD_REQUEST, "upload_interrupted", message),
            ImportError::Cancelled => ApiError::new(StatusCode::CONFLICT, "cancelled", message),
            ImportError::Job(e) => e.into(),
            ImportError::Store(e) => e.into(),
            ImportError::StorageFull(cause) => {
                tracing::error!(error = %cause, "object storage is full");
                ApiError::new(StatusCode::INSUFFICIENT_STORAGE, "insufficient_storage", message)
            }
            ImportError::Objects(e) => ApiError::internal(e),
        }
    }
}

impl From<ExportError> for ApiError {
    #[track_caller]
    fn from(err: ExportError) -> Self {
        let message = err.to_string();
        match err {
            ExportError::NotFound(_) => ApiError::not_found(message),
            ExportError::NotReady(status) => {
                ApiError::new(StatusCode::CONFLICT, "not_ready", message).with_details(json!({ "status": status }))
            }
            ExportError::Job(e) => e.into(),
            ExportError::Import(e) => e.into(),
            ExportError::Objects(e) => ApiError::internal(e),
        }
    }
}

impl From<WebhookError> for ApiError {
    #[track_caller]
    fn from(err: WebhookError) -> Self {
        let message = err.to_string();
        match err {
            WebhookError::Invalid(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message),
            WebhookError::UnsafeUrl(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unsafe_webhook_url", message)
            }
            WebhookError::GlobalNeedsAdmin => ApiError::forbidden(message),
            WebhookError::NotFound => ApiError::not_found(message),
            WebhookError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    #[track_caller]
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                ApiError::unavailable()
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let code = match &rejection {
            JsonRejection::JsonDataError(_) => "invalid_body",
            JsonRejection::JsonSyntaxError(_) => "malformed_json",
            JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
            _ if status == StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            _ => "bad_body",
        };
        ApiError::new(status, code, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", rejection.body_text())
    }
}

impl From<MultipartRejection> for ApiError {
    fn from(rejection: MultipartRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "not_multipart", rejection.body_text())
    }
}

/// A broken or cut-off multipart body (the client sent garbage, or stopped sending).
impl From<MultipartError> for ApiError {
    fn from(err: MultipartError) -> Self {
        match err.status() {
            StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", err.body_text())
            }
            // Reading the body failed: the client went away or the connection broke.
            StatusCode::INTERNAL_SERVER_ERROR => ApiError::new(
                StatusCode::BAD_REQUEST,
                "upload_interrupted",
                format!("the request body stopped arriving: {}", err.body_text()),
            ),
            status => ApiError::new(status, "bad_multipart", err.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", rejection.body_text())
    }
}
