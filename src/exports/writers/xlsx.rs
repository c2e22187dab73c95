//! XLSX: numbers as numbers, booleans as booleans, dates as date cells with a date format,
//! a bold header; a sheet per 1 048 576 rows.

use super::cell::{Cell, calendar};
use super::{PROGRESS_ROWS, WriteError};
use crate::imports::parse::Column;
use chrono::{Datelike, NaiveTime, Timelike};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use std::io::Read;

/// Rows in one worksheet, header included (Excel's limit); larger exports continue on the next.
const SHEET_ROWS: u32 = 1_048_576;
/// Integers beyond this lose digits as spreadsheet numbers: they are written as text.
const EXACT_IN_F64: f64 = 9_007_199_254_740_992.0;

struct Formats {
    header: Format,
    date: Format,
    date_time: Format,
    date_time_millis: Format,
}

pub(super) fn write<R: Read>(
    columns: &[Column],
    reader: &mut csv::Reader<R>,
    path: &std::path::Path,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, WriteError> {
    let formats = Formats {
        header: Format::new().set_bold(),
        date: Format::new().set_num_format("yyyy-mm-dd"),
        date_time: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        date_time_millis: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss.000"),
    };
    let mut workbook = Workbook::new();
    let mut record = csv::StringRecord::new();
    let mut done: u64 = 0;
    let mut sheet = new_sheet(&mut workbook, columns, &formats)?;
    let mut row: u32 = 1;
    while reader.read_record(&mut record)? {
        if row == SHEET_ROWS {
            sheet = new_sheet(&mut workbook, columns, &formats)?;
            row = 1;
        }
        for (col, (column, value)) in columns.iter().zip(record.iter()).enumerate() {
            cell(sheet, row, col as u16, Cell::of(column.column_type, value), value, &formats)?;
        }
        row += 1;
        done += 1;
        if done.is_multiple_of(PROGRESS_ROWS) {
            progress(done);
        }
    }
    workbook.save(path)?;
    progress(done);
    Ok(done)
}

fn new_sheet<'w>(
    workbook: &'w mut Workbook,
    columns: &[Column],
    formats: &Formats,
) -> Result<&'w mut Worksheet, XlsxError> {
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    for (col, column) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, &column.name, &formats.header)?;
    }
    Ok(sheet)
}

fn cell(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    cell: Cell<'_>,
    text: &str,
    formats: &Formats,
) -> Result<(), XlsxError> {
    match cell {
        Cell::Empty => {}
        Cell::Bool(b) => {
            sheet.write_boolean(row, col, b)?;
        }
        Cell::Number(n) => match n.parse::<f64>() {
            // an integer past 2^53 or a number past f64's range would not read back the same
            Ok(f) if f.is_finite() && (f.fract() != 0.0 || f.abs() <= EXACT_IN_F64) => {
                sheet.write_number(row, col, f)?;
            }
            _ => {
                sheet.write_string(row, col, text)?;
            }
        },
        Cell::Date(value) => match excel_date(value) {
            Some((at, time)) => {
                let format = match time {
                    None => &formats.date,
                    Some(t) if t.nanosecond() == 0 => &formats.date_time,
                    Some(_) => &formats.date_time_millis,
                };
                sheet.write_datetime_with_format(row, col, &at, format)?;
            }
            None => {
                sheet.write_string(row, col, text)?;
            }
        },
        Cell::Text(_) => {
            sheet.write_string(row, col, text)?;
        }
    }
    Ok(())
}

/// A date value as a spreadsheet date, with its time of day if it had one. Spreadsheet dates run
/// from 1900 to 9999, to the millisecond; anything else stays text.
fn excel_date(value: &str) -> Option<(ExcelDateTime, Option<NaiveTime>)> {
    let (day, time) = calendar(value)?;
    let year = u16::try_from(day.year()).ok().filter(|y| (1900..=9999).contains(y))?;
    let date = ExcelDateTime::from_ymd(year, day.month() as u8, day.day() as u8).ok()?;
    let Some(t) = time else { return Some((date, None)) };
    if t.nanosecond() % 1_000_000 != 0 {
        return None;
    }
    let at =
        date.and_hms_milli(t.hour() as u16, t.minute() as u8, t.second() as u8, (t.nanosecond() / 1_000_000) as u16);
    Some((at.ok()?, time))
}
