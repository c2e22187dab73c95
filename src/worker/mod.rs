//! Workers: the jobs table is the queue. A worker claims due jobs, runs their handlers,
//! keeps their leases alive, reports progress, and finishes, retries or gives them back.
//!
//! `runner` runs the loop; `claiming` sizes and makes claims; `completer` records successes
//! in batches; `lease` renews leases and passes on cancel requests; `outcome` decides what a
//! handler's result means; `maintenance` rescues jobs of dead workers, fires due schedules and
//! prunes old ones; `step` runs one pass of all of it on demand (tests step a worker instead of
//! waiting on it); `handler`/`context` are what application code sees.

pub mod backoff;
mod claiming;
mod completer;
pub mod context;
pub mod handler;
mod lease;
mod maintenance;
pub mod outcome;
pub mod processing;
mod runner;
pub mod settings;
mod step;

pub use backoff::Backoff;
pub use context::{JobContext, ProgressReporter};
pub use handler::{HandlerError, Handlers, JobHandler};
pub use runner::{LocalInbox, Worker};
pub use settings::WorkerSettings;
pub use step::Step;
