//! The worker's half of an import: parse the stored upload into rows in object storage,
//! then record the dataset. Progress runs from the upload's 40 % through parsing (by bytes
//! read) to 90 % when the dataset exists; the worker records 100 % on success.

use super::model::NewDataset;
use super::parse::{self, FileFormat, Limits, ParseError, Parsed, ReadOptions};
use super::upload::{STORED, duplicate_message};
use crate::jobs::state::grouped;
use crate::metrics::Metrics;
use crate::objects::blocking::{self, BlockingWriter};
use crate::objects::{Objects, raw_key, rows_key};
use crate::storage::{Store, unique};
use crate::worker::{HandlerError, JobContext, JobHandler, ProgressReporter};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;
use uuid::Uuid;

/// Progress when parsing has read the whole file (the spec's "parsed" stage, scaled).
const PARSED: i64 = 88;
/// Progress once the dataset row exists.
const DATASET: i64 = 90;

const INTERRUPTED_UPLOAD: &str =
    "the upload was interrupted before all of the file was stored (the server receiving it stopped); upload it again";

/// What the upload wrote into the job's metadata.
#[derive(Debug, Deserialize)]
struct Upload {
    filename: String,
    supplier_id: Uuid,
    format: FileFormat,
    sha256: Option<String>,
    /// The upload's reading fields (`sheet`, `delimiter`, …); absent from jobs made before them.
    #[serde(default)]
    read: ReadOptions,
}

pub struct ImportHandler {
    store: Arc<dyn Store>,
    objects: Objects,
    limits: Arc<Limits>,
    /// Imported rows are counted in the node's series.
    metrics: Metrics,
}

impl ImportHandler {
    pub fn new(store: Arc<dyn Store>, objects: Objects, metrics: Metrics) -> Self {
        Self { store, objects, limits: Arc::new(Limits::default()), metrics }
    }
}

/// Why parsing did not produce rows.
enum Failure {
    /// The file's fault: the job fails with this message.
    Invalid(String),
    /// Storage or a stop: worth another run.
    Retry(String),
}

#[async_trait]
impl JobHandler for ImportHandler {
    async fn run(&self, ctx: &JobContext) -> Result<(), HandlerError> {
        let job = ctx.job();
        // Only the object the upload stored for this very job is read (never a key from
        // metadata), so a job made by hand through POST /jobs can reach no file.
        let raw = raw_key(job.id);
        let upload: Upload = serde_json::from_value(job.metadata.clone()).map_err(|_| not_an_upload())?;
        let owned = match (
            self.store.find_supplier(upload.supplier_id).await.map_err(HandlerError::retryable)?,
            job.created_by,
        ) {
            (Some(s), Some(owner)) => s.created_by == Some(owner),
            _ => false,
        };
        if !owned {
            return Err(not_an_upload());
        }
        let stored = self.objects.size(&raw).await.map_err(HandlerError::retryable)?;
        let (Some(size), Some(sha256)) = (stored, upload.sha256.clone()) else {
            self.objects.discard(&raw).await;
            return Err(HandlerError::Permanent(INTERRUPTED_UPLOAD.into()));
        };
        ctx.progress(STORED);
        ctx.stage("checking the stored file");
        if let Some(existing) =
            self.store.find_dataset_by_sha256(upload.supplier_id, &sha256).await.map_err(HandlerError::retryable)?
        {
            // An earlier run of this job made it and stopped before recording success.
            if existing.import_job_id == Some(job.id) {
                return Ok(());
            }
            self.objects.discard(&raw).await;
            return Err(HandlerError::Permanent(duplicate_message(&existing)));
        }

        let dataset_id = Uuid::now_v7();
        let rows = rows_key(dataset_id);
        let parsed = match self.parse(ctx, &upload, &raw, size, &rows).await {
            Ok(parsed) => parsed,
            Err(Failure::Invalid(message)) => {
                self.objects.discard(&raw).await;
                return Err(HandlerError::Permanent(message));
            }
            Err(Failure::Retry(cause)) => {
                // Cancelled by its owner: the job ends here, and its file with it.
                if ctx.cancel_requested() {
                    self.objects.discard(&raw).await;
                    return Err(HandlerError::Retryable("cancelled".into()));
                }
                return Err(HandlerError::retryable(cause));
            }
        };
        ctx.progress(PARSED);
        ctx.stage(&format!("recording the dataset: {} rows", grouped(parsed.row_count)));

        let dataset = NewDataset {
            id: dataset_id,
            supplier_id: upload.supplier_id,
            original_filename: upload.filename,
            format: parsed.read_as.format.unwrap_or(upload.format),
            size_bytes: size as i64,
            sha256,
            row_count: parsed.row_count as i64,
            columns: parsed.columns,
            preview: parsed.preview,
            read_as: parsed.read_as,
            warnings: parsed.warnings,
            rows_key: rows.clone(),
            import_job_id: job.id,
            created_by: job.created_by,
            created_at: chrono::Utc::now(),
        };
        let recorded = self.store.insert_dataset(&dataset).await;
        if recorded.is_ok() {
            self.metrics.rows_imported(parsed.row_count as u64);
            ctx.progress(DATASET);
            return Ok(());
        }
        // This run's rows are not needed unless its dataset exists after all (the commit went
        // through and only its answer was lost).
        if let Ok(Some(_)) = self.store.find_dataset(dataset_id).await {
            ctx.progress(DATASET);
            return Ok(());
        }
        self.objects.discard(&rows).await;
        match recorded {
            Err(e) if e.violates(unique::DATASET_SHA256) => {
                match self.store.find_dataset_by_sha256(dataset.supplier_id, &dataset.sha256).await {
                    // An earlier run of this job (which lost its lease) recorded it first.
                    Ok(Some(d)) if d.import_job_id == Some(job.id) => Ok(()),
                    // The same file, uploaded twice at once: the other upload's dataset won.
                    Ok(Some(d)) => {
                        self.objects.discard(&raw).await;
                        Err(HandlerError::Permanent(duplicate_message(&d)))
                    }
                    other => Err(HandlerError::retryable(format!("{other:?}"))),
                }
            }
            Err(e) => Err(HandlerError::retryable(e)),
            Ok(_) => Ok(()),
        }
    }

    /// A rejected or cancelled import's file was removed: running it again could only fail.
    async fn can_run_again(&self, job: &crate::jobs::Job) -> Result<(), String> {
        match self.objects.size(&raw_key(job.id)).await {
            Ok(None) => Err("this import's file is no longer stored (the file was rejected, or the import \
                             cancelled): upload the file again"
                .into()),
            // Stored, or storage cannot say right now: the run will find out.
            _ => Ok(()),
        }
    }

    /// A pruned import's uploaded file goes with it, unless it became a dataset.
    async fn forget(&self, job: Uuid) {
        crate::imports::service::discard_upload(self.store.as_ref(), &self.objects, job).await;
    }

    /// An upload cancelled while it waited for a worker: its file is not wanted any more.
    /// (Cancelled while arriving or being parsed, the upload or the parser removes it.)
    async fn cancelled(&self, job: Uuid) {
        crate::imports::service::discard_upload(self.store.as_ref(), &self.objects, job).await;
    }
}

fn not_an_upload() -> HandlerError {
    HandlerError::Permanent(
        "this import job was not made by an upload, so it has no file to read: import files through \
         POST /api/v2/imports/files/upload (a job that an application runs itself needs another type)"
            .into(),
    )
}

impl ImportHandler {
    /// Parse the stored file into `rows`; nothing is left under `rows` unless this succeeds.
    async fn parse(
        &self,
        ctx: &JobContext,
        upload: &Upload,
        raw: &str,
        size: u64,
        rows: &str,
    ) -> Result<Parsed, Failure> {
        let stop = ctx.stop_token();
        let progress = ctx.progress_reporter();
        let out = blocking::writer(&self.objects, rows).map_err(|e| Failure::Retry(e.to_string()))?;
        let outcome = match upload.format {
            FileFormat::Xlsx => {
                // XLSX is a zip: it needs seeking, so a remote one is read from a local copy.
                let (path, copy) = match self.objects.local_path(raw) {
                    Some(path) => (path, None),
                    None => {
                        let copy = tempfile::NamedTempFile::new().map_err(|e| Failure::Retry(e.to_string()))?;
                        self.objects.download(raw, copy.path()).await.map_err(|e| Failure::Retry(e.to_string()))?;
                        (copy.path().to_owned(), Some(copy))
                    }
                };
                let limits = self.limits.clone();
                let options = upload.read.clone();
                tokio::task::spawn_blocking(move || {
                    let parsed = stored(out, |out| {
                        parse::parse_xlsx(&path, &options, &limits, out, &mut scaled(&progress, size))
                    });
                    drop(copy);
                    parsed
                })
                .await
            }
            format => {
                let input = blocking::reader(&self.objects, raw, stop.clone())
                    .await
                    .map_err(|e| Failure::Retry(e.to_string()))?;
                let options = upload.read.clone();
                tokio::task::spawn_blocking(move || {
                    stored(out, |out| {
                        parse::parse_stream(format, &options, input, size, out, &mut scaled(&progress, size))
                    })
                })
                .await
            }
        };
        match outcome.map_err(|e| Failure::Retry(format!("parser stopped: {e}")))? {
            Ok(parsed) => Ok(parsed),
            Err(ParseError::Invalid(message)) if !stop.is_cancelled() => Err(Failure::Invalid(message)),
            Err(other) => Err(Failure::Retry(other.to_string())),
        }
    }
}

/// Run `parse` into `out`, then store the rows, or remove them if parsing failed.
fn stored(
    mut out: BlockingWriter,
    parse: impl FnOnce(&mut BlockingWriter) -> Result<Parsed, ParseError>,
) -> Result<Parsed, ParseError> {
    match parse(&mut out) {
        Ok(parsed) => {
            out.finish()?;
            Ok(parsed)
        }
        Err(e) => {
            out.abort();
            Err(e)
        }
    }
}

/// Parsing's share of the progress bar: from the upload's 40 % to [`PARSED`], with a stage line
/// saying how much of the file of `size` bytes is read (rewritten only when the percent moves).
fn scaled(progress: &ProgressReporter, size: u64) -> impl FnMut(f64) + '_ {
    let mut last = -1;
    move |fraction| {
        let fraction = fraction.clamp(0.0, 1.0);
        let percent = STORED + (fraction * (PARSED - STORED) as f64) as i64;
        progress.report(percent);
        if percent != last {
            last = percent;
            let mb = |bytes: f64| grouped((bytes / 1e6).round() as u64);
            progress.stage(&format!("parsing: {} of {} MB read", mb(fraction * size as f64), mb(size as f64)));
        }
    }
}
