//! JSON Lines and JSON arrays of objects: each object becomes a row, its keys mapped onto the first
//! object's keys (which fix the columns, in file order).
//!
//! Arrays are streamed element by element through serde visitors, never collected; objects are read
//! as key/raw-value pairs so that key order and number text survive as written.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};

use csv::ByteRecord;
use serde::de::{self, DeserializeSeed, Deserializer as _, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::input::{self, BOM, Meter};
use super::sink::{RowSink, column_names};
use super::{ParseError, Parsed, invalid};

pub(crate) fn parse_lines<R: Read, W: Write>(input: R, meter: &Meter, out: W) -> Result<Parsed, ParseError> {
    lines(BufReader::with_capacity(64 << 10, input), 0, meter, out)
}

/// JSON Lines from `reader`, whose first line is the file's line `skipped + 1`.
fn lines<W: Write>(mut reader: impl BufRead, skipped: u64, meter: &Meter, out: W) -> Result<Parsed, ParseError> {
    let mut objects = Objects::new(out);
    let mut line = Vec::new();
    let mut line_no = skipped;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if meter.tripped() {
            return Err(input::too_long(line_no + 1, "the line"));
        }
        if n == 0 {
            break;
        }
        meter.mark();
        line_no += 1;
        let text = if line_no == 1 { line.strip_prefix(BOM).unwrap_or(&line) } else { &line[..] };
        if text.trim_ascii().is_empty() {
            continue;
        }
        let mut json = serde_json::Deserializer::from_slice(text);
        let parsed = json.deserialize_any(Element(&mut objects)).and_then(|()| json.end());
        if let Err(error) = parsed {
            return Err(objects.error(error, Offset { lines: line_no - 1, columns: 0 }));
        }
    }
    objects.finish()
}

/// A JSON array of objects, or, when the file starts with an object, JSON Lines (a `.json` name is
/// common for those).
pub(crate) fn parse_array<R: Read, W: Write>(input: R, meter: &Meter, out: W) -> Result<Parsed, ParseError> {
    let mut reader = BufReader::with_capacity(64 << 10, input);
    let Some(offset) = skip_leading_whitespace(&mut reader)? else {
        return Err(invalid("the file is empty"));
    };
    let first = reader.fill_buf()?.first().copied();
    if first == Some(b'{') {
        let mut parsed = lines(reader, offset.lines, meter, out).map_err(|e| match e {
            ParseError::Invalid(message) => invalid(format!(
                "{message} — this .json file starts with an object, so it was read as JSON Lines (one object \
                 per line); a single object is not a table: wrap the objects in [ ]"
            )),
            other => other,
        })?;
        parsed.read_as.format = Some(super::FileFormat::Jsonl);
        return Ok(parsed);
    }
    if first != Some(b'[') {
        let found = first.map_or("nothing", kind_of);
        let (line, column) = offset.locate(1, 1);
        return Err(invalid(format!("line {line}, column {column}: expected a JSON array of objects, found {found}")));
    }
    let mut objects = Objects::new(out);
    let mut json = serde_json::Deserializer::from_reader(reader);
    let parsed = json.deserialize_seq(Array { objects: &mut objects, meter }).and_then(|()| json.end());
    if let Err(error) = parsed {
        if meter.tripped() {
            return Err(input::too_long(offset.locate(error.line(), 0).0, "one element"));
        }
        return Err(objects.error(error, offset));
    }
    objects.finish()
}

/// Where serde_json's line 1, column 1 is in the file.
#[derive(Clone, Copy)]
struct Offset {
    lines: u64,
    columns: u64,
}

impl Offset {
    fn locate(self, line: usize, column: usize) -> (u64, u64) {
        let (line, column) = (line as u64, column as u64);
        if line == 1 { (line + self.lines, column + self.columns) } else { (line + self.lines, column) }
    }
}

/// Drops a BOM and whitespace, counting what was dropped; `None` when nothing else is there.
fn skip_leading_whitespace(reader: &mut impl BufRead) -> io::Result<Option<Offset>> {
    if reader.fill_buf()?.starts_with(BOM) {
        reader.consume(BOM.len());
    }
    let mut offset = Offset { lines: 0, columns: 0 };
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        let blank = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        for &b in &buf[..blank] {
            if b == b'\n' {
                offset.lines += 1;
                offset.columns = 0;
            } else {
                offset.columns += 1;
            }
        }
        let done = blank < buf.len();
        reader.consume(blank);
        if done {
            return Ok(Some(offset));
        }
    }
}

fn kind_of(first_byte: u8) -> &'static str {
    match first_byte {
        b'{' => "an object",
        b'[' => "an array",
        b'"' => "a string",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        b'-' | b'0'..=b'9' => "a number",
        _ => "something that is not JSON",
    }
}

/// Why the visitors stopped, kept aside because serde's error type only carries a message; the
/// position comes from serde_json's error.
enum Stop {
    Invalid(String),
    Failed(ParseError),
}

/// The rows' state across objects: the columns once the first object has fixed them.
struct Objects<W: Write> {
    out: Option<W>,
    sink: Option<RowSink<W>>,
    /// The first object's keys as written, for lookups and messages.
    keys: Vec<String>,
    index: HashMap<String, usize>,
    values: Vec<Option<String>>,
    first: Vec<(String, String)>,
    record: ByteRecord,
    stop: Option<Stop>,
}

impl<W: Write> Objects<W> {
    fn new(out: W) -> Self {
        Objects {
            out: Some(out),
            sink: None,
            keys: Vec::new(),
            index: HashMap::new(),
            values: Vec::new(),
            first: Vec::new(),
            record: ByteRecord::new(),
            stop: None,
        }
    }

    fn field(&mut self, key: String, value: &RawValue) -> Result<(), Stop> {
        let text = render(value).map_err(|e| Stop::Invalid(e.to_string()))?;
        if self.sink.is_none() {
            if self.first.iter().any(|(k, _)| *k == key) {
                return Err(Stop::Invalid(format!("key \"{key}\" appears twice in the object")));
            }
            self.first.push((key, text));
            return Ok(());
        }
        let Some(&i) = self.index.get(&key) else {
            return Err(self.unknown_key(&key));
        };
        if self.values[i].replace(text).is_some() {
            return Err(Stop::Invalid(format!("key \"{key}\" appears twice in the object")));
        }
        Ok(())
    }

    fn end_object(&mut self) -> Result<(), Stop> {
        if let Some(sink) = &mut self.sink {
            self.record.clear();
            for value in &mut self.values {
                self.record.push_field(value.take().unwrap_or_default().as_bytes());
            }
            return sink.push(&self.record).map_err(Stop::Failed);
        }
        if self.first.is_empty() {
            return Err(Stop::Invalid("the first object has no keys, so there are no columns".into()));
        }
        let (keys, values): (Vec<String>, Vec<String>) = std::mem::take(&mut self.first).into_iter().unzip();
        let names = column_names(keys.iter().cloned()).map_err(Stop::Invalid)?;
        let out =
            self.out.take().ok_or_else(|| Stop::Failed(io::Error::other("the output was already taken").into()))?;
        let mut sink = RowSink::new(names, super::Ragged::Pad, out).map_err(Stop::Failed)?;
        let row: ByteRecord = values.iter().map(String::as_bytes).collect();
        sink.push(&row).map_err(Stop::Failed)?;
        self.index = keys.iter().cloned().enumerate().map(|(i, key)| (key, i)).collect();
        self.values = vec![None; keys.len()];
        self.keys = keys;
        self.sink = Some(sink);
        Ok(())
    }

    fn unknown_key(&self, key: &str) -> Stop {
        const SHOWN: usize = 8;
        let mut list = self.keys.iter().take(SHOWN).map(String::as_str).collect::<Vec<_>>().join(", ");
        if self.keys.len() > SHOWN {
            list.push_str(", …");
        }
        Stop::Invalid(format!("key \"{key}\" is not in the first object's keys ({list})"))
    }

    fn error(&mut self, error: serde_json::Error, offset: Offset) -> ParseError {
        let (line, column) = offset.locate(error.line(), error.column());
        match self.stop.take() {
            Some(Stop::Failed(failure)) => failure,
            Some(Stop::Invalid(message)) => invalid(format!("line {line}: {message}")),
            None if error.is_io() => ParseError::Io(error.into()),
            None => {
                // serde_json's text ends in " at line L column C", which we say our own way
                let text = error.to_string();
                let message = text.rsplit_once(" at line ").map_or(text.as_str(), |(message, _)| message);
                // serde_json's words for a string's bytes that are not UTF-8
                let message = if message == "invalid unicode code point" { super::NOT_UTF8 } else { message };
                invalid(format!("line {line}, column {column}: {message}"))
            }
        }
    }

    fn finish(self) -> Result<Parsed, ParseError> {
        self.sink.ok_or_else(|| invalid("the file is empty"))?.finish()
    }
}

/// A value as text: strings unquoted, numbers as written, null empty, arrays and objects as compact JSON.
fn render(value: &RawValue) -> Result<String, serde_json::Error> {
    let text = value.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str(text),
        Some(b'n') => Ok(String::new()),
        Some(b'[' | b'{') => Ok(compact(text)),
        _ => Ok(text.to_owned()),
    }
}

/// Valid JSON without the whitespace between tokens; unlike a round trip through `Value`, this
/// keeps key order and number text.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if !c.is_ascii_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// The top-level array: each element is handled as it arrives.
struct Array<'a, W: Write> {
    objects: &'a mut Objects<W>,
    meter: &'a Meter,
}

impl<'de, W: Write> Visitor<'de> for Array<'_, W> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Element(&mut *self.objects))?.is_some() {
            self.meter.mark();
        }
        Ok(())
    }
}

/// One array element or JSON line, which must be an object.
struct Element<'a, W: Write>(&'a mut Objects<W>);

impl<'de, W: Write> DeserializeSeed<'de> for Element<'_, W> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<W: Write> Element<'_, W> {
    fn stop<E: de::Error>(self, stop: Stop) -> E {
        self.0.stop = Some(stop);
        E::custom("stopped")
    }

    fn not_an_object<E: de::Error>(self, found: &str) -> Result<(), E> {
        Err(self.stop(Stop::Invalid(format!("expected a JSON object, found {found}"))))
    }
}

impl<'de, W: Write> Visitor<'de> for Element<'_, W> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            // checked before the value is read, so that the error points at the key
            if self.0.sink.is_some() && !self.0.index.contains_key(&key) {
                let unknown = self.0.unknown_key(&key);
                return Err(self.stop(unknown));
            }
            let value: Box<RawValue> = map.next_value()?;
            if let Err(stop) = self.0.field(key, &value) {
                return Err(self.stop(stop));
            }
        }
        match self.0.end_object() {
            Ok(()) => Ok(()),
            Err(stop) => Err(self.stop(stop)),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_an_object("an array")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_object("a string")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_object("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_object("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_object("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_object("a number")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_an_object("null")
    }
}

#[cfg(test)]
mod tests {
    use super::compact;

    #[test]
    fn compacting_keeps_strings_key_order_and_number_text() {
        assert_eq!(compact("{ \"b\" : [1.50, 2e3],\n \"a\": \"x \\\" y\" }"), "{\"b\":[1.50,2e3],\"a\":\"x \\\" y\"}");
    }
}
