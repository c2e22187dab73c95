//! Authentication: argon2id passwords, opaque bearer tokens stored only as hashes, and the
//! extractor that turns `Authorization: Bearer …` into the calling user.

pub mod extractor;
pub mod limits;
pub mod password;
pub mod routes;
pub mod service;
pub mod session;
pub mod token;

pub use extractor::{AdminUser, BearerToken, CurrentUser};
pub use service::{AuthError, AuthService, INVALID_TOKEN, Session};
