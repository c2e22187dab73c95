//! Objects for code on blocking threads (parsers, spreadsheet writers): synchronous
//! `Read`/`Write` over the async streams, stopping when a job is told to stop.

use super::{ObjectResult, ObjectWriter, Objects};
use std::io::{self, Read, Write};
use std::path::PathBuf;
use tokio_util::io::SyncIoBridge;
use tokio_util::sync::CancellationToken;

/// Buffer between a blocking parser or writer and an object stream.
pub const BUFFER_BYTES: usize = 256 * 1024;

/// A blocking reader over an object, failing once `stop` is cancelled. Create it on the
/// runtime, use it on a blocking thread. A local object is read as a plain file.
pub async fn reader(objects: &Objects, key: &str, stop: CancellationToken) -> ObjectResult<Box<dyn Read + Send>> {
    let inner: Box<dyn Read + Send> = match objects.local_path(key) {
        Some(path) => Box::new(std::fs::File::open(&path).map_err(|e| super::local_error(key, e))?),
        None => Box::new(SyncIoBridge::new(objects.reader(key).await?)),
    };
    Ok(Box::new(io::BufReader::with_capacity(BUFFER_BYTES, StopOnCancel { inner, stop })))
}

/// A blocking writer into an object: the object appears when [`BlockingWriter::finish`]
/// succeeds, and nothing does after [`BlockingWriter::abort`]. Create it on the runtime.
pub fn writer(objects: &Objects, key: &str) -> io::Result<BlockingWriter> {
    Ok(match objects.local_path(key) {
        // A plain file, renamed into place at the end: no runtime hop per write.
        Some(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let staging = path.with_file_name(format!(".{}.partial", uuid::Uuid::new_v4().simple()));
            let file = io::BufWriter::with_capacity(BUFFER_BYTES, std::fs::File::create(&staging)?);
            BlockingWriter::Local { file, staging, path }
        }
        None => BlockingWriter::Remote {
            bridge: Box::new(io::BufWriter::with_capacity(BUFFER_BYTES, SyncIoBridge::new(objects.writer(key)))),
            runtime: tokio::runtime::Handle::current(),
        },
    })
}

pub enum BlockingWriter {
    Local { file: io::BufWriter<std::fs::File>, staging: PathBuf, path: PathBuf },
    Remote { bridge: Box<io::BufWriter<SyncIoBridge<ObjectWriter>>>, runtime: tokio::runtime::Handle },
}

impl Write for BlockingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            BlockingWriter::Local { file, .. } => file.write(buf),
            BlockingWriter::Remote { bridge, .. } => bridge.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            BlockingWriter::Local { file, .. } => file.flush(),
            BlockingWriter::Remote { bridge, .. } => bridge.flush(),
        }
    }
}

impl BlockingWriter {
    /// Store the object (blocking).
    pub fn finish(self) -> io::Result<()> {
        match self {
            BlockingWriter::Local { file, staging, path } => {
                let done = file
                    .into_inner()
                    .map_err(io::IntoInnerError::into_error)
                    .and_then(|_| std::fs::rename(&staging, &path));
                if done.is_err() {
                    let _ = std::fs::remove_file(&staging);
                }
                done
            }
            BlockingWriter::Remote { bridge, .. } => {
                let mut bridge = (*bridge).into_inner().map_err(io::IntoInnerError::into_error)?;
                bridge.shutdown()
            }
        }
    }

    /// Give up: nothing is stored (blocking).
    pub fn abort(self) {
        match self {
            BlockingWriter::Local { file, staging, .. } => {
                drop(file);
                let _ = std::fs::remove_file(&staging);
            }
            BlockingWriter::Remote { bridge, runtime } => {
                let (bridge, _) = (*bridge).into_parts();
                runtime.block_on(bridge.into_inner().abort());
            }
        }
    }
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
