//! Rows into each export format, on a blocking thread, row by row: memory does not grow with
//! the dataset. Values are typed by the dataset's inferred column types (`cell.rs`), so a number
//! is a number in every format, and exporting then importing gives back the same dataset
//! (`tests/round_trip.rs`).

mod cell;
mod jsonl;
mod xlsx;

#[cfg(test)]
mod tests;

use super::ExportFormat;
use crate::imports::parse::Column;
use rust_xlsxwriter::XlsxError;
use std::io::{Read, Write};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("reading the dataset's rows: {0}")]
    Rows(#[from] csv::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("writing the spreadsheet: {0}")]
    Xlsx(#[from] XlsxError),
}

/// Read the dataset's rows (CSV with a header line) and write them as `format` to `out`
/// (JSON Lines) or to the spreadsheet file `xlsx_path` (XLSX). `progress` gets the rows done.
pub fn write_rows(
    format: ExportFormat,
    columns: &[Column],
    rows: impl Read,
    out: impl Write,
    xlsx_path: Option<&std::path::Path>,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, WriteError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(rows);
    match (format, xlsx_path) {
        (ExportFormat::Xlsx, Some(path)) => xlsx::write(columns, &mut reader, path, progress),
        _ => jsonl::write(columns, &mut reader, out, progress),
    }
}

/// Progress is reported every this many rows.
const PROGRESS_ROWS: u64 = 10_000;
