//! Users: accounts that own jobs, and the admin route that creates them.

pub mod routes;
pub mod service;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub use service::{UserError, UserService};

/// A user as the API shows it (never with the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub is_admin: bool,
    /// A disabled user cannot log in and has no sessions; their jobs stay.
    pub disabled: bool,
    #[serde(skip)]
    pub created_at: DateTime<Utc>,
}

/// A user about to be inserted; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub created_at: DateTime<Utc>,
}
