//! Exports: a dataset written out as CSV, XLSX or JSON Lines by an `export` job, then
//! downloaded by its owner.
//!
//! `service` creates export jobs and finds finished files; `export_job` is the worker's half;
//! `writers` turns rows into each format; `routes` is the HTTP edge.

pub mod export_job;
pub mod routes;
pub mod service;
pub mod writers;

pub use export_job::ExportHandler;
pub use service::{ExportError, ExportService};

crate::text_enum! {
    /// What an export produces.
    pub enum ExportFormat as "format" {
        Csv => "csv",
        Xlsx => "xlsx",
        Jsonl => "jsonl",
    }
}

impl ExportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ExportFormat::Jsonl => "application/x-ndjson",
        }
    }
}
