//! Parsing uploaded files (CSV, TSV, JSON Lines, JSON arrays, XLSX) into normalized CSV rows with typed columns.
//!
//! Everything here is synchronous and streaming: memory stays flat whatever the file's size. Each format
//! only turns its input into rows; header checks, type inference, the preview and the CSV output live
//! in one place (`sink.rs`), so every format behaves the same past its own syntax.

mod decode;
mod delimited;
mod format;
mod infer;
mod infer_thread;
mod input;
mod json;
mod options;
mod records;
mod sink;
mod xlsx;

#[cfg(test)]
mod tests;

use std::io::{Read, Write};
use std::path::Path;
use std::rc::Rc;

pub use format::FileFormat;
pub use infer::ColumnType;
pub use options::{Delimiter, Encoding, Ragged, ReadAs, ReadOptions, Warning, WarningKind};

/// How many data rows `Parsed::preview` holds at most.
pub const PREVIEW_ROWS: usize = 50;
/// Longest preview cell, in characters (longer ones are cut, with `…`).
pub const PREVIEW_CELL_CHARS: usize = 256;
/// The preview stops growing past this many bytes of text (fewer rows for very wide files).
pub const PREVIEW_BYTES: usize = 1 << 20;
/// Most columns a file may have (XLSX's own limit): each costs memory while parsing.
pub const MAX_COLUMNS: usize = 16_384;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: ColumnType,
}

/// What a fully parsed file is.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub columns: Vec<Column>,
    pub row_count: u64,
    /// The first `PREVIEW_ROWS` data rows as written to the output, each cell cut at
    /// `PREVIEW_CELL_CHARS`, and no more rows once they hold `PREVIEW_BYTES`.
    pub preview: Vec<Vec<String>>,
    pub read_as: ReadAs,
    /// Rows changed so that they fit the header (padded, trimmed).
    pub warnings: Vec<Warning>,
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The file's fault. The message is for a person: it names the line (1-based, as in a text editor;
    /// for XLSX the cell, e.g. "cell C7") and what was expected.
    #[error("{0}")]
    Invalid(String),
    /// Reading the input or writing the output failed (storage trouble, not the file's fault).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

fn invalid(message: impl Into<String>) -> ParseError {
    ParseError::Invalid(message.into())
}

/// Guards against XLSX files that unpack to far more than they weigh (zip bombs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes: the sum of the zip entries' uncompressed sizes.
    pub xlsx_max_unpacked: u64,
    /// Uncompressed / compressed size of one entry (entries under 1 MiB are not checked).
    pub xlsx_max_ratio: u64,
    /// Bytes of the shared-strings part: the XLSX reader holds all of it in memory.
    pub xlsx_max_shared_strings: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { xlsx_max_unpacked: 2 << 30, xlsx_max_ratio: 100, xlsx_max_shared_strings: 64 << 20 }
    }
}

/// Parses a streamed CSV, TSV, JSON Lines or JSON-array file, read as `options` say.
///
/// `total` is the input's size in bytes (for progress); `progress` gets the fraction of the input
/// consumed, at most about every 1 MiB, and 1.0 once at the end. The rows go to `rows_out` as CSV
/// (csv crate defaults): a header line with the column names, then one line per data row; it is
/// flushed before `Ok` is returned. XLSX needs seeking: use [`parse_xlsx`].
pub fn parse_stream(
    format: FileFormat,
    options: &ReadOptions,
    input: impl Read,
    total: u64,
    rows_out: impl Write,
    progress: &mut dyn FnMut(f64),
) -> Result<Parsed, ParseError> {
    let meter = Rc::new(input::Meter::default());
    let mut parsed = {
        let input = input::Metered::new(input, total, &mut *progress, Rc::clone(&meter));
        let (input, encoding) = decode::utf8(input, options.encoding)?;
        let mut parsed = match format {
            FileFormat::Csv => delimited::parse(input, options.delimiter, options.ragged, &meter, rows_out),
            FileFormat::Tsv => {
                let delimiter = options.delimiter.unwrap_or(Delimiter::Byte(b'\t'));
                delimited::parse(input, Some(delimiter), options.ragged, &meter, rows_out)
            }
            FileFormat::Jsonl => json::parse_lines(input, &meter, rows_out),
            FileFormat::Json => json::parse_array(input, &meter, rows_out),
            FileFormat::Xlsx => Err(invalid("an XLSX file cannot be read as a stream; it is parsed from a local file")),
        }
        .map_err(|e| encoding_hint(e, &encoding))?;
        parsed.read_as.encoding = Some(encoding);
        parsed
    };
    parsed.read_as.format.get_or_insert(format);
    progress(1.0);
    Ok(parsed)
}

/// Parses the XLSX file at `path`: the sheet `options` name, or else the first one holding a value.
///
/// Progress is rows read against the sheet's declared dimension. The output is as for [`parse_stream`].
pub fn parse_xlsx(
    path: &Path,
    options: &ReadOptions,
    limits: &Limits,
    rows_out: impl Write,
    progress: &mut dyn FnMut(f64),
) -> Result<Parsed, ParseError> {
    let mut parsed = xlsx::parse(path, options, limits, rows_out, &mut *progress)?;
    parsed.read_as.format = Some(FileFormat::Xlsx);
    progress(1.0);
    Ok(parsed)
}

/// A file that is not UTF-8 and said nothing else: the message says how to name its encoding.
fn encoding_hint(error: ParseError, encoding: &str) -> ParseError {
    match error {
        ParseError::Invalid(message) if encoding == "utf-8" && message.contains(NOT_UTF8) => invalid(format!(
            "{message} — if the file is in another encoding, name it in the upload's encoding field \
             (for example encoding=windows-1252, which Excel uses for CSV on Western European Windows)"
        )),
        other => other,
    }
}

/// How every format words a byte that is not UTF-8 (so [`encoding_hint`] can add to it).
pub(crate) const NOT_UTF8: &str = "not valid UTF-8";
