//! The imports operations: suppliers, datasets, and the job an upload holds while its bytes
//! arrive.

use super::StoreResult;
use crate::imports::model::{Dataset, NewDataset, Supplier};
use crate::jobs::model::{Job, NewJob};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
pub trait ImportStore: Send + Sync {
    /// `StoreError::Unique` when the owner already has a supplier of that name (any case).
    async fn insert_supplier(&self, supplier: &Supplier) -> StoreResult<()>;
    async fn find_supplier(&self, id: Uuid) -> StoreResult<Option<Supplier>>;
    /// The owner's suppliers by name.
    async fn list_suppliers(&self, owner: Uuid) -> StoreResult<Vec<Supplier>>;

    /// Store the dataset and point its import job at it, in one transaction.
    /// `StoreError::Unique` when the supplier already has a dataset with that SHA-256.
    async fn insert_dataset(&self, dataset: &NewDataset) -> StoreResult<Dataset>;
    async fn find_dataset(&self, id: Uuid) -> StoreResult<Option<Dataset>>;
    /// The dataset an import job made, if any.
    async fn find_dataset_by_import_job(&self, job: Uuid) -> StoreResult<Option<Dataset>>;
    async fn find_dataset_by_sha256(&self, supplier_id: Uuid, sha256: &str) -> StoreResult<Option<Dataset>>;
    /// The owner's datasets, newest first, those older than `before` when given.
    async fn list_datasets(&self, owner: Uuid, before: Option<Uuid>, limit: u32) -> StoreResult<Vec<Dataset>>;

    /// Insert a job already `running` (attempt 1), held by `holder` under a lease until
    /// `lease_until`, which the holder renews with `renew_leases`: a job whose work starts in
    /// a request (an upload) and is rescued like any other if that process dies.
    async fn insert_held_job(
        &self,
        job: &NewJob,
        holder: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Job>;
}
