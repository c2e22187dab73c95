//! Background jobs: what a job is, how it may move between states, and the API over it.

pub mod active_cache;
pub mod events;
pub mod finished;
pub mod history;
pub mod model;
pub mod routes;
pub mod service;
pub mod state;
pub mod stats;
pub mod timeline;

pub use active_cache::ActiveCache;
pub use model::{Job, JobStatus, JobType};
pub use service::{JobError, JobService};
pub use state::Action;
