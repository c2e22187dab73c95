//! Export jobs and their files, each visible to its owner only.

use super::ExportFormat;
use crate::imports::ImportService;
use crate::jobs::model::{Job, JobStatus, JobType};
use crate::jobs::service::CreateJob;
use crate::jobs::{JobError, JobService};
use crate::objects::{Objects, export_key};
use crate::users::User;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use serde_json::json;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Also what another user's dataset or export looks like.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the export is {0}, not completed")]
    NotReady(JobStatus),
    #[error(transparent)]
    Job(#[from] JobError),
    #[error(transparent)]
    Import(#[from] crate::imports::ImportError),
    #[error("object storage: {0}")]
    Objects(#[from] object_store::Error),
}

/// A finished export, ready to stream.
pub struct ExportFile {
    pub filename: String,
    pub format: ExportFormat,
    pub size: u64,
    pub body: BoxStream<'static, Result<Bytes, object_store::Error>>,
}

#[derive(Clone)]
pub struct ExportService {
    jobs: JobService,
    imports: ImportService,
    objects: Objects,
}

impl ExportService {
    pub fn new(jobs: JobService, imports: ImportService, objects: Objects) -> Self {
        Self { jobs, imports, objects }
    }

    /// A pending `export` job for one of the owner's datasets.
    pub async fn create(&self, owner: &User, dataset_id: Uuid, format: ExportFormat) -> Result<Job, ExportError> {
        // Only a missing dataset is a 404: a database that is away stays a 503 to retry.
        let dataset = self.imports.dataset(owner, dataset_id).await.map_err(|e| match e {
            crate::imports::ImportError::NotFound(_) => ExportError::NotFound("dataset"),
            other => ExportError::Import(other),
        })?;
        let mut req = CreateJob::new(JobType::Export);
        req.related_dataset_id = Some(dataset.id);
        req.metadata = Some(json!({"dataset_id": dataset.id, "format": format}));
        Ok(self.jobs.create(owner, req).await?)
    }

    /// The file of the owner's completed export.
    pub async fn download(&self, owner: &User, job_id: Uuid) -> Result<ExportFile, ExportError> {
        let job = match self.jobs.get(owner, job_id).await {
            Ok(job) if job.job_type == JobType::Export && job.created_by == Some(owner.id) => job,
            Ok(_) | Err(JobError::NotFound) => return Err(ExportError::NotFound("export")),
            Err(e) => return Err(e.into()),
        };
        if job.status != JobStatus::Completed {
            return Err(ExportError::NotReady(job.status));
        }
        let format: ExportFormat = job
            .metadata
            .get("format")
            .and_then(|f| f.as_str())
            .and_then(|f| f.parse().ok())
            .ok_or(ExportError::NotFound("export"))?;
        let dataset = match job.related_dataset_id {
            Some(id) => self.imports.dataset(owner, id).await.ok(),
            None => None,
        };
        let stem = dataset.map_or_else(|| format!("export-{}", job.id), |d| file_stem(&d.name));
        let (size, body) = match self.objects.stream(&export_key(job.id, format.as_str())).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => return Err(ExportError::NotFound("export file")),
            Err(e) => return Err(e.into()),
        };
        Ok(ExportFile { filename: format!("{stem}.{}", format.as_str()), format, size, body })
    }
}

/// A download name from a dataset's name: without its extension, in characters every
/// browser accepts in a quoted `Content-Disposition` file name.
fn file_stem(name: &str) -> String {
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let safe: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || "-_. ".contains(c) { c } else { '_' }).collect();
    match safe.trim() {
        "" => "export".to_owned(),
        s => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::file_stem;

    #[test]
    fn download_names_are_plain() {
        assert_eq!(file_stem("prices 2026.csv"), "prices 2026");
        assert_eq!(file_stem("Prix \"été\".xlsx"), "Prix __t__");
        assert_eq!(file_stem(".csv"), "export");
    }
}
