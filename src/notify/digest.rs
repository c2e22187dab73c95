//! The maintenance pass that starts digests: each user whose waiting outcomes are due gets one
//! `email` job carrying them all. Safe on many nodes at once: handing over the outcomes and
//! creating the job are one transaction, and a user's outcomes go to one job only.

use super::DigestTiming;
use crate::jobs::JobType;
use crate::jobs::model::NewJob;
use crate::storage::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;

/// Users started per pass; the rest wait for the next one.
const USERS_PER_PASS: u32 = 100;
/// A digest is retried for about half a day of mail server outage (backoff doubles to its cap).
pub const DIGEST_RETRIES: i32 = 20;

/// Starts every due digest; returns how many jobs it created.
pub async fn start_due(store: &dyn Store, now: DateTime<Utc>, timing: DigestTiming) -> Result<usize, StoreError> {
    let since = |d: std::time::Duration| now - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::zero());
    let due = store.due_digests(since(timing.quiet), since(timing.max_wait), USERS_PER_PASS).await?;
    let mut started = 0;
    for user in due {
        let job = NewJob::internal(JobType::Email, json!({ "user_id": user }), DIGEST_RETRIES, now);
        if store.start_digest(user, &job).await?.is_some() {
            started += 1;
        }
    }
    Ok(started)
}
