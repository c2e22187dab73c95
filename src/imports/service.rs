//! Suppliers and datasets, each visible to its owner only.

use super::model::{Dataset, Supplier};
use crate::clock::Clock;
use crate::jobs::{JobError, JobService};
use crate::metrics::Metrics;
use crate::objects::Objects;
use crate::storage::{Store, StoreError, unique};
use crate::users::User;
use crate::worker::LocalInbox;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Also what another user's supplier or dataset looks like: existence is never revealed.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("supplier_id does not name a supplier of yours")]
    UnknownSupplier,
    #[error("{0}")]
    Invalid(String),
    #[error("you already have a supplier with that name")]
    NameTaken,
    #[error("unsupported file type '{0}': upload one of {formats}", formats = super::parse::FileFormat::SUPPORTED)]
    UnsupportedType(String),
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    #[error("the upload was cancelled")]
    Cancelled,
    #[error(transparent)]
    Job(#[from] JobError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file store has no room left (see [`crate::objects::is_storage_full`]).
    #[error("the file store is full (no space left), so the file was not kept; upload it again once space is freed")]
    StorageFull(object_store::Error),
    #[error("object storage: {0}")]
    Objects(object_store::Error),
}

/// A full store is the client's to hear about (507), not an internal error.
impl From<object_store::Error> for ImportError {
    fn from(err: object_store::Error) -> Self {
        match crate::objects::is_storage_full(&err) {
            true => ImportError::StorageFull(err),
            false => ImportError::Objects(err),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportSettings {
    /// Largest file accepted.
    pub max_upload_bytes: u64,
    /// How long an upload's job holds without renewal (a node that dies mid-upload leaves
    /// it to be rescued after this).
    pub lease: Duration,
}

impl Default for ImportSettings {
    fn default() -> Self {
        Self { max_upload_bytes: 1 << 30, lease: Duration::from_secs(30) }
    }
}

#[derive(Clone)]
pub struct ImportService {
    pub(super) store: Arc<dyn Store>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) jobs: JobService,
    pub(super) objects: Objects,
    pub(super) settings: ImportSettings,
    /// Names this process as the holder of the uploads it receives.
    pub(super) node: String,
    /// This process's worker, which takes stored uploads straight on (none: they are queued).
    pub(super) local: Option<LocalInbox>,
    /// Stored upload bytes are counted in the node's series.
    pub(super) metrics: Metrics,
}

/// Most datasets in one page.
pub const MAX_PAGE: u32 = 200;

impl ImportService {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        jobs: JobService,
        objects: Objects,
        settings: ImportSettings,
        metrics: Metrics,
    ) -> Self {
        let node = format!("upload:{}", Uuid::new_v4().simple());
        Self { store, clock, jobs, objects, settings, node, local: None, metrics }
    }

    /// Stored uploads go straight to `worker` (a worker in this process) instead of the queue.
    pub fn with_local_worker(self, worker: LocalInbox) -> Self {
        Self { local: Some(worker), ..self }
    }

    pub async fn create_supplier(&self, owner: &User, name: &str) -> Result<Supplier, ImportError> {
        let Some(name) = crate::names::parse(name) else {
            return Err(ImportError::Invalid(format!(
                "name must be 1 to {} characters, not blank, without control characters",
                crate::names::MAX_CHARS
            )));
        };
        let supplier = Supplier {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            created_by: Some(owner.id),
            created_at: self.clock.now(),
        };
        self.store.insert_supplier(&supplier).await.map_err(|e| match e {
            e if e.violates(unique::SUPPLIER_NAME) => ImportError::NameTaken,
            other => other.into(),
        })?;
        Ok(supplier)
    }

    pub async fn suppliers(&self, owner: &User) -> Result<Vec<Supplier>, ImportError> {
        Ok(self.store.list_suppliers(owner.id).await?)
    }

    /// The owner's supplier, or [`ImportError::UnknownSupplier`].
    pub async fn own_supplier(&self, owner: &User, id: Uuid) -> Result<Supplier, ImportError> {
        match self.store.find_supplier(id).await? {
            Some(s) if s.created_by == Some(owner.id) => Ok(s),
            _ => Err(ImportError::UnknownSupplier),
        }
    }

    /// The owner's datasets, newest first; `before` continues after the previous page's last.
    pub async fn datasets(&self, owner: &User, before: Option<Uuid>, limit: u32) -> Result<Vec<Dataset>, ImportError> {
        Ok(self.store.list_datasets(owner.id, before, limit.clamp(1, MAX_PAGE)).await?)
    }

    pub async fn dataset(&self, viewer: &User, id: Uuid) -> Result<Dataset, ImportError> {
        match self.store.find_dataset(id).await? {
            Some(d) if d.created_by == Some(viewer.id) => Ok(d),
            _ => Err(ImportError::NotFound("dataset")),
        }
    }
}

/// An import job's uploaded file goes, unless it became a dataset (whose original it is).
pub(super) async fn discard_upload(store: &dyn Store, objects: &Objects, job: Uuid) {
    if let Ok(None) = store.find_dataset_by_import_job(job).await {
        objects.discard(&crate::objects::raw_key(job)).await;
    }
}
