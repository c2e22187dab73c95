//! CSV and TSV: the delimiter sniffed from the start of the file (CSV), then records streamed as raw
//! bytes straight into the row sink.

use std::io::{self, Cursor, Read, Write};

use csv::{ByteRecord, ReaderBuilder};

use super::input::{self, BOM, Meter};
use super::sink::{RowSink, column_names};
use super::{ParseError, Parsed, invalid};

/// How much of the file the delimiter is sniffed from.
const SNIFF_BYTES: usize = 64 << 10;

const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// `delimiter` is `None` for CSV (sniffed) and TAB for TSV.
pub(crate) fn parse<R: Read, W: Write>(
    mut input: R,
    delimiter: Option<u8>,
    meter: &Meter,
    out: W,
) -> Result<Parsed, ParseError> {
    let start = read_start(&mut input)?;
    if start.complete && start.prefix.trim_ascii().is_empty() {
        return Err(invalid("the file is empty"));
    }
    let delimiter = delimiter.unwrap_or_else(|| sniff(&start.prefix, start.complete));
    let mut reader = ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        // ragged rows get our own message, with the line
        .flexible(true)
        .buffer_capacity(64 << 10)
        .from_reader(Cursor::new(start.prefix).chain(input));
    let line_of = |record: &ByteRecord| record.position().map_or(0, |p| p.line()) + start.skipped_lines;

    let mut record = ByteRecord::new();
    let mut sink = loop {
        if !reader.read_byte_record(&mut record).map_err(read_error)? {
            return Err(invalid("the file is empty"));
        }
        if meter.tripped() {
            return Err(input::too_long(line_of(&record), "the header"));
        }
        meter.mark();
        if is_blank(&record) {
            continue;
        }
        let line = line_of(&record);
        if let Some(column) = invalid_utf8_field(&record) {
            return Err(invalid(format!(
                "line {line}, column {}: not valid UTF-8 — save the file as UTF-8",
                column + 1
            )));
        }
        let raw = record.iter().map(|name| String::from_utf8_lossy(name).into_owned());
        let names = column_names(raw).map_err(|message| invalid(format!("line {line}: {message}")))?;
        break RowSink::new(names, out)?;
    };

    let width = sink.width();
    while reader.read_byte_record(&mut record).map_err(read_error)? {
        if meter.tripped() {
            return Err(input::too_long(line_of(&record), "one row"));
        }
        meter.mark();
        if is_blank(&record) {
            continue;
        }
        if record.len() != width {
            let fields = if record.len() == 1 { "field" } else { "fields" };
            return Err(invalid(format!(
                "line {}: {} {fields}, expected {width} (as in the header)",
                line_of(&record),
                record.len()
            )));
        }
        if let Some(column) = invalid_utf8_field(&record) {
            return Err(invalid(format!(
                "line {}, column \"{}\": not valid UTF-8 — save the file as UTF-8",
                line_of(&record),
                sink.names()[column]
            )));
        }
        sink.push(&record)?;
    }
    if meter.tripped() {
        return Err(input::too_long(reader.position().line() + start.skipped_lines, "one row"));
    }
    sink.finish()
}

/// The start of the file, kept to sniff the delimiter from and then parsed like the rest.
struct Start {
    prefix: Vec<u8>,
    /// Blank lines dropped before the header, so that line numbers stay those of the file.
    skipped_lines: u64,
    /// Whether `prefix` is the whole file.
    complete: bool,
}

/// Reads up to `SNIFF_BYTES`, dropping a BOM and leading blank lines (a file of nothing but blank
/// lines is read to its end, a buffer at a time).
fn read_start(input: &mut impl Read) -> io::Result<Start> {
    let mut prefix = Vec::with_capacity(SNIFF_BYTES);
    let mut skipped_lines = 0;
    let mut first = true;
    loop {
        let want = SNIFF_BYTES.saturating_sub(prefix.len());
        let complete = input.by_ref().take(want as u64).read_to_end(&mut prefix)? < want;
        if first && prefix.starts_with(BOM) {
            prefix.drain(..BOM.len());
        }
        first = false;
        let blank = prefix.iter().take_while(|b| b.is_ascii_whitespace()).count();
        // only whole lines go: leading tabs or spaces on the header line may be empty fields
        let cut = prefix[..blank].iter().rposition(|&b| b == b'\n').map_or(0, |newline| newline + 1);
        skipped_lines += prefix[..cut].iter().filter(|&&b| b == b'\n').count() as u64;
        prefix.drain(..cut);
        if blank < prefix.len() + cut || complete || cut == 0 {
            return Ok(Start { prefix, skipped_lines, complete });
        }
    }
}

/// The candidate delimiter that splits the most sampled lines into the same number (more than one)
/// of fields; ties go to the earlier candidate, and `,` when none splits anything.
fn sniff(sample: &[u8], complete: bool) -> u8 {
    let mut best = (b',', 0);
    for delimiter in CANDIDATES {
        let score = consistent_lines(sample, complete, delimiter);
        if score > best.1 {
            best = (delimiter, score);
        }
    }
    best.0
}

fn consistent_lines(sample: &[u8], complete: bool, delimiter: u8) -> usize {
    let mut reader = ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(sample);
    let mut record = ByteRecord::new();
    let mut counts = Vec::new();
    while let Ok(true) = reader.read_byte_record(&mut record) {
        if !is_blank(&record) {
            counts.push(record.len());
        }
    }
    if !complete {
        // the sample most likely ends inside a line
        counts.pop();
    }
    counts.retain(|&n| n > 1);
    counts.sort_unstable();
    counts.chunk_by(|a, b| a == b).map(<[usize]>::len).max().unwrap_or(0)
}

/// A line with nothing but whitespace on it. The csv crate already drops empty lines, so a single
/// empty field can only be a quoted `""`: a real value (it is how a one-column empty row is written).
fn is_blank(record: &ByteRecord) -> bool {
    record.len() == 1 && !record[0].is_empty() && record[0].trim_ascii().is_empty()
}

/// The index of the first field that is not UTF-8.
fn invalid_utf8_field(record: &ByteRecord) -> Option<usize> {
    // one check over the whole row is much faster than one per field; a character can only be split
    // between two fields if a field starts with a continuation byte
    let whole_row_valid = std::str::from_utf8(record.as_slice()).is_ok();
    if whole_row_valid && record.iter().all(|field| field.first().is_none_or(|&b| b & 0xC0 != 0x80)) {
        return None;
    }
    record.iter().position(|field| std::str::from_utf8(field).is_err())
}

/// Reading fails in the underlying reader (storage trouble): with `flexible` and byte records the
/// csv crate has no other error to give.
fn read_error(error: csv::Error) -> ParseError {
    match error.into_kind() {
        csv::ErrorKind::Io(error) => ParseError::Io(error),
        other => invalid(format!("unreadable CSV: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::{invalid_utf8_field, sniff};
    use csv::ByteRecord;

    #[test]
    fn the_delimiter_is_the_one_splitting_most_lines_alike() {
        assert_eq!(sniff(b"a,b,c\n1,2,3\n", true), b',');
        assert_eq!(sniff(b"a;b;c\n1,5;2,5;3\n", true), b';');
        assert_eq!(sniff(b"a\tb\n1\t2\n", true), b'\t');
        assert_eq!(sniff(b"a|b\n1|2\n", true), b'|');
        assert_eq!(sniff(b"name\nalice\n", true), b',');
    }

    #[test]
    fn sniffing_respects_quotes_and_ignores_a_cut_last_line() {
        assert_eq!(sniff(b"\"a;b\",c\n\"1;2;3\",4\n\"x;y\",z\n", true), b',');
        assert_eq!(sniff(b"a;b\n1;2\n3;4\n5,6,7,8,9,1", false), b';');
    }

    #[test]
    fn a_character_split_between_fields_is_invalid_utf8() {
        let record = ByteRecord::from(vec![&b"ok\xC3"[..], &b"\xA9"[..]]);
        assert_eq!(invalid_utf8_field(&record), Some(0));
        let record = ByteRecord::from(vec![&b"caf\xC3\xA9"[..], &b"ok"[..]]);
        assert_eq!(invalid_utf8_field(&record), None);
    }
}
