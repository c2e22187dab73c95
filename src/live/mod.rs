//! Live job updates: `GET /api/v2/jobs/ws` pushes each user their own jobs' changes the moment
//! they happen, on any node.
//!
//! - `hub`: which sockets watch whose jobs; hears the store's job events, re-reads what
//!   changed in one query per round and hands it out; closes sockets whose session ended.
//! - `socket`: one socket's loop — snapshot, changes in version order, progress coalescing,
//!   pings, close codes.
//! - `messages`: what is sent (documented in the OpenAPI document as `LiveMessage`).
//! - `routes`: authentication and limits, all checked before the upgrade.

pub mod hub;
pub mod messages;
pub mod routes;
mod socket;

pub use hub::{LiveHub, Scope, TooManySockets};
pub use messages::{LiveMessage, SnapshotReason};
pub use socket::CLOSE_SESSION_ENDED;

use std::time::Duration;

/// How live sockets behave; the defaults are what `serve` runs with.
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// Most sockets one user may hold on one node (`JOBWATCH_WS_PER_USER`).
    pub per_user: usize,
    /// A ping this often; a client that answers none of two is dropped.
    pub ping_every: Duration,
    /// A job's progress is sent at most once per this (its state changes at once).
    pub progress_every: Duration,
    /// Fewest time between two reads of changes: changes arriving meanwhile share one read.
    pub read_gap: Duration,
    /// Sockets whose session ended (logout, revoked or expired token, disabled user, on any
    /// node) are closed within this.
    pub check_sessions_every: Duration,
    /// How often a socket looks for running jobs that have gone quiet (to show them stalled).
    pub stall_check_every: Duration,
    /// Pushes a socket may have queued; past that it gets a fresh snapshot instead.
    pub queue: usize,
    /// A client that takes longer than this to take one message is dropped.
    pub write_timeout: Duration,
}

impl Default for LiveSettings {
    fn default() -> Self {
        LiveSettings {
            per_user: 20,
            ping_every: Duration::from_secs(20),
            progress_every: Duration::from_millis(100),
            read_gap: Duration::from_millis(20),
            check_sessions_every: Duration::from_secs(2),
            stall_check_every: Duration::from_secs(1),
            queue: 64,
            write_timeout: Duration::from_secs(10),
        }
    }
}
