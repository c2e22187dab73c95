//! The contract suite: every test runs against SQLite and PostgreSQL
//! (`<test>::sqlite`, `<test>::postgres`).

mod helpers;

mod auth;
mod errors;
mod jobs_active;
mod jobs_api;
mod jobs_lifecycle;
mod operations;
mod schedules;
mod schema;
mod users;
mod worker;
