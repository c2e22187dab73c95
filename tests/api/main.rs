//! The contract suite: every test runs against SQLite and PostgreSQL
//! (`<test>::sqlite`, `<test>::postgres`).

mod helpers;
mod import_helpers;
mod live_helpers;
mod webhook_receiver;

mod admin_stats;
mod auth;
mod errors;
mod exports;
mod import_disk_full;
mod import_errors;
mod import_files;
mod import_interruptions;
mod imports;
mod job_liveness;
mod job_timeline;
mod jobs_active;
mod jobs_api;
mod jobs_bulk;
mod jobs_history;
mod jobs_lifecycle;
mod live;
mod live_nodes;
mod metrics;
mod notify_email;
mod operations;
mod s3;
mod schedules;
mod schema;
mod sessions;
mod store;
mod users;
mod web;
mod webhooks;
mod worker;
