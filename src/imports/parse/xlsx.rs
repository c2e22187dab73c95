//! XLSX: one worksheet (the one asked for, or the first holding a value) streamed cell by cell into
//! the row sink, after the zip's declared sizes have been checked against the limits (a small upload
//! must not unpack to gigabytes).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::Path;

use calamine::{DataRef, ExcelDateTime, Reader, Xlsx, XlsxError};
use csv::ByteRecord;

use super::infer::is_date;
use super::input::fraction;
use super::options::{Ragged, ReadOptions, WarningKind};
use super::sink::{RowSink, column_names};
use super::{Limits, ParseError, Parsed, invalid};

/// Entries smaller than this are not held to the compression ratio: tiny XML parts compress very
/// well without being a threat.
const RATIO_EXEMPT_BELOW: u64 = 1 << 20;

pub(crate) fn parse<W: Write>(
    path: &Path,
    options: &ReadOptions,
    limits: &Limits,
    out: W,
    progress: &mut dyn FnMut(f64),
) -> Result<Parsed, ParseError> {
    check_sizes(path, limits)?;
    let mut book: Xlsx<_> = Xlsx::new(BufReader::new(File::open(path)?)).map_err(unreadable)?;
    let names = book.sheet_names();
    if names.is_empty() {
        return Err(invalid("not a readable XLSX file: it has no worksheet"));
    }
    let tried = match &options.sheet {
        Some(wanted) => vec![pick(&names, wanted)?],
        None => names.clone(),
    };
    let mut out = out;
    for name in tried {
        match read_sheet(&mut book, &name, options.ragged, out, &mut *progress)? {
            Ok(mut parsed) => {
                parsed.read_as.sheet = Some(name);
                return Ok(parsed);
            }
            Err(unused) => out = unused,
        }
    }
    Err(invalid(match (&options.sheet, names.len()) {
        (Some(_), 1) | (None, 1) => "the file is empty".to_owned(),
        (Some(wanted), _) => format!("sheet \"{}\" holds no value", pick(&names, wanted)?),
        (None, n) => format!("the file is empty: none of its {n} sheets ({}) holds a value", listed(&names)),
    }))
}

/// The sheet `wanted` names: by name (exactly, else ignoring case), else by 1-based position.
fn pick(names: &[String], wanted: &str) -> Result<String, ParseError> {
    let found = names
        .iter()
        .find(|name| name.as_str() == wanted)
        .or_else(|| names.iter().find(|name| name.eq_ignore_ascii_case(wanted)))
        .or_else(|| wanted.parse::<usize>().ok().and_then(|n| names.get(n.checked_sub(1)?)));
    found.cloned().ok_or_else(|| {
        invalid(format!(
            "no sheet \"{}\" in this file: its sheets are {} (name one, or give its position, 1 to {})",
            crate::text_enum::truncate_for_message(wanted),
            listed(names),
            names.len()
        ))
    })
}

fn listed(names: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut list = names.iter().take(SHOWN).map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        list.push_str(", …");
    }
    list
}

/// One sheet's rows; the output comes back unused when the sheet holds no value.
fn read_sheet<W: Write>(
    book: &mut Xlsx<BufReader<File>>,
    name: &str,
    ragged: Ragged,
    out: W,
    progress: &mut dyn FnMut(f64),
) -> Result<Result<Parsed, W>, ParseError> {
    let mut cells = book.worksheet_cells_reader(name).map_err(unreadable)?;
    let declared = cells.dimensions();
    let declared_rows = u64::from(declared.end.0.saturating_sub(declared.start.0)) + 1;

    let mut sheet = Sheet {
        out: Some(out),
        sink: None,
        header: Vec::new(),
        record: ByteRecord::new(),
        has_values: false,
        ragged,
        trimmed: false,
    };
    let mut text = String::new();
    let mut row = None;
    let mut reported = 0.0;
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        let (r, c) = cell.get_position();
        if row != Some(r) {
            if let Some(previous) = row {
                sheet.end_row(previous)?;
            }
            row = Some(r);
            let done = fraction(u64::from(r.saturating_sub(declared.start.0)), declared_rows);
            if done - reported >= 0.01 {
                progress(done);
                reported = done;
            }
        }
        text.clear();
        render(cell.get_value(), &mut text)
            .map_err(|problem| invalid(format!("cell {}: {problem}", cell_name(r, c))))?;
        sheet.cell(r, c, &text)?;
    }
    if let Some(last) = row {
        sheet.end_row(last)?;
    }
    match (sheet.sink, sheet.out) {
        (Some(sink), _) => Ok(Ok(sink.finish()?)),
        (None, Some(out)) => Ok(Err(out)),
        (None, None) => Err(io::Error::other("the output was taken without a header").into()),
    }
}

/// Rows as they are assembled from their cells.
struct Sheet<W: Write> {
    out: Option<W>,
    sink: Option<RowSink<W>>,
    /// The header row's non-empty cells (column, text) until it ends.
    header: Vec<(u32, String)>,
    record: ByteRecord,
    has_values: bool,
    ragged: Ragged,
    /// Whether this row had values past the header's columns, dropped with `ragged=trim`.
    trimmed: bool,
}

impl<W: Write> Sheet<W> {
    fn cell(&mut self, row: u32, col: u32, text: &str) -> Result<(), ParseError> {
        if text.is_empty() {
            // empty cells are filled in by the padding below
            return Ok(());
        }
        let Some(sink) = &self.sink else {
            self.has_values = true;
            if col as usize >= super::MAX_COLUMNS {
                return Err(invalid(format!(
                    "cell {}: beyond the {} columns a sheet may have",
                    cell_name(row, col),
                    super::MAX_COLUMNS
                )));
            }
            self.header.push((col, text.to_owned()));
            return Ok(());
        };
        let width = sink.width();
        let col_index = col as usize;
        if col_index >= width {
            if self.ragged == Ragged::Trim {
                self.trimmed = true;
                return Ok(());
            }
            return Err(invalid(format!(
                "cell {}: a value in column {}, but the header has only {width} columns — add its column to \
                 the header, or send ragged=trim to drop cells past the header's columns",
                cell_name(row, col),
                column_letters(col)
            )));
        }
        if col_index < self.record.len() {
            return Err(invalid(format!("cell {}: the cells of this row are out of order", cell_name(row, col))));
        }
        self.has_values = true;
        while self.record.len() < col_index {
            self.record.push_field(b"");
        }
        self.record.push_field(text.as_bytes());
        Ok(())
    }

    fn end_row(&mut self, row: u32) -> Result<(), ParseError> {
        if std::mem::take(&mut self.trimmed)
            && let Some(sink) = &mut self.sink
        {
            sink.note(WarningKind::Trimmed, u64::from(row) + 1);
        }
        if !std::mem::take(&mut self.has_values) {
            self.record.clear();
            return Ok(());
        }
        if let Some(sink) = &mut self.sink {
            while self.record.len() < sink.width() {
                self.record.push_field(b"");
            }
            sink.push(&self.record)?;
            self.record.clear();
            return Ok(());
        }
        let width = self.header.iter().map(|&(col, _)| col as usize + 1).max().unwrap_or(0);
        let mut raw = vec![String::new(); width];
        for (col, text) in std::mem::take(&mut self.header) {
            raw[col as usize] = text;
        }
        let names = column_names(raw).map_err(|message| invalid(format!("row {}: {message}", row + 1)))?;
        let out = self.out.take().ok_or_else(|| io::Error::other("the output was already taken"))?;
        self.sink = Some(RowSink::new(names, self.ragged, out)?);
        Ok(())
    }
}

/// A cell's value as text; an error cell is the file's problem.
fn render(value: &DataRef<'_>, text: &mut String) -> Result<(), String> {
    match value {
        DataRef::Empty => {}
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => text.push_str(s),
        DataRef::SharedString(s) => text.push_str(s),
        DataRef::Int(i) => push(text, format_args!("{i}")),
        DataRef::Float(f) => number(*f, text),
        DataRef::Bool(b) => text.push_str(if *b { "true" } else { "false" }),
        DataRef::DateTime(dt) => date_time(dt, text),
        DataRef::Error(e) => return Err(format!("the cell holds the error {e}")),
    }
    Ok(())
}

fn push(text: &mut String, args: std::fmt::Arguments<'_>) {
    // writing into a String cannot fail
    let _ = text.write_fmt(args);
}

/// Whole floats as integers (spreadsheets store every number as a float), others in their shortest
/// round-trip form.
fn number(f: f64, text: &mut String) {
    const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0; // 2^53
    if f.fract() == 0.0 && f.abs() < EXACT_INTEGERS {
        push(text, format_args!("{}", f as i64));
    } else if f == 0.0 || (1e-6..1e21).contains(&f.abs()) {
        push(text, format_args!("{f}"));
    } else {
        push(text, format_args!("{f:e}"));
    }
}

/// ISO 8601: a date alone at midnight, a time alone for time-of-day cells, `[h]:mm:ss` for durations.
fn date_time(dt: &ExcelDateTime, text: &mut String) {
    let serial = dt.as_f64();
    if dt.is_duration() {
        let seconds = (serial * 86_400.0).round() as i64;
        let sign = if seconds < 0 { "-" } else { "" };
        let s = seconds.unsigned_abs();
        push(text, format_args!("{sign}{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60));
        return;
    }
    let (year, month, day, hour, minute, second, milli) = dt.to_ymd_hms_milli();
    if (0.0..1.0).contains(&serial) {
        push(text, format_args!("{hour:02}:{minute:02}:{second:02}"));
    } else {
        push(text, format_args!("{year:04}-{month:02}-{day:02}"));
        if (hour, minute, second, milli) != (0, 0, 0, 0) {
            push(text, format_args!("T{hour:02}:{minute:02}:{second:02}"));
            if milli != 0 {
                push(text, format_args!(".{milli:03}"));
            }
        }
        // Excel's phantom 1900-02-29 and out-of-range serials are no calendar dates
        if !is_date(text.as_bytes()) {
            text.clear();
            number(serial, text);
        }
    }
}

/// Refuses archives whose declared sizes exceed the limits, before anything is unpacked.
fn check_sizes(path: &Path, limits: &Limits) -> Result<(), ParseError> {
    let mut zip = zip::ZipArchive::new(BufReader::new(File::open(path)?))
        .map_err(|e| invalid(format!("not a readable XLSX file: {e}")))?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| invalid(format!("not a readable XLSX file: {e}")))?;
        let (size, packed) = (entry.size(), entry.compressed_size());
        total = total.saturating_add(size);
        if entry.name().is_ok_and(|n| n.eq_ignore_ascii_case("xl/sharedStrings.xml"))
            && size > limits.xlsx_max_shared_strings
        {
            return Err(invalid(format!(
                "the XLSX file is refused: its distinct texts take {}, more than the {} that can be held while \
                 reading — save the sheet as CSV and upload that",
                human(size),
                human(limits.xlsx_max_shared_strings)
            )));
        }
        if size >= RATIO_EXEMPT_BELOW && u128::from(size) > u128::from(packed) * u128::from(limits.xlsx_max_ratio) {
            return Err(invalid(format!(
                "the XLSX file is refused: its part {} unpacks from {} to {}, more than {} times its size — \
                 it may be a zip bomb or damaged",
                entry.name().unwrap_or_default(),
                human(packed),
                human(size),
                limits.xlsx_max_ratio
            )));
        }
    }
    if total > limits.xlsx_max_unpacked {
        return Err(invalid(format!(
            "the XLSX file is refused: it unpacks to {}, more than the {} allowed — it may be a zip bomb or damaged",
            human(total),
            human(limits.xlsx_max_unpacked)
        )));
    }
    Ok(())
}

fn unreadable(error: XlsxError) -> ParseError {
    match error {
        // the disk failing us is not the file's fault; a truncated or garbled archive is
        XlsxError::Io(e) if !matches!(e.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData) => {
            ParseError::Io(e)
        }
        other => invalid(format!("not a readable XLSX file: {other}")),
    }
}

/// Bytes in binary units, e.g. "1.5 GiB".
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} bytes") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// "A", …, "Z", "AA", … for a 0-based column.
fn column_letters(col: u32) -> String {
    let mut letters = Vec::new();
    let mut n = u64::from(col) + 1;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8_lossy(&letters).into_owned()
}

fn cell_name(row: u32, col: u32) -> String {
    format!("{}{}", column_letters(col), u64::from(row) + 1)
}

#[cfg(test)]
mod tests {
    use super::{column_letters, date_time, human, number};
    use calamine::{ExcelDateTime, ExcelDateTimeType};

    #[test]
    fn columns_are_lettered_like_a_spreadsheet() {
        let letters: Vec<String> = [0, 2, 25, 26, 27, 51, 52, 701, 702].into_iter().map(column_letters).collect();
        assert_eq!(letters, ["A", "C", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]);
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human(512), "512 bytes");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(2 << 30), "2.0 GiB");
    }

    #[test]
    fn whole_floats_are_integers_and_others_round_trip() {
        let text = |f: f64| {
            let mut s = String::new();
            number(f, &mut s);
            s
        };
        assert_eq!(text(3.0), "3");
        assert_eq!(text(-42.0), "-42");
        assert_eq!(text(0.1), "0.1");
        assert_eq!(text(1.5e-7), "1.5e-7");
        assert_eq!(text(1e300), "1e300");
        assert_eq!(text(0.0), "0");
    }

    #[test]
    fn durations_times_and_impossible_dates_stay_readable() {
        let text = |serial: f64, kind: ExcelDateTimeType| {
            let mut s = String::new();
            date_time(&ExcelDateTime::new(serial, kind, false), &mut s);
            s
        };
        assert_eq!(text(1.5, ExcelDateTimeType::TimeDelta), "36:00:00");
        assert_eq!(text(0.75, ExcelDateTimeType::DateTime), "18:00:00");
        assert_eq!(text(45_306.0, ExcelDateTimeType::DateTime), "2024-01-15");
        // Excel's serial 60 is the 29th of February 1900, a day that never was
        assert_eq!(text(60.0, ExcelDateTimeType::DateTime), "60");
    }
}
