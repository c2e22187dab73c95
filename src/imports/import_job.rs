//! The worker's half of an import: parse the stored upload into rows in object storage,
//! then record the dataset. Progress runs from the upload's 40 % through parsing (by bytes
//! read) to 90 % when the dataset exists; the worker records 100 % on success.

use super::model::NewDataset;
use super::parse::{self, FileFormat, Limits, ParseError, Parsed};
use super::upload::{STORED, duplicate_message};
use crate::objects::blocking::{self, BlockingWriter};
use crate::objects::{Objects, raw_key, rows_key};
use crate::storage::{Store, StoreError};
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
    raw_key: Option<String>,
    size_bytes: Option<u64>,
    sha256: Option<String>,
}

pub struct ImportHandler {
    store: Arc<dyn Store>,
    objects: Objects,
    limits: Arc<Limits>,
}

impl ImportHandler {
    pub fn new(store: Arc<dyn Store>, objects: Objects) -> Self {
        Self { store, objects, limits: Arc::new(Limits::default()) }
    }
}

/// Why parsing did not produce rows.
enum Failure {
    /// The file's fault: the job fails with this message.
    Invalid(String),
    /// Storage or a stop: worth another run.
    Retry(String),
}

fn retryable(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::Retryable(e.to_string())
}

#[async_trait]
impl JobHandler for ImportHandler {
    async fn run(&self, ctx: &JobContext) -> Result<(), HandlerError> {
        let job = ctx.job();
        let upload: Upload = serde_json::from_value(job.metadata.clone()).map_err(|e| {
            HandlerError::Permanent(format!(
                "not an upload's import job (metadata: {e}); upload files through /imports/files/upload"
            ))
        })?;
        let (Some(raw), Some(size), Some(sha256)) = (upload.raw_key.clone(), upload.size_bytes, upload.sha256.clone())
        else {
            self.objects.discard(&raw_key(job.id)).await;
            return Err(HandlerError::Permanent(INTERRUPTED_UPLOAD.into()));
        };
        ctx.progress(STORED);
        if let Some(existing) =
            self.store.find_dataset_by_sha256(upload.supplier_id, &sha256).await.map_err(retryable)?
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
            Err(Failure::Retry(message)) => return Err(HandlerError::Retryable(message)),
        };
        ctx.progress(PARSED);

        let dataset = NewDataset {
            id: dataset_id,
            supplier_id: upload.supplier_id,
            original_filename: upload.filename,
            format: upload.format,
            size_bytes: size as i64,
            sha256,
            row_count: parsed.row_count as i64,
            columns: parsed.columns,
            preview: parsed.preview,
            rows_key: rows.clone(),
            import_job_id: job.id,
            created_by: job.created_by,
            created_at: chrono::Utc::now(),
        };
        match self.store.insert_dataset(&dataset).await {
            Ok(_) => {
                ctx.progress(DATASET);
                Ok(())
            }
            Err(StoreError::Unique(_)) => {
                // The same file, uploaded twice at once: the other upload's dataset won.
                self.objects.discard(&rows).await;
                self.objects.discard(&raw).await;
                let existing = self.store.find_dataset_by_sha256(dataset.supplier_id, &dataset.sha256).await;
                Err(HandlerError::Permanent(match existing {
                    Ok(Some(d)) => duplicate_message(&d),
                    _ => "duplicate: this supplier already imported this file (same SHA-256)".into(),
                }))
            }
            Err(e) => {
                self.objects.discard(&rows).await;
                Err(retryable(e))
            }
        }
    }
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
                // XLSX is a zip: it needs seeking, so it is read from a local copy.
                let local = tempfile::NamedTempFile::new().map_err(|e| Failure::Retry(e.to_string()))?;
                self.objects.download(raw, local.path()).await.map_err(|e| Failure::Retry(e.to_string()))?;
                let limits = self.limits.clone();
                tokio::task::spawn_blocking(move || {
                    stored(out, |out| parse::parse_xlsx(local.path(), &limits, out, &mut scaled(&progress)))
                })
                .await
            }
            format => {
                let input = blocking::reader(&self.objects, raw, stop.clone())
                    .await
                    .map_err(|e| Failure::Retry(e.to_string()))?;
                tokio::task::spawn_blocking(move || {
                    stored(out, |out| parse::parse_stream(format, input, size, out, &mut scaled(&progress)))
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

/// Parsing's share of the progress bar: from the upload's 40 % to [`PARSED`].
fn scaled(progress: &ProgressReporter) -> impl FnMut(f64) + '_ {
    move |fraction| progress.report(STORED + (fraction.clamp(0.0, 1.0) * (PARSED - STORED) as f64) as i64)
}
