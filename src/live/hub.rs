//! The node's hub of live sockets. It hears every job change on the store's bus (this node's
//! writes with their job ids, other nodes' as the owners they touched), keeps which sockets
//! watch whose jobs, and re-reads what changed — in one query per round, at most one round
//! per `read_gap`, only for owners somebody watches — then hands each socket the rows of its
//! owner. A socket that cannot keep up is told to start over from a snapshot; nobody waits
//! for it. Every `check_sessions_every` one query tells which sockets' sessions ended.

use super::LiveSettings;
use super::messages::{Rendered, SnapshotReason};
use crate::jobs::JobService;
use crate::jobs::events::{JobEvent, JobEventSink, Owners};
use crate::storage::Store;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Most jobs an admin's every-user view holds (newest first); one user's view has no cap
/// short of this, as `/jobs/active`.
pub const EVERYONE_LIMIT: u32 = 1_000;
const OWNER_LIMIT: u32 = 100_000;
/// Most sessions asked about in one query.
const SESSIONS_PER_QUERY: usize = 500;

/// Whose jobs a socket watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Own(Uuid),
    /// Every user's (admins).
    Everyone,
}

/// What the hub hands a socket.
#[derive(Debug)]
pub enum Push {
    /// Jobs in the socket's view as just read, perhaps unchanged for this socket.
    Jobs(Arc<Vec<Rendered>>),
    /// The socket's whole view.
    Snapshot(SnapshotReason, Arc<Vec<Rendered>>),
    /// Pushes were dropped: read a fresh snapshot. Sent into the queue's last slot, so a
    /// socket that drained its queue meanwhile still hears of it.
    Overflow,
}

/// A node's live sockets; cheap to clone.
#[derive(Clone)]
pub struct LiveHub {
    hub: Arc<Hub>,
}

pub(super) struct Hub {
    pub(super) jobs: JobService,
    pub(super) store: Arc<dyn Store>,
    pub(super) settings: LiveSettings,
    registry: Mutex<Registry>,
    /// Sockets registered, read without the lock on every job write.
    watched: AtomicUsize,
    wake: Notify,
    started: AtomicBool,
    next_id: AtomicU64,
    pub(super) stop: CancellationToken,
    emptied: Notify,
}

#[derive(Default)]
struct Registry {
    sockets: HashMap<u64, Watcher>,
    by_owner: HashMap<Uuid, HashSet<u64>>,
    everyone: HashSet<u64>,
    /// Seats taken per user, registered or about to be.
    seats: HashMap<Uuid, usize>,
    dirty: Dirty,
}

struct Watcher {
    scope: Scope,
    token: Vec<u8>,
    tx: mpsc::Sender<Push>,
    overflowed: Arc<AtomicBool>,
    ended: CancellationToken,
}

/// What changed since the last round.
#[derive(Default)]
struct Dirty {
    /// Jobs this node changed.
    ids: HashSet<Uuid>,
    /// Owners another node changed jobs of.
    owners: HashSet<Uuid>,
    /// Another node changed jobs of owners it did not name.
    all_owners: bool,
    /// Changes may have been missed: every socket gets a snapshot.
    resync: bool,
}

impl Dirty {
    fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.owners.is_empty() && !self.all_owners && !self.resync
    }

    fn merge(&mut self, other: Dirty) {
        self.ids.extend(other.ids);
        self.owners.extend(other.owners);
        self.all_owners |= other.all_owners;
        self.resync |= other.resync;
    }
}

/// Refused: the user holds `JOBWATCH_WS_PER_USER` sockets on this node already.
#[derive(Debug, thiserror::Error)]
#[error("at most {0} live sockets per user on one node")]
pub struct TooManySockets(pub usize);

/// A socket's place, held from before the upgrade until the socket ends.
pub struct Seat {
    hub: Arc<Hub>,
    user: Uuid,
    id: Option<u64>,
}

/// What a registered socket listens on.
pub struct Registration {
    pub pushes: mpsc::Receiver<Push>,
    /// Set when pushes were dropped because the queue was full.
    pub overflowed: Arc<AtomicBool>,
    /// Cancelled when the session behind the socket ended (logout, revoked, disabled).
    pub ended: CancellationToken,
}

impl LiveHub {
    /// A hub over `jobs`' store; it hears changes once [`LiveHub::sink`] is subscribed.
    pub fn new(jobs: JobService, store: Arc<dyn Store>, settings: LiveSettings) -> Self {
        let hub = Hub {
            jobs,
            store,
            settings,
            registry: Mutex::new(Registry::default()),
            watched: AtomicUsize::new(0),
            wake: Notify::new(),
            started: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            stop: CancellationToken::new(),
            emptied: Notify::new(),
        };
        LiveHub { hub: Arc::new(hub) }
    }

    /// What the store's bus calls.
    pub fn sink(&self) -> Arc<dyn JobEventSink> {
        self.hub.clone()
    }

    pub(super) fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    pub fn settings(&self) -> &LiveSettings {
        &self.hub.settings
    }

    /// A seat for one more socket of `user`, unless they hold the most already.
    pub fn reserve(&self, user: Uuid) -> Result<Seat, TooManySockets> {
        let limit = self.hub.settings.per_user;
        let mut registry = self.hub.registry();
        let seats = registry.seats.entry(user).or_default();
        if *seats >= limit {
            return Err(TooManySockets(limit));
        }
        *seats += 1;
        Ok(Seat { hub: self.hub.clone(), user, id: None })
    }

    /// Sockets open on this node.
    pub fn sockets(&self) -> usize {
        self.hub.watched.load(Ordering::Relaxed)
    }

    /// Close every socket with 1001 (going away), and wait up to `grace` for them to go.
    pub async fn shut_down(&self, grace: Duration) {
        self.hub.stop.cancel();
        let _ = tokio::time::timeout(grace, async {
            loop {
                let emptied = self.hub.emptied.notified();
                if self.sockets() == 0 {
                    return;
                }
                emptied.await;
            }
        })
        .await;
    }
}

impl Seat {
    /// Start receiving pushes for `scope`, for a session known by `token` (its digest).
    pub fn register(&mut self, scope: Scope, token: Vec<u8>) -> Registration {
        let hub = self.hub.clone();
        hub.start();
        let id = hub.next_id.fetch_add(1, Ordering::Relaxed);
        // One slot more than the queue, kept for the overflow marker.
        let (tx, pushes) = mpsc::channel(hub.settings.queue.max(1) + 1);
        let overflowed = Arc::new(AtomicBool::new(false));
        let ended = CancellationToken::new();
        let watcher = Watcher { scope, token, tx, overflowed: overflowed.clone(), ended: ended.clone() };
        let mut registry = hub.registry();
        match scope {
            Scope::Own(owner) => {
                registry.by_owner.entry(owner).or_default().insert(id);
            }
            Scope::Everyone => {
                registry.everyone.insert(id);
            }
        }
        registry.sockets.insert(id, watcher);
        hub.watched.fetch_add(1, Ordering::Relaxed);
        self.id = Some(id);
        Registration { pushes, overflowed, ended }
    }

    pub fn user(&self) -> Uuid {
        self.user
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut registry = self.hub.registry();
        if let Some(seats) = registry.seats.get_mut(&self.user) {
            *seats -= 1;
            if *seats == 0 {
                registry.seats.remove(&self.user);
            }
        }
        let Some(id) = self.id else { return };
        if let Some(watcher) = registry.sockets.remove(&id) {
            match watcher.scope {
                Scope::Own(owner) => {
                    if let Some(ids) = registry.by_owner.get_mut(&owner) {
                        ids.remove(&id);
                        if ids.is_empty() {
                            registry.by_owner.remove(&owner);
                        }
                    }
                }
                Scope::Everyone => {
                    registry.everyone.remove(&id);
                }
            }
            self.hub.watched.fetch_sub(1, Ordering::Relaxed);
        }
        drop(registry);
        self.hub.emptied.notify_waiters();
    }
}

impl JobEventSink for Hub {
    fn on_event(&self, event: &JobEvent<'_>) {
        // Every job write of the node passes here: nothing to do while nobody watches.
        if self.watched.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut registry = self.registry();
        let watching_all = !registry.everyone.is_empty();
        let before = registry.dirty.is_empty();
        match event {
            JobEvent::Changed(changed) => {
                for c in changed.iter() {
                    if watching_all || c.owner.is_some_and(|o| registry.by_owner.contains_key(&o)) {
                        registry.dirty.ids.insert(c.id);
                    }
                }
            }
            JobEvent::Elsewhere(Owners::Some(owners)) => {
                for owner in owners {
                    if watching_all || registry.by_owner.contains_key(owner) {
                        registry.dirty.owners.insert(*owner);
                    }
                }
            }
            JobEvent::Elsewhere(Owners::All) => registry.dirty.all_owners = true,
            JobEvent::Resync => registry.dirty.resync = true,
        }
        if before && !registry.dirty.is_empty() {
            self.wake.notify_one();
        }
    }
}

impl Hub {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().expect("live registry lock")
    }

    /// The rounds and session checks run from the first socket on.
    fn start(self: &Arc<Self>) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        tokio::spawn(self.clone().read_changes());
        tokio::spawn(self.clone().check_sessions());
    }

    /// Ask for these jobs to be read again (a socket expects one to have stalled).
    pub(super) fn recheck(&self, ids: impl IntoIterator<Item = Uuid>) {
        let mut registry = self.registry();
        registry.dirty.ids.extend(ids);
        drop(registry);
        self.wake.notify_one();
    }

    /// `scope`'s view as `/jobs/active` shows it, rendered.
    pub(super) async fn snapshot(&self, scope: Scope) -> Result<Vec<Rendered>, crate::jobs::JobError> {
        let owners = match scope {
            Scope::Own(owner) => Owners::Some(vec![owner]),
            Scope::Everyone => Owners::All,
        };
        let limit = if scope == Scope::Everyone { EVERYONE_LIMIT } else { OWNER_LIMIT };
        let jobs = self.jobs.active_of(&owners, limit).await?;
        let seen = self.jobs.viewed_at();
        Ok(jobs.into_iter().map(|job| Rendered::new(job, seen)).collect())
    }

    async fn read_changes(self: Arc<Self>) {
        let mut last = Instant::now() - self.settings.read_gap;
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                () = self.wake.notified() => {}
            }
            // Changes arriving meanwhile join this round: under load, rounds grow, not multiply.
            tokio::time::sleep_until(last + self.settings.read_gap).await;
            last = Instant::now();
            let dirty = std::mem::take(&mut self.registry().dirty);
            if dirty.is_empty() {
                continue;
            }
            let resync = dirty.resync;
            let round = if resync { self.resync().await } else { self.deliver(&dirty).await };
            if let Err(err) = round {
                tracing::warn!(error = %err, "reading job changes for live sockets failed; retrying");
                self.registry().dirty.merge(dirty);
                tokio::select! {
                    () = self.stop.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                self.wake.notify_one();
            }
        }
    }

    /// The owners with sockets on this node, and whether an admin watches everyone.
    fn watched(&self) -> (Vec<Uuid>, bool) {
        let registry = self.registry();
        (registry.by_owner.keys().copied().collect(), !registry.everyone.is_empty())
    }

    /// Reads what `dirty` names and hands each socket its owner's rows.
    async fn deliver(&self, dirty: &Dirty) -> Result<(), crate::jobs::JobError> {
        let (watched_owners, watching_all) = self.watched();
        let mut jobs = Vec::new();
        if !dirty.ids.is_empty() {
            let ids: Vec<Uuid> = dirty.ids.iter().copied().collect();
            jobs.extend(self.jobs.by_ids(&ids).await?);
        }
        if dirty.all_owners {
            // Every watched owner's whole list: an admin's capped view must not crowd them out.
            if !watched_owners.is_empty() {
                jobs.extend(self.jobs.active_of(&Owners::Some(watched_owners), OWNER_LIMIT).await?);
            }
            if watching_all {
                jobs.extend(self.jobs.active_of(&Owners::All, EVERYONE_LIMIT).await?);
            }
        } else if !dirty.owners.is_empty() {
            let owners = Owners::Some(dirty.owners.iter().copied().collect());
            jobs.extend(self.jobs.active_of(&owners, OWNER_LIMIT).await?);
        }
        let seen = self.jobs.viewed_at();
        let rendered: Vec<Rendered> = jobs.into_iter().map(|job| Rendered::new(job, seen)).collect();
        let by_owner = by_owner(&rendered, &[]);
        let everything = Arc::new(rendered);
        // A socket whose owner had no changes is sent nothing.
        self.hand_out(|scope| match scope {
            Scope::Own(owner) => by_owner.get(&owner).cloned().map(Push::Jobs),
            Scope::Everyone => Some(everything.clone()).filter(|all| !all.is_empty()).map(Push::Jobs),
        });
        Ok(())
    }

    /// Every socket gets its whole view again, read in one query per kind of view.
    async fn resync(&self) -> Result<(), crate::jobs::JobError> {
        let (owners, watching_all) = self.watched();
        let seen = self.jobs.viewed_at();
        let render = |jobs: Vec<crate::jobs::Job>| jobs.into_iter().map(|job| Rendered::new(job, seen)).collect();
        let owned: Vec<Rendered> = match owners.is_empty() {
            true => Vec::new(),
            false => render(self.jobs.active_of(&Owners::Some(owners.clone()), OWNER_LIMIT).await?),
        };
        let everything: Arc<Vec<Rendered>> = match watching_all {
            true => Arc::new(render(self.jobs.active_of(&Owners::All, EVERYONE_LIMIT).await?)),
            false => Arc::default(),
        };
        // Owners with nothing active still get their (empty) snapshot.
        let by_owner = by_owner(&owned, &owners);
        self.hand_out(|scope| {
            let jobs = match scope {
                Scope::Own(owner) => by_owner.get(&owner).cloned().unwrap_or_default(),
                Scope::Everyone => everything.clone(),
            };
            Some(Push::Snapshot(SnapshotReason::Resync, jobs))
        });
        Ok(())
    }

    /// Pushes to every socket what `push_for` gives for its scope.
    fn hand_out(&self, push_for: impl Fn(Scope) -> Option<Push>) {
        for watcher in self.registry().sockets.values() {
            if let Some(push) = push_for(watcher.scope) {
                watcher.push(push);
            }
        }
    }

    /// Closes the sockets whose sessions ended anywhere (one query per round, on every node).
    async fn check_sessions(self: Arc<Self>) {
        let mut every = tokio::time::interval(self.settings.check_sessions_every);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                _ = every.tick() => {}
            }
            let tokens: Vec<Vec<u8>> = {
                let registry = self.registry();
                let distinct: HashSet<&Vec<u8>> = registry.sockets.values().map(|w| &w.token).collect();
                distinct.into_iter().cloned().collect()
            };
            let now = self.jobs.viewed_at().now;
            let mut live = HashSet::new();
            let mut answered = true;
            for chunk in tokens.chunks(SESSIONS_PER_QUERY) {
                match self.store.live_tokens(chunk, now).await {
                    Ok(found) => live.extend(found),
                    Err(err) => {
                        // A database away is no reason to drop everybody's sockets.
                        tracing::warn!(error = %err, "checking live sockets' sessions failed");
                        answered = false;
                        break;
                    }
                }
            }
            if !answered {
                continue;
            }
            let asked: HashSet<&Vec<u8>> = tokens.iter().collect();
            for watcher in self.registry().sockets.values() {
                // A socket registered since the question was asked waits for the next round.
                if asked.contains(&watcher.token) && !live.contains(&watcher.token) {
                    watcher.ended.cancel();
                }
            }
        }
    }
}

impl Watcher {
    /// Never waits: a full queue is dropped in favour of a snapshot the socket reads itself.
    /// Pushes are sent under the registry lock, so this is the queue's only sender: the last
    /// free slot is always there for the marker.
    fn push(&self, push: Push) {
        if self.tx.capacity() > 1 {
            let _ = self.tx.try_send(push);
        } else {
            self.overflowed.store(true, Ordering::Release);
            let _ = self.tx.try_send(Push::Overflow);
        }
    }
}

/// `jobs` grouped by owner (ownerless ones dropped), with an empty list for each of `also`.
fn by_owner(jobs: &[Rendered], also: &[Uuid]) -> HashMap<Uuid, Arc<Vec<Rendered>>> {
    let mut grouped: HashMap<Uuid, Vec<Rendered>> = also.iter().map(|o| (*o, Vec::new())).collect();
    for job in jobs {
        if let Some(owner) = job.owner {
            grouped.entry(owner).or_default().push(job.clone());
        }
    }
    grouped.into_iter().map(|(owner, jobs)| (owner, Arc::new(jobs))).collect()
}
