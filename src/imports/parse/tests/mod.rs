//! Behaviour of the parsers through the public API, one file per family of formats.

mod delimited;
mod json;
mod throughput;
mod xlsx;

use super::{ColumnType, FileFormat, ParseError, Parsed, ReadOptions, parse_stream};

/// A successful parse with everything it produced.
struct Output {
    parsed: Parsed,
    csv: String,
    progress: Vec<f64>,
}

impl Output {
    fn types(&self) -> Vec<(&str, ColumnType)> {
        self.parsed.columns.iter().map(|c| (c.name.as_str(), c.column_type)).collect()
    }

    /// The output as exports will read it: `csv::Reader` defaults, first line the header.
    fn read_back(&self) -> (Vec<String>, Vec<Vec<String>>) {
        read_back(&self.csv)
    }
}

fn read_back(csv: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().expect("header").iter().map(str::to_owned).collect();
    let rows = reader.records().map(|r| r.expect("record").iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

fn try_parse(format: FileFormat, input: &[u8]) -> Result<Output, ParseError> {
    try_read(format, &ReadOptions::default(), input)
}

fn try_read(format: FileFormat, options: &ReadOptions, input: &[u8]) -> Result<Output, ParseError> {
    let mut csv = Vec::new();
    let mut progress = Vec::new();
    let parsed = parse_stream(format, options, input, input.len() as u64, &mut csv, &mut |f| progress.push(f))?;
    Ok(Output { parsed, csv: String::from_utf8(csv).expect("output is UTF-8"), progress })
}

/// Options from form fields, as an upload sends them.
fn options(fields: &[(&str, &str)]) -> ReadOptions {
    let mut options = ReadOptions::default();
    for (name, value) in fields {
        assert_eq!(options.set(name, value), Ok(true), "{name}={value}");
    }
    options
}

fn parse(format: FileFormat, input: &str) -> Output {
    match try_parse(format, input.as_bytes()) {
        Ok(output) => output,
        Err(e) => panic!("{format:?} input should parse, got: {e}\n{input}"),
    }
}

/// The message of an `Invalid` outcome.
fn refusal(format: FileFormat, input: &[u8]) -> String {
    match try_parse(format, input) {
        Err(ParseError::Invalid(message)) => message,
        Err(other) => panic!("expected Invalid, got {other:?}"),
        Ok(output) => panic!("expected Invalid, got {:?}", output.parsed),
    }
}

fn rows(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter().map(|row| row.iter().map(|s| s.to_string()).collect()).collect()
}
