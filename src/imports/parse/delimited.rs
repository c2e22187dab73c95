//! CSV and TSV: the delimiter given or sniffed from the start of the file, then records streamed as
//! raw bytes straight into the row sink.

use std::io::{self, Cursor, Read, Write};

use csv::{ByteRecord, ReaderBuilder};

use super::input::{self, BOM, Meter};
use super::options::{Delimiter, Ragged};
use super::records::{Fields, RawRecords};
use super::sink::{RowSink, column_names};
use super::{NOT_UTF8, ParseError, Parsed, invalid};

/// How much of the file the delimiter is sniffed from.
const SNIFF_BYTES: usize = 64 << 10;

const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// `delimiter` is `None` to sniff it.
pub(crate) fn parse<R: Read, W: Write>(
    mut input: R,
    delimiter: Option<Delimiter>,
    ragged: Ragged,
    meter: &Meter,
    out: W,
) -> Result<Parsed, ParseError> {
    let start = read_start(&mut input)?;
    if start.complete && start.prefix.trim_ascii().is_empty() {
        return Err(invalid("the file is empty"));
    }
    let delimiter = match delimiter {
        Some(given) => given,
        None => {
            let sniffed = sniff(&start.prefix, start.complete);
            one_column_guard(&start.prefix, start.complete, sniffed, start.skipped_lines)?;
            Delimiter::Byte(sniffed)
        }
    };
    let rest: Box<dyn Read> = match delimiter {
        Delimiter::Byte(_) => Box::new(Cursor::new(start.prefix).chain(input)),
        Delimiter::Whitespace => Box::new(Collapsed::new(Cursor::new(start.prefix).chain(input))),
    };
    let byte = match delimiter {
        Delimiter::Byte(byte) => byte,
        Delimiter::Whitespace => SEPARATOR,
    };
    // A comma-separated record that needs no change is copied as it was read.
    let copy_raw = byte == b',';
    let skipped = start.skipped_lines;
    let mut records = RawRecords::new(rest, byte);

    let mut sink = loop {
        let Some(record) = records.next()? else {
            return Err(invalid("the file is empty"));
        };
        let line = record.line + skipped;
        if meter.tripped() {
            return Err(input::too_long(line, "the header"));
        }
        meter.mark();
        if is_blank(record.fields) {
            continue;
        }
        if let Some(column) = invalid_utf8_field(record.fields) {
            return Err(invalid(format!("line {line}, column {}: {NOT_UTF8}", column + 1)));
        }
        let raw = record.fields.iter().map(|name| String::from_utf8_lossy(name).into_owned());
        let names = column_names(raw).map_err(|message| invalid(format!("line {line}: {message}")))?;
        break RowSink::new(names, ragged, out)?;
    };

    let width = sink.width();
    let mut last_line = 0;
    while let Some(record) = records.next()? {
        let line = record.line + skipped;
        last_line = line;
        if meter.tripped() {
            return Err(input::too_long(line, "one row"));
        }
        meter.mark();
        if is_blank(record.fields) {
            continue;
        }
        if let Some(column) = invalid_utf8_field(record.fields) {
            let name = sink.names().get(column).map_or_else(|| (column + 1).to_string(), |n| format!("\"{n}\""));
            return Err(invalid(format!("line {line}, column {name}: {NOT_UTF8}")));
        }
        if record.fields.len() == width {
            sink.push_fields(record.fields, copy_raw.then_some(record.raw))?;
        } else {
            let mut row: ByteRecord = record.fields.iter().collect();
            sink.fit(&mut row, line)?;
            sink.push(&row)?;
        }
    }
    if meter.tripped() {
        return Err(input::too_long(last_line.max(1), "one row"));
    }
    let mut parsed = sink.finish()?;
    parsed.read_as.delimiter = Some(delimiter.name());
    Ok(parsed)
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

/// The candidate delimiter that splits the header into several fields and the most sampled lines
/// into as many; ties go to the earlier candidate, and `,` when none splits the header. Matching
/// the header matters: in `sku;price` / `A-1;1,50` the decimal commas split rows alike too.
fn sniff(sample: &[u8], complete: bool) -> u8 {
    let mut best = (b',', 0);
    for delimiter in CANDIDATES {
        let score = lines_like_the_header(sample, complete, delimiter);
        if score > best.1 {
            best = (delimiter, score);
        }
    }
    best.0
}

fn lines_like_the_header(sample: &[u8], complete: bool, delimiter: u8) -> usize {
    let mut reader = ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(sample);
    let mut record = ByteRecord::new();
    let mut counts = Vec::new();
    while let Ok(true) = reader.read_byte_record(&mut record) {
        if !(record.len() == 1 && blank_field(&record[0])) {
            counts.push(record.len());
        }
    }
    if !complete {
        // the sample most likely ends inside a line
        counts.pop();
    }
    match counts.first() {
        Some(&header) if header > 1 => counts.iter().filter(|&&n| n == header).count(),
        _ => 0,
    }
}

/// Characters that may separate a file's columns though no sniffed candidate does.
const GUARD_CANDIDATES: [u8; 9] = [b' ', b':', b'~', b'^', b'#', b'!', b'/', b'*', b'='];

/// Sniffing found no delimiter, so the file reads as one column. When its header and most of its
/// sampled rows hold the same count of another likely separator (or runs of spaces, as in a
/// column-aligned file), that is almost surely a file with columns: refuse it, naming the field
/// to set, rather than import one column silently.
fn one_column_guard(sample: &[u8], complete: bool, sniffed: u8, skipped_lines: u64) -> Result<(), ParseError> {
    let mut lines: Vec<&[u8]> = sample.split(|&b| b == b'\n').filter(|l| !l.trim_ascii().is_empty()).collect();
    if !complete {
        lines.pop();
    }
    let Some((header, rows)) = lines.split_first() else { return Ok(()) };
    if header.contains(&sniffed) || header.contains(&b'"') || rows.is_empty() {
        return Ok(());
    }
    let count = |line: &[u8], c: u8| line.trim_ascii().iter().filter(|&&b| b == c).count();
    let aligned = |line: &[u8]| line.trim_ascii().windows(2).any(|w| w == b"  ");
    let most = |hits: usize| hits * 5 >= rows.len() * 4;
    let line = skipped_lines + 1;
    if aligned(header) && most(rows.iter().filter(|r| aligned(r)).count()) {
        return Err(invalid(format!(
            "line {line}: the header reads as one column, but it and most rows hold runs of spaces, as a \
             column-aligned file does — send delimiter=whitespace to split on them (or delimiter=comma to \
             import one column)"
        )));
    }
    for candidate in GUARD_CANDIDATES {
        let in_header = count(header, candidate);
        if in_header > 0 && most(rows.iter().filter(|r| count(r, candidate) == in_header).count()) {
            let name = Delimiter::Byte(candidate).name();
            return Err(invalid(format!(
                "line {line}: the header reads as one column, but it and most rows hold {in_header} \"{}\" each — \
                 if that separates the columns, send delimiter={name} (or delimiter=comma to import one column)",
                char::from(candidate)
            )));
        }
    }
    Ok(())
}

/// A column-aligned text file read as delimited: runs of spaces and tabs outside quotes become one
/// [`SEPARATOR`], and those at the start or end of a line go.
struct Collapsed<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    in_quotes: bool,
    /// Whether the next byte starts a field (a quote there opens a quoted field).
    field_start: bool,
    /// Whether the last byte closed a quoted field (a quote next is an escaped one: `""`).
    closed: bool,
    line_start: bool,
    gap: bool,
}

/// What [`Collapsed`] puts between fields: the ASCII unit separator, which text files do not hold.
const SEPARATOR: u8 = 0x1F;

impl<R: Read> Collapsed<R> {
    fn new(inner: R) -> Self {
        Collapsed {
            inner,
            buf: Vec::new(),
            pos: 0,
            in_quotes: false,
            field_start: true,
            closed: false,
            line_start: true,
            gap: false,
        }
    }
}

impl<R: Read> Read for Collapsed<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            let mut raw = [0u8; 32 << 10];
            let n = self.inner.read(&mut raw)?;
            if n == 0 {
                return Ok(0);
            }
            self.buf.clear();
            self.pos = 0;
            for &b in &raw[..n] {
                if self.in_quotes {
                    self.buf.push(b);
                    self.in_quotes = b != b'"';
                    self.closed = b == b'"';
                    continue;
                }
                let reopens = std::mem::take(&mut self.closed) && b == b'"';
                match b {
                    b' ' | b'\t' => self.gap = !self.line_start,
                    b'\n' | b'\r' => {
                        self.buf.push(b);
                        (self.gap, self.line_start, self.field_start) = (false, true, true);
                    }
                    _ => {
                        if std::mem::take(&mut self.gap) {
                            self.buf.push(SEPARATOR);
                            self.field_start = true;
                        }
                        self.in_quotes = b == b'"' && (self.field_start || reopens);
                        (self.line_start, self.field_start) = (false, false);
                        self.buf.push(b);
                    }
                }
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A line with nothing but whitespace on it. csv-core already drops empty lines, so a single
/// empty field can only be a quoted `""`: a real value (it is how a one-column empty row is written).
fn is_blank(record: Fields<'_>) -> bool {
    record.len() == 1 && blank_field(record.get(0))
}

fn blank_field(only: &[u8]) -> bool {
    !only.is_empty() && only.trim_ascii().is_empty()
}

/// The index of the first field that is not UTF-8.
fn invalid_utf8_field(record: Fields<'_>) -> Option<usize> {
    // one check over the whole row is much faster than one per field, and ASCII (most rows) is
    // quicker still to tell; a character can only be split between two fields if a field starts
    // with a continuation byte
    if record.data.is_ascii() {
        return None;
    }
    let whole_row_valid = std::str::from_utf8(record.data).is_ok();
    if whole_row_valid && record.iter().all(|field| field.first().is_none_or(|&b| b & 0xC0 != 0x80)) {
        return None;
    }
    record.iter().position(|field| std::str::from_utf8(field).is_err())
}

#[cfg(test)]
mod tests {
    use super::{Collapsed, Fields, invalid_utf8_field, one_column_guard, sniff};
    use std::io::Read;

    #[test]
    fn aligned_columns_collapse_to_one_separator_outside_quotes() {
        let mut text = Vec::new();
        let input = &b"  id   name     note\n1    \"a  \"\"b  c\"   x y\r\n"[..];
        Collapsed::new(input).read_to_end(&mut text).expect("reads");
        assert_eq!(text, b"id\x1fname\x1fnote\n1\x1f\"a  \"\"b  c\"\x1fx\x1fy\r\n");
    }

    #[test]
    fn one_column_is_refused_when_another_separator_is_plain_to_see() {
        let message = |sample: &[u8]| one_column_guard(sample, true, b',', 0).err().map(|e| e.to_string());
        assert!(
            message(b"id  name   price\n1   ann    2.50\n2   bob    3\n").unwrap().contains("delimiter=whitespace")
        );
        assert!(message(b"id~name\n1~ann\n2~bob\n").unwrap().contains("send delimiter=~"));
        assert!(message(b"id name price\n1 ann 2.50\n").unwrap().contains("send delimiter=space"));
        // one column whose values happen to hold spaces, and a true one-column file
        assert_eq!(message(b"product name\nbig red ball\nlamp\n"), None);
        assert_eq!(message(b"email\nann@example.com\n"), None);
        assert_eq!(message(b"id,name\n1,a b\n"), None);
    }

    #[test]
    fn the_delimiter_is_the_one_splitting_most_lines_alike() {
        assert_eq!(sniff(b"a,b,c\n1,2,3\n", true), b',');
        assert_eq!(sniff(b"a;b;c\n1,5;2,5;3\n", true), b';');
        assert_eq!(sniff(b"a\tb\n1\t2\n", true), b'\t');
        assert_eq!(sniff(b"a|b\n1|2\n", true), b'|');
        assert_eq!(sniff(b"name\nalice\n", true), b',');
    }

    #[test]
    fn the_delimiter_must_split_the_header_too() {
        // decimal commas split the rows alike, but not the header
        assert_eq!(sniff(b"sku;price\r\nA-1;1,00\r\nA-2;2,00;ask Bob\r\nA-3\r\n", true), b';');
        assert_eq!(sniff(b"id;price;note\n1;2,5;a, b\n2;3,5;c, d\n", true), b';');
    }

    #[test]
    fn sniffing_respects_quotes_and_ignores_a_cut_last_line() {
        assert_eq!(sniff(b"\"a;b\",c\n\"1;2;3\",4\n\"x;y\",z\n", true), b',');
        assert_eq!(sniff(b"a;b\n1;2\n3;4\n5,6,7,8,9,1", false), b';');
    }

    #[test]
    fn a_character_split_between_fields_is_invalid_utf8() {
        let record = Fields { data: b"ok\xC3\xA9", ends: &[3, 4] };
        assert_eq!(invalid_utf8_field(record), Some(0));
        let record = Fields { data: b"caf\xC3\xA9ok", ends: &[5, 7] };
        assert_eq!(invalid_utf8_field(record), None);
    }
}
