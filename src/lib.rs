//! jobwatch: durable background jobs that every user can watch live.
//!
//! The crate is laid out by concept: `jobs/` (model, state machine, service, routes),
//! `live/` (WebSocket push of job changes), `notify/` (email on completion), `webhooks/` (signed HTTP callbacks), `auth/` and `users/`, `imports/` (uploads, suppliers, datasets) and `exports/`, `objects/`
//! (file storage), `storage/` (the PostgreSQL and SQLite backends behind one trait),
//! `http/` (router, errors, extractors, OpenAPI) and the process plumbing at the root.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod exports;
pub mod http;
pub mod imports;
pub mod jobs;
pub mod live;
pub mod metrics;
pub mod names;
pub mod notify;
pub mod objects;
pub mod schedules;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod text_enum;
pub mod users;
pub mod web;
pub mod webhooks;
pub mod worker;
