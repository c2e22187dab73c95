//! The last day's finished jobs for the admins' overview: counted from the completion index,
//! and folded into per-minute counts by a maintenance pass (see `jobs::finished`).

use super::StoreResult;
use crate::jobs::finished::{MinuteCount, TimeRange};
use crate::jobs::stats::FinishedCount;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
pub trait FinishedStore: Send + Sync {
    /// Jobs that finished within `ranges` (disjoint) counted by type and status, with how many
    /// of them finished at or after `hour`: one range of the completion index per range, whose
    /// entries carry the type and status, so no other job is read.
    async fn finished_counts(&self, ranges: &[TimeRange], hour: DateTime<Utc>) -> StoreResult<Vec<FinishedCount>>;

    /// How far finished jobs are folded into minutes (exclusive; `None`: not yet), and the
    /// folded minutes from `from` to there.
    async fn finished_minutes(&self, from: DateTime<Utc>) -> StoreResult<(Option<DateTime<Utc>>, Vec<MinuteCount>)>;

    /// In one transaction, on one node at a time: fold the jobs finished since the last fold
    /// (or since `oldest`, whichever is later) up to `until` into per-minute counts, and delete
    /// the minutes before `oldest`. Both times are whole minutes. Returns how far the fold now
    /// reaches, `None` when there was nothing to fold.
    async fn roll_up_finished(&self, until: DateTime<Utc>, oldest: DateTime<Utc>)
    -> StoreResult<Option<DateTime<Utc>>>;
}
