//! JSON Lines: one object per row, keys in the dataset's column order, numbers as written.

use super::cell::Cell;
use super::{PROGRESS_ROWS, WriteError};
use crate::imports::parse::Column;
use std::io::{Read, Write};

pub(super) fn write<R: Read>(
    columns: &[Column],
    reader: &mut csv::Reader<R>,
    mut out: impl Write,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, WriteError> {
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, &mut out);
    // Written by hand rather than through a map: serde_json's sorts its keys.
    let keys: Vec<String> = columns.iter().map(|c| json_string(&c.name)).collect();
    let mut record = csv::StringRecord::new();
    let mut done: u64 = 0;
    while reader.read_record(&mut record)? {
        out.write_all(b"{")?;
        for (i, ((column, key), value)) in columns.iter().zip(&keys).zip(record.iter()).enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(key.as_bytes())?;
            out.write_all(b":")?;
            match Cell::of(column.column_type, value) {
                Cell::Empty => out.write_all(b"null")?,
                Cell::Bool(b) => out.write_all(if b { b"true" } else { b"false" })?,
                Cell::Number(n) => out.write_all(n.as_bytes())?,
                Cell::Date(..) | Cell::Text(_) => out.write_all(json_string(value).as_bytes())?,
            }
        }
        out.write_all(b"}\n")?;
        done += 1;
        if done.is_multiple_of(PROGRESS_ROWS) {
            progress(done);
        }
    }
    out.flush()?;
    progress(done);
    Ok(done)
}

fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}
