//! Job events: every statement that writes jobs reports which jobs it changed, and this bus
//! passes that on, once per statement, to whatever keeps a view of jobs (the per-node
//! active-list memory, the WebSocket hub). Nothing is told by hand at a call site.
//!
//! The storage backends publish here after each job-writing statement. On PostgreSQL the same
//! statement also sends one NOTIFY naming the owners it touched, so other nodes' buses hear
//! of it ([`Owners`], decoded by [`parse_notification`]); a node ignores its own.

use crate::storage::{ChangeFeed, Heard, Store};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The channel other nodes' changes arrive on (PostgreSQL).
pub const CHANGES_CHANNEL: &str = "jobwatch_changes";

/// Most owners one notification names; a statement touching more says "all" (`*`), which
/// keeps the payload far below PostgreSQL's 8,000-byte limit (37 bytes an owner).
pub const MAX_NOTIFIED_OWNERS: usize = 64;

/// One job a statement changed: enough to find it again and to order its changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Changed {
    pub id: Uuid,
    pub owner: Option<Uuid>,
    /// Grows by one with every change a watcher can see.
    pub version: i64,
}

impl Changed {
    pub fn of(job: &super::Job) -> Self {
        Changed { id: job.id, owner: job.created_by, version: job.version }
    }
}

/// Whose jobs another node changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owners {
    Some(Vec<Uuid>),
    /// Too many to name, or unknown: treat every owner's jobs as changed.
    All,
}

impl Owners {
    pub fn contains(&self, owner: Uuid) -> bool {
        match self {
            Owners::Some(owners) => owners.contains(&owner),
            Owners::All => true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEvent<'a> {
    /// Jobs this process changed: one statement's worth, jobs with an owner only, never empty.
    Changed(&'a [Changed]),
    /// Another node changed jobs of these owners.
    Elsewhere(&'a Owners),
    /// Changes made elsewhere may have been missed (the notification connection dropped):
    /// every view may be stale.
    Resync,
}

/// Something that keeps a view of jobs. Called inline by the writer, so it must be quick and
/// never block: drop a cache entry, hand the event to a task.
pub trait JobEventSink: Send + Sync {
    fn on_event(&self, event: &JobEvent<'_>);
}

/// The bus of one process (one store): see the module docs.
pub struct JobEvents {
    node: String,
    sinks: RwLock<Vec<Weak<dyn JobEventSink>>>,
}

impl Default for JobEvents {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for JobEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobEvents").field("node", &self.node).finish_non_exhaustive()
    }
}

impl JobEvents {
    pub fn new() -> Self {
        // Letters and digits only: it is written into SQL and notification payloads as is.
        Self { node: format!("n{}", Uuid::new_v4().simple()), sinks: RwLock::new(Vec::new()) }
    }

    /// Names this process in the notifications it sends, so it can skip its own.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Events reach `sink` for as long as it lives.
    pub fn subscribe(&self, sink: &Arc<dyn JobEventSink>) {
        let mut sinks = self.sinks.write().expect("sinks lock");
        sinks.retain(|s| s.strong_count() > 0);
        sinks.push(Arc::downgrade(sink));
    }

    /// Jobs a statement of this process changed; those without an owner are in nobody's view.
    pub fn publish(&self, changed: impl IntoIterator<Item = Changed>) {
        let owned: Vec<Changed> = changed.into_iter().filter(|c| c.owner.is_some()).collect();
        if !owned.is_empty() {
            self.send(&JobEvent::Changed(&owned));
        }
    }

    /// A notification from another node.
    pub fn publish_elsewhere(&self, owners: &Owners) {
        self.send(&JobEvent::Elsewhere(owners));
    }

    pub fn publish_resync(&self) {
        self.send(&JobEvent::Resync);
    }

    fn send(&self, event: &JobEvent<'_>) {
        let sinks: Vec<Arc<dyn JobEventSink>> =
            self.sinks.read().expect("sinks lock").iter().filter_map(Weak::upgrade).collect();
        for sink in sinks {
            sink.on_event(event);
        }
    }
}

/// Passes other nodes' job changes on to this process's bus (see [`Relay`]) until `stop`.
pub async fn relay_changes(store: Arc<dyn Store>, stop: CancellationToken) {
    Relay::connect(store).await.run(stop).await
}

/// Hears other nodes' job changes and publishes them on this process's bus. After the
/// connection drops (its notifications meanwhile are lost) the bus is told to resync.
pub struct Relay {
    store: Arc<dyn Store>,
    state: Listening,
}

enum Listening {
    On(Box<dyn ChangeFeed>),
    /// The database was away: `run` keeps trying.
    NotYet,
    /// A single-node store: nothing to hear.
    Nothing,
}

impl Relay {
    /// Listening once this returns, unless the database is away (then `run` keeps trying).
    pub async fn connect(store: Arc<dyn Store>) -> Relay {
        let state = match store.listen_changes().await {
            Ok(Some(feed)) => Listening::On(feed),
            Ok(None) => Listening::Nothing,
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for other nodes' job changes yet; retrying");
                Listening::NotYet
            }
        };
        Relay { store, state }
    }

    pub async fn run(self, stop: CancellationToken) {
        let Relay { store, state } = self;
        let mut feed = match state {
            Listening::On(feed) => feed,
            Listening::Nothing => return,
            Listening::NotYet => loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                match store.listen_changes().await {
                    Ok(Some(feed)) => {
                        // Whatever changed before this point went unheard.
                        store.events().publish_resync();
                        break feed;
                    }
                    Ok(None) => return,
                    Err(err) => tracing::warn!(error = %err, "cannot listen for other nodes' job changes; retrying"),
                }
            },
        };
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                heard = feed.next() => match heard {
                    Heard::Changed(owners) => store.events().publish_elsewhere(&owners),
                    Heard::Reconnected => store.events().publish_resync(),
                },
            }
        }
    }
}

/// The payload [`parse_notification`] reads, for `owners` touched by `node` (built in Rust where
/// a statement notifies separately); `None` when there are no owners to tell of.
pub fn notification(node: &str, owners: impl IntoIterator<Item = Uuid>) -> Option<String> {
    let mut owners: Vec<Uuid> = owners.into_iter().collect();
    owners.sort_unstable();
    owners.dedup();
    match owners.len() {
        0 => None,
        n if n > MAX_NOTIFIED_OWNERS => Some(format!("{node} *")),
        _ => Some(format!("{node} {}", owners.iter().map(Uuid::to_string).collect::<Vec<_>>().join(" "))),
    }
}

/// The payload a statement's NOTIFY carries, as the SQL builds it: the sending node, then the
/// owners separated by spaces, or `*`. `None` for a payload this version does not understand.
pub fn parse_notification(payload: &str) -> Option<(&str, Owners)> {
    let (node, rest) = payload.split_once(' ')?;
    if rest == "*" {
        return Some((node, Owners::All));
    }
    let owners = rest.split(' ').map(Uuid::parse_str).collect::<Result<Vec<_>, _>>().ok()?;
    Some((node, Owners::Some(owners)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl JobEventSink for Recorder {
        fn on_event(&self, event: &JobEvent<'_>) {
            self.0.lock().unwrap().push(format!("{event:?}"));
        }
    }

    #[test]
    fn only_owned_jobs_are_published_and_empty_statements_say_nothing() {
        let bus = JobEvents::new();
        let recorder = Arc::new(Recorder::default());
        let sink: Arc<dyn JobEventSink> = recorder.clone();
        bus.subscribe(&sink);
        let owner = Uuid::new_v4();
        bus.publish([Changed { id: Uuid::new_v4(), owner: None, version: 2 }]);
        assert!(recorder.0.lock().unwrap().is_empty(), "nobody's job, nobody's view");
        bus.publish([Changed { id: Uuid::nil(), owner: Some(owner), version: 3 }]);
        let seen = recorder.0.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert!(seen[0].contains(&owner.to_string()) && seen[0].contains("version: 3"), "{seen:?}");
    }

    #[test]
    fn a_dropped_sink_is_not_called() {
        let bus = JobEvents::new();
        let sink: Arc<dyn JobEventSink> = Arc::new(Recorder::default());
        bus.subscribe(&sink);
        drop(sink);
        bus.publish_resync();
        bus.subscribe(&(Arc::new(Recorder::default()) as Arc<dyn JobEventSink>));
        assert_eq!(bus.sinks.read().unwrap().len(), 1, "dead sinks are swept on subscribe");
    }

    #[test]
    fn notifications_name_their_node_and_owners() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let payload = format!("n1 {a} {b}");
        assert_eq!(parse_notification(&payload), Some(("n1", Owners::Some(vec![a, b]))));
        assert_eq!(parse_notification("n2 *"), Some(("n2", Owners::All)));
        assert_eq!(parse_notification("n3"), None);
        assert_eq!(parse_notification("n3 not-a-uuid"), None);
        assert!(Owners::All.contains(a) && Owners::Some(vec![a]).contains(a) && !Owners::Some(vec![b]).contains(a));

        let mut both = vec![a, b];
        both.sort();
        let built = notification("n4", [b, a, b]).unwrap();
        assert_eq!(parse_notification(&built), Some(("n4", Owners::Some(both))), "sorted, each owner once");
        assert_eq!(notification("n4", []), None);
        let many = notification("n4", (0..=MAX_NOTIFIED_OWNERS).map(|_| Uuid::new_v4())).unwrap();
        assert_eq!(parse_notification(&many), Some(("n4", Owners::All)));
    }
}
