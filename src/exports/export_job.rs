//! The worker's half of an export: stream the dataset's rows into the requested format in
//! object storage. Progress follows rows written.

use super::ExportFormat;
use super::writers::{self, WriteError};
use crate::imports::Dataset;
use crate::jobs::state::grouped;
use crate::objects::{Objects, blocking, export_key};
use crate::storage::Store;
use crate::worker::{HandlerError, JobContext, JobHandler};
use async_trait::async_trait;
use futures_util::StreamExt;
use serde::Deserialize;
use std::sync::Arc;
use uuid::Uuid;

/// Progress when every row is written; the worker records 100 % once the file is stored.
const WRITTEN: i64 = 99;

#[derive(Debug, Deserialize)]
struct Request {
    dataset_id: Uuid,
    format: ExportFormat,
}

pub struct ExportHandler {
    store: Arc<dyn Store>,
    objects: Objects,
}

impl ExportHandler {
    pub fn new(store: Arc<dyn Store>, objects: Objects) -> Self {
        Self { store, objects }
    }
}

#[async_trait]
impl JobHandler for ExportHandler {
    async fn run(&self, ctx: &JobContext) -> Result<(), HandlerError> {
        let job = ctx.job();
        let request: Request = serde_json::from_value(job.metadata.clone()).map_err(|e| {
            HandlerError::Permanent(format!(
                "metadata must be {{\"dataset_id\": UUID, \"format\": \"csv\" | \"xlsx\" | \"jsonl\"}}: {e}"
            ))
        })?;
        // Only the owner's datasets: an export job made through POST /jobs is checked here.
        let dataset = match self.store.find_dataset(request.dataset_id).await.map_err(HandlerError::retryable)? {
            Some(d) if d.created_by.is_some() && d.created_by == job.created_by && d.rows_key.is_some() => d,
            _ => return Err(HandlerError::Permanent(format!("dataset {} not found", request.dataset_id))),
        };
        let key = export_key(job.id, request.format.as_str());
        match request.format {
            ExportFormat::Csv => self.copy_rows(ctx, &dataset, &key).await,
            format => self.convert(ctx, &dataset, format, &key).await,
        }
    }

    /// A pruned export's file goes with it.
    async fn forget(&self, job: Uuid) {
        for format in ExportFormat::ALL {
            self.objects.discard(&export_key(job, format.as_str())).await;
        }
    }
}

impl ExportHandler {
    /// CSV is the form rows are kept in: a byte copy, progress by bytes.
    async fn copy_rows(&self, ctx: &JobContext, dataset: &Dataset, key: &str) -> Result<(), HandlerError> {
        let rows = dataset.rows_key.as_deref().unwrap_or_default();
        let (size, mut body) = self.objects.stream(rows).await.map_err(HandlerError::retryable)?;
        let mut writer = self.objects.writer(key);
        let mut last = -1;
        while let Some(chunk) = body.next().await {
            let step = match chunk {
                Ok(bytes) if !ctx.is_cancelled() => writer.put(bytes).await.map_err(HandlerError::retryable),
                Ok(_) => Err(HandlerError::Retryable("stopped".into())),
                Err(e) => Err(HandlerError::retryable(e)),
            };
            if let Err(e) = step {
                writer.abort().await;
                return Err(e);
            }
            let percent = (writer.written() * WRITTEN as u64 / size.max(1)) as i64;
            ctx.progress(percent);
            if percent != last {
                last = percent;
                let mb = |bytes: u64| grouped(bytes / 1_000_000);
                ctx.stage(&format!("copying rows: {} of {} MB", mb(writer.written()), mb(size)));
            }
        }
        writer.finish().await.map_err(HandlerError::retryable)?;
        Ok(())
    }

    /// JSON Lines and XLSX: typed values, written on a blocking thread.
    async fn convert(
        &self,
        ctx: &JobContext,
        dataset: &Dataset,
        format: ExportFormat,
        key: &str,
    ) -> Result<(), HandlerError> {
        let rows_key = dataset.rows_key.as_deref().unwrap_or_default();
        let input =
            blocking::reader(&self.objects, rows_key, ctx.stop_token()).await.map_err(HandlerError::retryable)?;
        let total = dataset.row_count.unwrap_or(0).max(1) as u64;
        let progress = ctx.progress_reporter();
        let columns = dataset.columns.clone();
        let spreadsheet = match format {
            ExportFormat::Xlsx => Some(tempfile::NamedTempFile::new().map_err(HandlerError::retryable)?),
            _ => None,
        };
        // XLSX is assembled in a local file by the spreadsheet writer, then stored.
        let out = match &spreadsheet {
            None => Some(blocking::writer(&self.objects, key).map_err(HandlerError::retryable)?),
            Some(_) => None,
        };
        let (result, spreadsheet) = tokio::task::spawn_blocking(move || {
            let path = spreadsheet.as_ref().map(|f| f.path());
            let mut last = -1;
            let mut report = |done: u64| {
                let percent = (done * WRITTEN as u64 / total) as i64;
                progress.report(percent);
                if percent != last {
                    last = percent;
                    progress.stage(&format!("writing rows {} / {}", grouped(done), grouped(total)));
                }
            };
            let result = match out {
                Some(mut out) => match writers::write_rows(format, &columns, input, &mut out, None, &mut report) {
                    Ok(_) => out.finish().map_err(WriteError::Io),
                    Err(e) => {
                        out.abort();
                        Err(e)
                    }
                },
                None => writers::write_rows(format, &columns, input, std::io::sink(), path, &mut report).map(|_| ()),
            };
            (result, spreadsheet)
        })
        .await
        .map_err(HandlerError::retryable)?;
        match (result, spreadsheet) {
            (Ok(()), None) => Ok(()),
            (Ok(()), Some(file)) => {
                self.objects.upload(file.path(), key).await.map(|_| ()).map_err(HandlerError::retryable)
            }
            (Err(WriteError::Rows(rows)), _) if !rows.is_io_error() && !ctx.is_cancelled() => {
                Err(HandlerError::Permanent(format!("the dataset's stored rows are unreadable: {rows}")))
            }
            (Err(e), _) => Err(HandlerError::retryable(e)),
        }
    }
}
