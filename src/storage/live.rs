//! The reads behind live updates (`live`): the changed jobs a node's sockets watch, and which
//! of their sessions still stand. Reads only; each is one statement.

use super::StoreResult;
use crate::jobs::events::Owners;
use crate::jobs::model::Job;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
pub trait LiveStore: Send + Sync {
    /// These jobs as they stand now, in no particular order; missing ids are left out.
    async fn jobs_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Job>>;

    /// The active jobs (as `Store::active_jobs`) of `owners`, newest first, at most `limit`.
    /// With [`Owners::All`], every owner's.
    async fn active_jobs_of(&self, owners: &Owners, finished_since: DateTime<Utc>, limit: u32)
    -> StoreResult<Vec<Job>>;

    /// Those of these token digests that still open a session at `now` (not revoked, not
    /// expired, their user not disabled).
    async fn live_tokens(&self, token_hashes: &[Vec<u8>], now: DateTime<Utc>) -> StoreResult<Vec<Vec<u8>>>;
}
