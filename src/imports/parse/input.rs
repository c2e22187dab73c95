//! The upload stream as the parsers see it: counted for progress, and cut off when one record grows
//! past `MAX_RECORD_BYTES` so that an unclosed quote cannot make a parser buffer the whole file.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

/// Progress is reported about this often (bytes of input).
const PROGRESS_STEP: u64 = 1 << 20;

/// The largest single row (or JSON object) we buffer.
pub(crate) const MAX_RECORD_BYTES: u64 = 16 << 20;

pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Shared between the reader and its parser: the parser marks where each record ended, the reader
/// stops (reports end of input) once it has read `MAX_RECORD_BYTES` past the last mark.
#[derive(Default)]
pub(crate) struct Meter {
    read: Cell<u64>,
    mark: Cell<u64>,
    tripped: Cell<bool>,
}

impl Meter {
    /// A record ended here.
    pub(crate) fn mark(&self) {
        self.mark.set(self.read.get());
    }

    /// Whether the input was cut off because a record is too long; the parser must then not trust
    /// what it read last.
    pub(crate) fn tripped(&self) -> bool {
        self.tripped.get()
    }
}

pub(crate) struct Metered<'p, R> {
    inner: R,
    meter: Rc<Meter>,
    total: u64,
    next_report: u64,
    progress: &'p mut dyn FnMut(f64),
}

impl<'p, R: Read> Metered<'p, R> {
    pub(crate) fn new(inner: R, total: u64, progress: &'p mut dyn FnMut(f64), meter: Rc<Meter>) -> Self {
        Metered { inner, meter, total, next_report: PROGRESS_STEP, progress }
    }
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let meter = &self.meter;
        if meter.tripped.get() {
            return Ok(0);
        }
        if meter.read.get() - meter.mark.get() > MAX_RECORD_BYTES {
            meter.tripped.set(true);
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        let read = meter.read.get() + n as u64;
        meter.read.set(read);
        if read >= self.next_report {
            (self.progress)(fraction(read, self.total));
            self.next_report = read + PROGRESS_STEP;
        }
        Ok(n)
    }
}

pub(crate) fn fraction(done: u64, total: u64) -> f64 {
    if total == 0 { 0.0 } else { (done as f64 / total as f64).clamp(0.0, 1.0) }
}

/// The message for a record cut off by the meter.
pub(crate) fn too_long(line: u64, what: &str) -> super::ParseError {
    super::invalid(format!(
        "line {line}: {what} is longer than {} MiB — is a quote or bracket left open?",
        MAX_RECORD_BYTES >> 20
    ))
}

#[cfg(test)]
mod tests {
    use super::{MAX_RECORD_BYTES, Meter, Metered};
    use std::io::{self, Read};
    use std::rc::Rc;

    #[test]
    fn progress_is_reported_about_every_mebibyte() {
        let data = vec![b'x'; 3 << 20];
        let mut seen = Vec::new();
        let mut progress = |f: f64| seen.push(f);
        let meter = Rc::new(Meter::default());
        let mut reader = Metered::new(&data[..], data.len() as u64, &mut progress, Rc::clone(&meter));
        let mut buf = [0u8; 64 << 10];
        while reader.read(&mut buf).expect("reads") > 0 {
            meter.mark();
        }
        assert_eq!(seen.len(), 3);
        assert!((seen[0] - 1.0 / 3.0).abs() < 0.01);
        assert!((seen[2] - 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn reading_stops_when_no_record_ends_for_too_long() {
        let data = vec![b'x'; 2 * MAX_RECORD_BYTES as usize];
        let mut progress = |_: f64| {};
        let meter = Rc::new(Meter::default());
        let mut reader = Metered::new(&data[..], 0, &mut progress, Rc::clone(&meter));
        let copied = io::copy(&mut reader, &mut io::sink()).expect("reads");
        assert!(meter.tripped());
        assert!(copied <= MAX_RECORD_BYTES + (64 << 10), "{copied}");
    }
}
