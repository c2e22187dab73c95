//! What email notifications keep: each user's setting, and the outcomes waiting for a digest.
//! The outcomes are written by a trigger in the transaction that ends a job (migration 0010),
//! so nothing here is on a job's path.

use super::StoreResult;
use crate::jobs::model::NewJob;
use crate::notify::{DigestLine, EmailNotify, Recipient};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
pub trait NotifyStore: Send + Sync {
    /// The user's address and email setting; `None` for an unknown user.
    async fn mail_recipient(&self, user: Uuid) -> StoreResult<Option<Recipient>>;
    /// Sets it; false for an unknown user. Outcomes already waiting stay (the digest job
    /// reads the setting again before it sends).
    async fn set_email_notify(&self, user: Uuid, setting: EmailNotify) -> StoreResult<bool>;
    /// Users with outcomes waiting for a digest that is due: their newest outcome is older than
    /// `quiet_since` (the burst is over) or their oldest older than `waited_since` (it has
    /// waited long enough). At most `limit`.
    async fn due_digests(
        &self,
        quiet_since: DateTime<Utc>,
        waited_since: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Uuid>>;
    /// In one transaction: hand every outcome of `user` still waiting to the new digest job
    /// `job`, and insert it; `None` (no job) when nothing was waiting, as when another node
    /// took them first.
    async fn start_digest(&self, user: Uuid, job: &NewJob) -> StoreResult<Option<Uuid>>;
    /// The outcomes digest job `digest` carries, oldest first, with what is known of each job
    /// now (a pruned job keeps its type and outcome).
    async fn digest_lines(&self, digest: Uuid) -> StoreResult<Vec<DigestLine>>;
    /// Forgets a sent digest's outcomes; returns how many.
    async fn finish_digest(&self, digest: Uuid) -> StoreResult<u64>;
}
