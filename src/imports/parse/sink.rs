//! Where every format's rows go: header names checked once, each row fed to type inference, kept for
//! the preview while it is short, and written out as normalized CSV.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Write};
use std::rc::Rc;

use csv::ByteRecord;

use super::infer_thread::Inferrer;
use super::options::{Ragged, ReadAs, Warning, WarningKind};
use super::records::Fields;
use super::{Column, MAX_COLUMNS, PREVIEW_BYTES, PREVIEW_CELL_CHARS, PREVIEW_ROWS, ParseError, Parsed, invalid};

/// Column names as the file gives them: trimmed, blanks named `column_N`, duplicates refused.
/// The error is a message without its place, which each format words differently (line, row).
pub(crate) fn column_names(raw: impl IntoIterator<Item = String>) -> Result<Vec<String>, String> {
    let names: Vec<String> = raw
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let trimmed = name.trim();
            if trimmed.is_empty() {
                format!("column_{}", i + 1)
            } else if trimmed.len() == name.len() {
                name
            } else {
                trimmed.to_owned()
            }
        })
        .collect();
    if names.len() > MAX_COLUMNS {
        return Err(format!("{} columns; at most {MAX_COLUMNS} are supported", names.len()));
    }
    let mut first_seen: HashMap<&str, usize> = HashMap::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        if let Some(first) = first_seen.insert(name, i) {
            return Err(format!("column \"{name}\" appears twice (columns {} and {})", first + 1, i + 1));
        }
    }
    Ok(names)
}

/// Output goes to storage in writes of about this many bytes.
const FLUSH_AT: usize = 64 << 10;

/// The output buffer, shared by the CSV encoder and the copies of rows as read.
#[derive(Clone)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub(crate) struct RowSink<W: Write> {
    /// Rows are encoded by `out` into `buffer` (or copied into it as read), which goes to `sink`
    /// in large writes.
    out: csv::Writer<Shared>,
    buffer: Shared,
    /// Whether `out` holds encoded bytes not yet in `buffer`.
    encoded: bool,
    sink: W,
    names: Vec<String>,
    inference: Inferrer,
    row_count: u64,
    preview: Vec<Vec<String>>,
    preview_bytes: usize,
    ragged: Ragged,
    /// Rows padded and trimmed so far, each with the first one's line.
    padded: Option<(u64, u64)>,
    trimmed: Option<(u64, u64)>,
}

impl<W: Write> RowSink<W> {
    /// Starts the output with the header line; `names` come from [`column_names`].
    pub(crate) fn new(names: Vec<String>, ragged: Ragged, sink: W) -> Result<Self, ParseError> {
        let buffer = Shared(Rc::new(RefCell::new(Vec::with_capacity(2 * FLUSH_AT))));
        let mut out = csv::WriterBuilder::new().buffer_capacity(16 << 10).from_writer(buffer.clone());
        out.write_record(&names).map_err(write_error)?;
        Ok(RowSink {
            out,
            buffer,
            encoded: true,
            sink,
            inference: Inferrer::new(names.len())?,
            names,
            row_count: 0,
            preview: Vec::new(),
            preview_bytes: 0,
            ragged,
            padded: None,
            trimmed: None,
        })
    }

    pub(crate) fn width(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// One data row of exactly `width()` fields, already checked to be UTF-8 by its format.
    pub(crate) fn push(&mut self, row: &ByteRecord) -> Result<(), ParseError> {
        debug_assert_eq!(row.len(), self.width());
        let ends = row.iter().scan(0, |end, field| {
            *end += field.len();
            Some(*end)
        });
        self.inference.observe(row.as_slice(), ends);
        self.preview(row.iter());
        self.out.write_byte_record(row).map_err(write_error)?;
        self.encoded = true;
        self.row_done()
    }

    /// As [`RowSink::push`], for a delimited record; `raw`, the bytes it was read from, is copied
    /// to the output as it is when given (only comma-separated records are: they read back the
    /// same as writing them again would give, which is most of a parse's cost).
    pub(crate) fn push_fields(&mut self, row: Fields<'_>, raw: Option<&[u8]>) -> Result<(), ParseError> {
        debug_assert_eq!(row.len(), self.width());
        self.inference.observe(row.data, row.ends.iter().copied());
        self.preview(row.iter());
        match raw {
            Some(raw) => {
                // rows encoded before this one go first
                if std::mem::take(&mut self.encoded) {
                    self.out.flush()?;
                }
                let mut buffer = self.buffer.0.borrow_mut();
                buffer.extend_from_slice(raw);
                // every row ends its line: a CR gets its LF (which came with the next record),
                // the file's last row its line end
                if raw.last() != Some(&b'\n') {
                    buffer.push(b'\n');
                }
            }
            None => {
                self.out.write_record(row.iter()).map_err(write_error)?;
                self.encoded = true;
            }
        }
        self.row_done()
    }

    fn preview<'a>(&mut self, values: impl Iterator<Item = &'a [u8]>) {
        if self.preview.len() < PREVIEW_ROWS && self.preview_bytes < PREVIEW_BYTES {
            let cells: Vec<String> = values.map(preview_cell).collect();
            self.preview_bytes += cells.iter().map(String::len).sum::<usize>();
            self.preview.push(cells);
        }
    }

    fn row_done(&mut self) -> Result<(), ParseError> {
        self.row_count += 1;
        if self.buffer.0.borrow().len() >= FLUSH_AT {
            self.drain()?;
        }
        Ok(())
    }

    fn drain(&mut self) -> Result<(), ParseError> {
        let mut buffered = self.buffer.0.borrow_mut();
        self.sink.write_all(&buffered)?;
        buffered.clear();
        Ok(())
    }

    /// Makes a row of the wrong width fit the header, as `ragged` says: a short row is padded with
    /// empty values (unless `strict`), extra empty cells are dropped, extra cells holding data are
    /// dropped with `trim` and refused otherwise. `line` is where the row starts in the file.
    pub(crate) fn fit(&mut self, row: &mut ByteRecord, line: u64) -> Result<(), ParseError> {
        let width = self.width();
        let fields = |n: usize| if n == 1 { "1 field".to_owned() } else { format!("{n} fields") };
        if row.len() < width {
            if self.ragged == Ragged::Strict {
                return Err(invalid(format!(
                    "line {line}: {}, the header has {width} (ragged=strict refuses short rows)",
                    fields(row.len())
                )));
            }
            while row.len() < width {
                row.push_field(b"");
            }
            self.note(WarningKind::Padded, line);
            return Ok(());
        }
        let extra = row.iter().enumerate().skip(width).find(|(_, value)| !value.trim_ascii().is_empty());
        if let Some((position, value)) = extra
            && self.ragged != Ragged::Trim
        {
            return Err(invalid(format!(
                "line {line}: {}, the header has {width}, and field {} holds \"{}\" — add its column to the header, \
                 or send ragged=trim to drop cells past the header's columns",
                fields(row.len()),
                position + 1,
                preview_cell(&value[..value.len().min(64)])
            )));
        }
        row.truncate(width);
        self.note(WarningKind::Trimmed, line);
        Ok(())
    }

    /// Counts a row changed to fit (XLSX notes its trimmed rows itself: its short rows are normal).
    pub(crate) fn note(&mut self, kind: WarningKind, line: u64) {
        let count = match kind {
            WarningKind::Padded => &mut self.padded,
            WarningKind::Trimmed => &mut self.trimmed,
        };
        let (rows, _) = count.get_or_insert((0, line));
        *rows += 1;
    }

    pub(crate) fn finish(mut self) -> Result<Parsed, ParseError> {
        self.out.flush()?;
        self.drain()?;
        self.sink.flush()?;
        let mut warnings = Vec::new();
        if let Some((rows, first_line)) = self.padded {
            let message = format!(
                "{} shorter than the header, padded with empty values (the first on line {first_line})",
                rows_text(rows)
            );
            warnings.push(Warning { kind: WarningKind::Padded, rows, first_line, message });
        }
        if let Some((rows, first_line)) = self.trimmed {
            let which = if self.ragged == Ragged::Trim { "cells" } else { "empty cells" };
            let message = format!(
                "{} had {which} past the header's columns, dropped (the first on line {first_line})",
                rows_text(rows)
            );
            warnings.push(Warning { kind: WarningKind::Trimmed, rows, first_line, message });
        }
        let columns = self
            .names
            .into_iter()
            .zip(self.inference.finish())
            .map(|(name, inference)| Column { name, column_type: inference.column_type() })
            .collect();
        Ok(Parsed { columns, row_count: self.row_count, preview: self.preview, read_as: ReadAs::default(), warnings })
    }
}

fn rows_text(rows: u64) -> String {
    if rows == 1 { "1 row".into() } else { format!("{} rows", crate::jobs::state::grouped(rows)) }
}

/// A value as the preview shows it: cut at [`PREVIEW_CELL_CHARS`].
fn preview_cell(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    match text.char_indices().nth(PREVIEW_CELL_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}

/// Writing can only fail in the underlying writer: storage trouble.
fn write_error(error: csv::Error) -> ParseError {
    match error.into_kind() {
        csv::ErrorKind::Io(error) => ParseError::Io(error),
        other => ParseError::Io(io::Error::other(format!("writing CSV: {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::column_names;

    fn names(raw: &[&str]) -> Result<Vec<String>, String> {
        column_names(raw.iter().map(|s| s.to_string()))
    }

    #[test]
    fn names_are_trimmed_and_blanks_are_numbered() {
        assert_eq!(names(&[" id ", "", "price", "  "]).expect("valid"), ["id", "column_2", "price", "column_4"]);
    }

    #[test]
    fn more_columns_than_a_spreadsheet_has_are_refused() {
        let wide = column_names((0..=super::MAX_COLUMNS).map(|i| format!("c{i}"))).expect_err("too wide");
        assert_eq!(wide, "16385 columns; at most 16384 are supported");
    }

    #[test]
    fn long_preview_cells_are_cut() {
        let cut = super::preview_cell("é".repeat(300).as_bytes());
        assert_eq!(cut.chars().count(), super::PREVIEW_CELL_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(super::preview_cell(b"short"), "short");
    }

    #[test]
    fn duplicate_names_are_refused_with_both_positions() {
        let error = names(&["id", "price", "a", "b", " price"]).expect_err("duplicate");
        assert_eq!(error, "column \"price\" appears twice (columns 2 and 5)");
    }

    #[test]
    fn a_blank_name_clashing_with_a_generated_one_is_refused() {
        let error = names(&["column_2", ""]).expect_err("duplicate");
        assert_eq!(error, "column \"column_2\" appears twice (columns 1 and 2)");
    }
}
