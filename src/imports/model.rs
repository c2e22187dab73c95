//! Suppliers and datasets: who sends files, and what a fully parsed file became.

use super::parse::{Column, FileFormat, ReadAs, Warning};
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supplier {
    pub id: Uuid,
    pub name: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A parsed file: its rows are in object storage under `rows_key`, as CSV with a header.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub id: Uuid,
    pub name: String,
    pub supplier_id: Option<Uuid>,
    pub original_filename: Option<String>,
    pub format: Option<FileFormat>,
    pub size_bytes: Option<i64>,
    pub sha256: Option<String>,
    pub row_count: Option<i64>,
    pub columns: Vec<Column>,
    pub preview: Vec<Vec<String>>,
    pub read_as: ReadAs,
    pub warnings: Vec<Warning>,
    pub rows_key: Option<String>,
    pub import_job_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// What an import job stores once the file is parsed.
#[derive(Debug, Clone)]
pub struct NewDataset {
    pub id: Uuid,
    pub supplier_id: Uuid,
    pub original_filename: String,
    pub format: FileFormat,
    pub size_bytes: i64,
    pub sha256: String,
    pub row_count: i64,
    pub columns: Vec<Column>,
    pub preview: Vec<Vec<String>>,
    pub read_as: ReadAs,
    pub warnings: Vec<Warning>,
    pub rows_key: String,
    pub import_job_id: Uuid,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}
