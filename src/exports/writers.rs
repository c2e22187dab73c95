//! Rows into each export format, on a blocking thread, row by row: memory does not grow with
//! the dataset. Values are typed by the dataset's inferred column types.

use super::ExportFormat;
use crate::imports::parse::{Column, ColumnType};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde_json::{Map, Number, Value};
use std::io::{Read, Write};

/// Rows in one worksheet, header included (Excel's limit); larger exports continue on the next.
const SHEET_ROWS: u32 = 1_048_576;
/// Integers beyond this lose digits as spreadsheet numbers: they are written as text.
const EXACT_IN_F64: i64 = 1 << 53;

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
        (ExportFormat::Xlsx, Some(path)) => xlsx(columns, &mut reader, path, progress),
        _ => jsonl(columns, &mut reader, out, progress),
    }
}

fn jsonl<R: Read>(
    columns: &[Column],
    reader: &mut csv::Reader<R>,
    mut out: impl Write,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, WriteError> {
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, &mut out);
    let mut record = csv::StringRecord::new();
    let mut done: u64 = 0;
    while reader.read_record(&mut record)? {
        let object: Map<String, Value> =
            columns.iter().zip(record.iter()).map(|(c, v)| (c.name.clone(), json_value(c.column_type, v))).collect();
        serde_json::to_writer(&mut out, &object).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        done += 1;
        if done.is_multiple_of(10_000) {
            progress(done);
        }
    }
    out.flush()?;
    progress(done);
    Ok(done)
}

/// A cell as JSON: numbers and booleans typed, empty as null, the rest as text.
pub fn json_value(column_type: ColumnType, text: &str) -> Value {
    let t = text.trim();
    if t.is_empty() {
        return Value::Null;
    }
    let typed = match column_type {
        ColumnType::Integer => t.parse::<i64>().ok().map(Value::from),
        ColumnType::Decimal => t.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number),
        ColumnType::Boolean => boolean(t).map(Value::Bool),
        ColumnType::Date | ColumnType::Text => None,
    };
    typed.unwrap_or_else(|| Value::String(text.to_owned()))
}

fn boolean(t: &str) -> Option<bool> {
    match t.to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

fn xlsx<R: Read>(
    columns: &[Column],
    reader: &mut csv::Reader<R>,
    path: &std::path::Path,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, WriteError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let mut record = csv::StringRecord::new();
    let mut done: u64 = 0;
    let mut sheet = workbook.add_worksheet_with_constant_memory()?;
    write_header(sheet, columns, &bold)?;
    let mut row: u32 = 1;
    while reader.read_record(&mut record)? {
        if row == SHEET_ROWS {
            sheet = workbook.add_worksheet_with_constant_memory()?;
            write_header(sheet, columns, &bold)?;
            row = 1;
        }
        for (col, (column, value)) in columns.iter().zip(record.iter()).enumerate() {
            let col = col as u16;
            match json_value(column.column_type, value) {
                Value::Null => {}
                Value::Bool(b) => {
                    sheet.write_boolean(row, col, b)?;
                }
                Value::Number(n) => match n.as_i64() {
                    Some(i) if i.abs() > EXACT_IN_F64 => {
                        sheet.write_string(row, col, value)?;
                    }
                    _ => {
                        sheet.write_number(row, col, n.as_f64().unwrap_or_default())?;
                    }
                },
                _ => {
                    sheet.write_string(row, col, value)?;
                }
            }
        }
        row += 1;
        done += 1;
        if done.is_multiple_of(10_000) {
            progress(done);
        }
    }
    workbook.save(path)?;
    progress(done);
    Ok(done)
}

fn write_header(sheet: &mut rust_xlsxwriter::Worksheet, columns: &[Column], bold: &Format) -> Result<(), XlsxError> {
    for (col, column) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, &column.name, bold)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_typed_by_their_column() {
        assert_eq!(json_value(ColumnType::Integer, "42"), Value::from(42));
        assert_eq!(json_value(ColumnType::Decimal, "1.5"), Value::from(1.5));
        assert_eq!(json_value(ColumnType::Boolean, "Yes"), Value::Bool(true));
        assert_eq!(json_value(ColumnType::Date, "2026-11-30"), Value::from("2026-11-30"));
        assert_eq!(json_value(ColumnType::Text, "007"), Value::from("007"));
        assert_eq!(json_value(ColumnType::Integer, ""), Value::Null);
    }
}
