//! Objects for code on blocking threads (parsers, spreadsheet writers): synchronous
//! `Read`/`Write` over the async streams, stopping when a job is told to stop.

use super::ObjectWriter;
use std::io::{self, Read};
use tokio::io::AsyncRead;
use tokio_util::io::SyncIoBridge;
use tokio_util::sync::CancellationToken;

/// Buffer between a blocking parser or writer and an object stream.
pub const BUFFER_BYTES: usize = 256 * 1024;

/// A blocking reader over an object, failing once `stop` is cancelled. Create it on the
/// runtime, use it on a blocking thread.
pub fn reader(inner: impl AsyncRead + Unpin + Send + 'static, stop: CancellationToken) -> impl Read + Send {
    io::BufReader::with_capacity(BUFFER_BYTES, StopOnCancel { inner: SyncIoBridge::new(inner), stop })
}

/// A blocking writer into an object; hand it back with `into_inner` to finish or abort.
pub fn writer(inner: ObjectWriter) -> SyncIoBridge<ObjectWriter> {
    SyncIoBridge::new(inner)
}

struct StopOnCancel<R> {
    inner: R,
    stop: CancellationToken,
}

impl<R: Read> Read for StopOnCancel<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stop.is_cancelled() {
            // Not `Interrupted`: readers retry that one.
            return Err(io::Error::other("stopped: the job was cancelled or its worker is shutting down"));
        }
        self.inner.read(buf)
    }
}
