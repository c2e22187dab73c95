//! A worker's knobs. Every duration is configurable (see `config::WorkerArgs`), so tests
//! and operators can shorten or lengthen it.

use super::Backoff;
use crate::jobs::JobType;
use crate::notify::DigestTiming;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Jobs run at once by this worker.
    pub concurrency: usize,
    /// At most this many running jobs of a type in this worker.
    pub type_limits: BTreeMap<JobType, usize>,
    /// How long a claim holds without renewal; a dead worker's jobs come back after it.
    pub lease: Duration,
    /// How often leases are renewed (and progress written, and cancel requests checked).
    pub heartbeat: Duration,
    /// Look for due jobs this often even without a notification (delayed jobs, lost signals).
    pub poll: Duration,
    pub backoff: Backoff,
    /// On shutdown, running jobs get this long to finish before they are handed back.
    pub shutdown_grace: Duration,
    /// Finished jobs older than this are deleted.
    pub retention: Duration,
    /// How often expired leases are rescued.
    pub rescue_every: Duration,
    /// How often old finished jobs are pruned.
    pub prune_every: Duration,
    /// How often due schedule ticks are turned into jobs.
    pub schedule_every: Duration,
    /// When users' finished jobs become a digest email.
    pub digest: DigestTiming,
    /// How often due digests are started.
    pub digest_every: Duration,
    /// How often ended jobs' webhook events are turned into delivery jobs.
    pub webhook_every: Duration,
    /// How often finished jobs are folded into the admins' per-minute counts.
    pub rollup_every: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 10,
            type_limits: BTreeMap::new(),
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(1),
            poll: Duration::from_secs(5),
            backoff: Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(3600) },
            shutdown_grace: Duration::from_secs(10),
            retention: Duration::from_secs(7 * 24 * 3600),
            rescue_every: Duration::from_secs(5),
            prune_every: Duration::from_secs(60),
            schedule_every: Duration::from_secs(1),
            digest: DigestTiming::default(),
            digest_every: Duration::from_secs(2),
            webhook_every: Duration::from_millis(500),
            rollup_every: Duration::from_secs(30),
        }
    }
}

/// Parses `TYPE=N`, as in `--type-limit import=2`.
pub fn parse_type_limit(text: &str) -> Result<(JobType, usize), String> {
    let (name, limit) = text.split_once('=').ok_or_else(|| format!("expected TYPE=N, got '{text}'"))?;
    let job_type = name.trim().parse::<JobType>().map_err(|e| e.to_string())?;
    let limit = limit.trim().parse::<usize>().map_err(|_| format!("'{limit}' is not a whole number"))?;
    Ok((job_type, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_limits_parse() {
        assert_eq!(parse_type_limit("import=2"), Ok((JobType::Import, 2)));
        assert!(parse_type_limit("import").is_err());
        assert!(parse_type_limit("upload=2").unwrap_err().contains("expected one of"));
        assert!(parse_type_limit("export=-1").is_err());
    }
}
