//! A short memory of `GET /jobs/active` answers, kept as the rendered response body. Every open
//! browser tab polls that endpoint, so a node answers a repeat within `ttl` from memory instead
//! of asking the database again.
//!
//! What a caller may see, and why it is safe:
//! - Every job change this process writes (API, workers, uploads) drops the owner's entry as
//!   it is written (the cache listens to `jobs::events`), so it shows at once.
//! - A change another node writes drops the entries of the owners it names when its
//!   notification arrives (PostgreSQL), so it shows at once too; a lost notification
//!   connection drops every list. Plain-SQL writes by other tools show within `ttl`.
//! - A logout on this node drops the token at once; a token revoked or expired elsewhere is
//!   refused within `ttl`.
//! - A read that overlaps a write on this node is not remembered: every write moves the
//!   [`Generation`], and an answer read under an older one may be stale.

use super::events::{JobEvent, JobEventSink, Owners};
use axum::body::Bytes;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// Entries kept before stale ones are swept (a few MB at about 20 jobs each).
const CAPACITY: usize = 10_000;

pub struct ActiveCache {
    ttl: Duration,
    maps: Mutex<Maps>,
}

#[derive(Default)]
struct Maps {
    /// Token digest → its owner, and the span it may be trusted.
    tokens: HashMap<Vec<u8>, (Uuid, Fresh)>,
    /// Owner → rendered active list, and the span it may be served.
    lists: HashMap<Uuid, (Bytes, Fresh)>,
    /// Moves on every forget.
    generation: u64,
    /// When stale entries were last swept out.
    swept: Option<DateTime<Utc>>,
}

/// Taken before a database read, handed back with its answer: see [`ActiveCache::put`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

/// From when an entry was read until it expires.
#[derive(Clone, Copy)]
struct Fresh {
    from: DateTime<Utc>,
    until: DateTime<Utc>,
}

impl Fresh {
    /// A clock that went backwards never makes an entry fresh.
    fn at(self, now: DateTime<Utc>) -> bool {
        self.from <= now && now < self.until
    }
}

impl ActiveCache {
    /// `ttl` zero keeps nothing: every request reads the database.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, maps: Mutex::new(Maps::default()) }
    }

    pub fn disabled() -> Self {
        Self::new(Duration::zero())
    }

    fn maps(&self) -> std::sync::MutexGuard<'_, Maps> {
        self.maps.lock().expect("active cache lock")
    }

    /// The remembered answer for this token, if both the token and its owner's list are fresh.
    pub fn get(&self, token_digest: &[u8], now: DateTime<Utc>) -> Option<Bytes> {
        if self.ttl <= Duration::zero() {
            return None;
        }
        let maps = self.maps();
        let (owner, _) = maps.tokens.get(token_digest).filter(|(_, fresh)| fresh.at(now))?;
        let (jobs, _) = maps.lists.get(owner).filter(|(_, fresh)| fresh.at(now))?;
        Some(jobs.clone())
    }

    /// Take this before reading the database for [`ActiveCache::put`].
    pub fn generation(&self) -> Generation {
        Generation(self.maps().generation)
    }

    /// Remember an answer read from the database at `now` — unless this node wrote or revoked
    /// anything since `read_under` was taken. It is kept for between half the ttl and all of
    /// it: entries filled together (every poller after a restart) must not all expire
    /// together, or their reads come back as one burst.
    pub fn put(&self, token_digest: &[u8], owner: Uuid, jobs: Bytes, now: DateTime<Utc>, read_under: Generation) {
        if self.ttl <= Duration::zero() {
            return;
        }
        let keep = self.ttl - self.ttl * rand::random_range(0..=500) / 1000;
        let fresh = Fresh { from: now, until: now + keep };
        let mut maps = self.maps();
        if maps.generation != read_under.0 {
            return;
        }
        if maps.tokens.len() >= CAPACITY || maps.lists.len() >= CAPACITY {
            self.make_room(&mut maps, now);
        }
        maps.tokens.insert(token_digest.to_vec(), (owner, fresh));
        maps.lists.insert(owner, (jobs, fresh));
    }

    /// Sweep out stale entries, at most twice per ttl; full again before that means more
    /// pollers than room: start over rather than grow without bound or sweep on every put.
    fn make_room(&self, maps: &mut Maps, now: DateTime<Utc>) {
        let swept_lately = maps.swept.is_some_and(|at| at <= now && now - at < self.ttl / 2);
        if swept_lately {
            maps.tokens.clear();
            maps.lists.clear();
        } else {
            maps.tokens.retain(|_, (_, f)| f.at(now));
            maps.lists.retain(|_, (_, f)| f.at(now));
        }
        maps.swept = Some(now);
    }

    /// These owners' jobs changed: the next requests read them again.
    pub fn forget_owners(&self, owners: impl IntoIterator<Item = Uuid>) {
        let mut maps = self.maps();
        maps.generation += 1;
        for owner in owners {
            maps.lists.remove(&owner);
        }
    }

    /// Any owner's jobs may have changed.
    pub fn forget_all_lists(&self) {
        let mut maps = self.maps();
        maps.generation += 1;
        maps.lists.clear();
    }

    /// The token was revoked.
    pub fn forget_token(&self, token_digest: &[u8]) {
        let mut maps = self.maps();
        maps.generation += 1;
        maps.tokens.remove(token_digest);
    }
}

impl JobEventSink for ActiveCache {
    fn on_event(&self, event: &JobEvent<'_>) {
        match event {
            JobEvent::Changed(jobs) => self.forget_owners(jobs.iter().filter_map(|job| job.owner)),
            JobEvent::Elsewhere(Owners::Some(owners)) => self.forget_owners(owners.iter().copied()),
            JobEvent::Elsewhere(Owners::All) | JobEvent::Resync => self.forget_all_lists(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::milliseconds(ms)
    }

    #[test]
    fn answers_within_ttl_only() {
        let cache = ActiveCache::new(Duration::seconds(1));
        let owner = Uuid::new_v4();
        cache.put(b"t", owner, Bytes::new(), at(0), cache.generation());
        assert!(cache.get(b"t", at(499)).is_some(), "kept at least half the ttl");
        assert!(cache.get(b"t", at(1000)).is_none(), "stale at ttl");
        assert!(cache.get(b"other", at(1)).is_none());
        // A clock that went backwards never makes an entry fresh.
        assert!(cache.get(b"t", at(-1)).is_none());
    }

    #[test]
    fn forgetting_the_owner_or_the_token_forces_a_read() {
        let cache = ActiveCache::new(Duration::seconds(1));
        let owner = Uuid::new_v4();
        cache.put(b"t", owner, Bytes::new(), at(0), cache.generation());
        cache.forget_owners([owner]);
        assert!(cache.get(b"t", at(1)).is_none());
        cache.put(b"t", owner, Bytes::new(), at(0), cache.generation());
        cache.forget_token(b"t");
        assert!(cache.get(b"t", at(1)).is_none());
    }

    #[test]
    fn disabled_keeps_nothing_and_size_is_bounded() {
        let off = ActiveCache::disabled();
        off.put(b"t", Uuid::new_v4(), Bytes::new(), at(0), off.generation());
        assert!(off.get(b"t", at(0)).is_none());

        let cache = ActiveCache::new(Duration::seconds(1));
        for i in 0..(CAPACITY as u32 + 5) {
            cache.put(&i.to_be_bytes(), Uuid::new_v4(), Bytes::new(), at(0), cache.generation());
        }
        let maps = cache.maps();
        assert!(maps.tokens.len() <= CAPACITY && maps.lists.len() <= CAPACITY);
    }

    #[test]
    fn a_read_that_overlaps_a_write_is_not_remembered() {
        let cache = ActiveCache::new(Duration::seconds(1));
        let owner = Uuid::new_v4();
        let before_read = cache.generation();
        cache.forget_owners([owner]); // a create lands while the read runs
        cache.put(b"t", owner, Bytes::new(), at(0), before_read);
        assert!(cache.get(b"t", at(1)).is_none(), "the read may predate the write");

        let before_read = cache.generation();
        cache.forget_token(b"t"); // a logout lands while the read runs
        cache.put(b"t", owner, Bytes::new(), at(0), before_read);
        assert!(cache.get(b"t", at(1)).is_none(), "the token may be revoked");
    }
}
