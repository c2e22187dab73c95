//! Delimited records read with csv-core straight from our own buffer, so that each record comes
//! with the raw bytes it was read from and the line it starts on. With the raw bytes, a record the
//! import does not change is copied to the output as it came instead of being written again field
//! by field (most of the cost of a parse), and line numbers are counted, not guessed.

use std::io::{self, Read};

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

/// How much input is read at a time; a record longer than this grows the buffer.
const BUFFER: usize = 64 << 10;

/// One record: its fields, the bytes it was read from, and where it starts.
pub(crate) struct Record<'a> {
    pub(crate) fields: Fields<'a>,
    /// The bytes it was read from, from its first field to its terminator (a CR's line feed, if
    /// any, comes with the next record, and is dropped there with the empty lines before it).
    pub(crate) raw: &'a [u8],
    /// The line the record's first field starts on, 1-based, in the stream read.
    pub(crate) line: u64,
}

/// A record's fields as csv-core leaves them: their bytes back to back, and where each ends.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) ends: &'a [usize],
}

impl<'a> Fields<'a> {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn get(&self, i: usize) -> &'a [u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a [u8]> + Clone + 'a {
        let Fields { data, ends } = *self;
        ends.iter().scan(0, move |start, &end| {
            let field = &data[*start..end];
            *start = end;
            Some(field)
        })
    }
}

pub(crate) struct RawRecords<R> {
    input: R,
    core: Reader,
    buf: Vec<u8>,
    /// `buf[start..end]` is read but not yet parsed.
    start: usize,
    end: usize,
    eof: bool,
    data: Vec<u8>,
    ends: Vec<usize>,
    /// Line feeds before `start` (csv-core's count, kept across its resets).
    lines: u64,
}

impl<R: Read> RawRecords<R> {
    pub(crate) fn new(input: R, delimiter: u8) -> Self {
        RawRecords {
            input,
            core: ReaderBuilder::new().delimiter(delimiter).build(),
            buf: vec![0; BUFFER],
            start: 0,
            end: 0,
            eof: false,
            data: vec![0; 1024],
            ends: vec![0; 64],
            lines: 0,
        }
    }

    /// The next record, or `None` at the end of the input.
    pub(crate) fn next(&mut self) -> io::Result<Option<Record<'_>>> {
        let (mut out, mut fields, mut parsed) = (0, 0, 0);
        loop {
            // csv-core takes an empty input for the end of the file: read more first
            if self.start + parsed == self.end && !self.eof && !self.refill(parsed)? {
                self.core.reset();
                self.core.set_line(self.lines + 1);
                (out, fields, parsed) = (0, 0, 0);
            }
            let input = &self.buf[self.start + parsed..self.end];
            let (result, nin, nout, nend) =
                self.core.read_record(input, &mut self.data[out..], &mut self.ends[fields..]);
            parsed += nin;
            out += nout;
            fields += nend;
            match result {
                // more input is read at the top of the loop; a record moved to the front of the
                // buffer to make room is parsed again from its start
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => self.data.resize(self.data.len() * 2, 0),
                ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                ReadRecordResult::Record => {
                    let read = &self.buf[self.start..self.start + parsed];
                    let lead = read.iter().take_while(|&&b| b == b'\n' || b == b'\r').count();
                    let line = self.lines + 1 + read[..lead].iter().filter(|&&b| b == b'\n').count() as u64;
                    // csv-core counts the line feeds it reads, as a 1-based line
                    self.lines = self.core.line() - 1;
                    let raw = &read[lead..];
                    self.start += parsed;
                    let fields = Fields { data: &self.data[..out], ends: &self.ends[..fields] };
                    return Ok(Some(Record { fields, raw, line }));
                }
                ReadRecordResult::End => return Ok(None),
            }
        }
    }

    /// More input after the `parsed` bytes of a record in progress. `Ok(true)` when the buffer
    /// could be filled in place (parsing goes on); `Ok(false)` when the record had to be moved to
    /// the front of the buffer first, to be parsed again. At the end of the input, csv-core is
    /// given an empty slice, which ends the last record.
    fn refill(&mut self, parsed: usize) -> io::Result<bool> {
        if self.eof {
            return Ok(true);
        }
        let mut in_place = true;
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                (self.end, self.start) = (self.end - self.start, 0);
                in_place = false;
            } else {
                let grown = self.buf.len() * 2;
                self.buf.resize(grown, 0);
            }
        }
        let n = self.input.read(&mut self.buf[self.end..])?;
        self.end += n;
        self.eof = n == 0;
        // a record cut by the end of the input is parsed whole either way
        Ok(in_place || parsed == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::RawRecords;

    fn all(input: &[u8], buffer: usize) -> Vec<(u64, Vec<String>, String)> {
        let mut records = RawRecords::new(input, b',');
        records.buf = vec![0; buffer];
        let mut out = Vec::new();
        while let Some(record) = records.next().expect("reads") {
            let fields = record.fields.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
            out.push((record.line, fields, String::from_utf8_lossy(record.raw).into_owned()));
        }
        out
    }

    #[test]
    fn records_come_with_their_raw_bytes_and_first_line() {
        let input = b"a,b\r\n\r\n\"x\ny\",2\r\n3,\"q\"\"q\"\n4";
        let expected = vec![
            (1, vec!["a".into(), "b".into()], "a,b\r".into()),
            (3, vec!["x\ny".into(), "2".into()], "\"x\ny\",2\r".into()),
            (5, vec!["3".into(), "q\"q".into()], "3,\"q\"\"q\"\n".into()),
            (6, vec!["4".into()], "4".into()),
        ];
        assert_eq!(all(input, 64 << 10), expected);
        // the same with records cut at every buffer boundary
        for buffer in [1, 2, 3, 5, 7] {
            assert_eq!(all(input, buffer), expected, "buffer of {buffer}");
        }
    }

    #[test]
    fn an_empty_input_has_no_records() {
        assert!(all(b"", 8).is_empty());
        assert!(all(b"\n\n", 8).is_empty());
    }
}
