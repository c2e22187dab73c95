//! Object storage for uploaded files, parsed rows and exports: a local directory by default,
//! any S3-compatible store (MinIO, AWS) by configuration — one API through `object_store`.
//! Everything streams: nothing here holds a whole object in memory.

pub mod blocking;
mod leftovers;

pub use leftovers::Swept;

use anyhow::Context;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use uuid::Uuid;

/// Multipart part size: S3's smallest, so a writer holds little (parts in flight × this).
const PART_BYTES: usize = 5 * 1024 * 1024;
/// Parts uploaded at once by one writer.
const PARTS_IN_FLIGHT: usize = 2;

pub type ObjectResult<T> = Result<T, object_store::Error>;

/// The file as uploaded, under a key of its job's id: a client's file name never reaches
/// a key, so no name can escape this prefix.
pub fn raw_key(job_id: Uuid) -> String {
    format!("raw/{job_id}")
}

/// A dataset's parsed rows, as CSV with a header line.
pub fn rows_key(dataset_id: Uuid) -> String {
    format!("rows/{dataset_id}.csv")
}

/// An export job's file.
pub fn export_key(job_id: Uuid, extension: &str) -> String {
    format!("exports/{job_id}.{extension}")
}

/// Chunk size when reading a local object: object_store's local reads are 8 KiB each, one
/// blocking-pool hop apiece, which caps a parser at about 50 MB/s.
const LOCAL_READ_BYTES: usize = 256 * 1024;

#[derive(Clone)]
pub struct Objects {
    store: Arc<dyn ObjectStore>,
    /// The directory of a local store: its objects are read as plain files.
    local_root: Option<PathBuf>,
    described: String,
}

impl Objects {
    /// `spec` empty: a directory `objects` under `data_dir`. `s3://bucket[/prefix]`: an
    /// S3-compatible store configured by the standard `AWS_*` variables (`AWS_ENDPOINT`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`).
    pub fn open(spec: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        match spec.filter(|s| !s.is_empty()) {
            None => Self::local(&data_dir.join("objects")),
            Some(url) if url.starts_with("s3://") => Self::s3(url, &[]),
            Some(other) => anyhow::bail!("unsupported object store '{other}' (expected s3://bucket[/prefix])"),
        }
    }

    pub fn local(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let store = LocalFileSystem::new_with_prefix(dir).with_context(|| format!("opening {}", dir.display()))?;
        let root = dir.canonicalize().with_context(|| format!("opening {}", dir.display()))?;
        Ok(Self { store: Arc::new(store), local_root: Some(root), described: format!("directory {}", dir.display()) })
    }

    /// `s3://bucket[/prefix]`, configured from the `AWS_*` environment, then `settings`
    /// (object_store's S3 keys, e.g. `("aws_endpoint", "http://…")`).
    pub fn s3(url: &str, settings: &[(&str, &str)]) -> anyhow::Result<Self> {
        let rest = url.trim_start_matches("s3://");
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        anyhow::ensure!(!bucket.is_empty(), "object store '{url}' names no bucket");
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (key, value) in settings {
            let key: AmazonS3ConfigKey = key.parse().with_context(|| format!("unknown S3 setting {key}"))?;
            builder = builder.with_config(key, *value);
        }
        let s3 = builder.build().context("configuring S3")?;
        let prefix = prefix.trim_matches('/');
        let store: Arc<dyn ObjectStore> = match prefix {
            "" => Arc::new(s3),
            p => Arc::new(PrefixStore::new(s3, p)),
        };
        Ok(Self { store, local_root: None, described: format!("s3://{bucket}/{prefix}") })
    }

    /// Any other `object_store` implementation, read and written only through it (tests wrap
    /// one to make it fail as a real store would).
    pub fn custom(store: Arc<dyn ObjectStore>, described: impl Into<String>) -> Self {
        Self { store, local_root: None, described: described.into() }
    }

    /// Removes what writers stopped by a crash left half-written (a local store's staging
    /// files older than `older_than`); S3 keeps no such files. Logged when it finds any.
    pub async fn remove_leftovers(&self, older_than: std::time::Duration) -> anyhow::Result<Swept> {
        let Some(root) = self.local_root.clone() else { return Ok(Swept::default()) };
        let swept = tokio::task::spawn_blocking(move || leftovers::remove_stale(&root, older_than)).await??;
        if swept.files > 0 {
            tracing::info!(files = swept.files, bytes = swept.bytes, "removed half-written files a crash left behind");
        }
        Ok(swept)
    }

    /// Where objects go, for logs.
    pub fn describe(&self) -> &str {
        &self.described
    }

    /// A streaming writer; the object appears only once [`ObjectWriter::finish`] succeeds.
    pub fn writer(&self, key: &str) -> ObjectWriter {
        let inner = BufWriter::with_capacity(self.store.clone(), Key::from(key), PART_BYTES)
            .with_max_concurrency(PARTS_IN_FLIGHT);
        ObjectWriter { inner, written: 0 }
    }

    /// The object's size and its bytes as a stream.
    pub async fn stream(&self, key: &str) -> ObjectResult<(u64, BoxStream<'static, ObjectResult<Bytes>>)> {
        if let Some(path) = self.local_path(key) {
            let file = tokio::fs::File::open(&path).await.map_err(|e| local_error(key, e))?;
            let size = file.metadata().await.map_err(|e| local_error(key, e))?.len();
            let owned = key.to_owned();
            let chunks = tokio_util::io::ReaderStream::with_capacity(file, LOCAL_READ_BYTES)
                .map_err(move |e| local_error(&owned, e));
            return Ok((size, chunks.boxed()));
        }
        let got = self.store.get(&Key::from(key)).await?;
        let size = got.meta.size;
        Ok((size, got.into_stream()))
    }

    /// The object as an `AsyncRead`.
    pub async fn reader(&self, key: &str) -> ObjectResult<impl AsyncRead + Send + Unpin + 'static> {
        let (_, stream) = self.stream(key).await?;
        Ok(tokio_util::io::StreamReader::new(stream.map_err(std::io::Error::other)))
    }

    /// Where a local store keeps `key` (our keys are plain relative paths, stored as they
    /// are). A key that could leave the directory gets `None`, and goes through
    /// object_store, which encodes such segments.
    pub(crate) fn local_path(&self, key: &str) -> Option<PathBuf> {
        let plain = Path::new(key).components().all(|c| matches!(c, std::path::Component::Normal(_)));
        self.local_root.as_ref().filter(|_| plain && !key.is_empty()).map(|root| root.join(key))
    }

    pub async fn size(&self, key: &str) -> ObjectResult<Option<u64>> {
        match self.store.head(&Key::from(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Delete; an object already gone is not an error.
    pub async fn delete(&self, key: &str) -> ObjectResult<()> {
        match self.store.delete(&Key::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Delete, logging instead of failing: for cleanup after another error.
    pub async fn discard(&self, key: &str) {
        if let Err(e) = self.delete(key).await {
            tracing::warn!(key, error = %e, "could not delete object");
        }
    }

    /// Copy the object into a local file (for formats that need to seek, like XLSX).
    pub async fn download(&self, key: &str, to: &Path) -> anyhow::Result<u64> {
        let mut reader = self.reader(key).await?;
        let mut file = tokio::fs::File::create(to).await?;
        let copied = tokio::io::copy(&mut reader, &mut file).await?;
        file.flush().await?;
        Ok(copied)
    }

    /// Store a local file's content under `key`, streaming.
    pub async fn upload(&self, from: &Path, key: &str) -> anyhow::Result<u64> {
        let file = tokio::fs::File::open(from).await?;
        let mut chunks = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
        let mut writer = self.writer(key);
        while let Some(chunk) = chunks.next().await {
            match chunk {
                Ok(bytes) => writer.put(bytes).await?,
                Err(e) => {
                    writer.abort().await;
                    return Err(e.into());
                }
            }
        }
        Ok(writer.finish().await?)
    }
}

/// Whether `err` — an object store's, or an I/O error — says the store is out of space: ENOSPC
/// (`StorageFull`) or a quota (`QuotaExceeded`) anywhere in its chain of causes. The one place
/// that decides it; an upload maps it to 507 and fails its job saying so.
pub fn is_storage_full(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if matches!(io.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded) {
                return true;
            }
            // `io::Error::source` skips the error it wraps; look at that one too.
            if io.get_ref().is_some_and(|inner| is_storage_full(inner)) {
                return true;
            }
        }
        next = err.source();
    }
    false
}

fn local_error(key: &str, e: std::io::Error) -> object_store::Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => object_store::Error::NotFound { path: key.to_owned(), source: Box::new(e) },
        _ => object_store::Error::Generic { store: "LocalFileSystem", source: Box::new(e) },
    }
}

/// A streaming upload of one object. Dropped without `finish`, nothing is stored on a local
/// directory; call [`ObjectWriter::abort`] so an S3 multipart upload is removed too.
pub struct ObjectWriter {
    inner: BufWriter,
    written: u64,
}

impl ObjectWriter {
    pub async fn put(&mut self, bytes: Bytes) -> ObjectResult<()> {
        self.written += bytes.len() as u64;
        self.inner.put(bytes).await
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// Complete the object; returns its size.
    pub async fn finish(mut self) -> ObjectResult<u64> {
        self.inner
            .shutdown()
            .await
            .map_err(|e| object_store::Error::Generic { store: "writer", source: Box::new(e) })?;
        Ok(self.written)
    }

    /// Give up: remove whatever was sent so far.
    pub async fn abort(mut self) {
        if let Err(e) = self.inner.abort().await {
            tracing::warn!(error = %e, "could not abort an object upload");
        }
    }
}

/// For writers on blocking threads (`tokio_util::io::SyncIoBridge`): parsers and exporters.
impl AsyncWrite for ObjectWriter {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            self.written += n as u64;
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_cannot_reach_outside_the_local_directory_as_a_plain_file() {
        let dir = std::env::temp_dir().join(format!("jobwatch-objects-unit-{}", Uuid::new_v4().simple()));
        let objects = Objects::local(&dir).unwrap();
        assert!(objects.local_path("raw/abc").is_some_and(|p| p.starts_with(dir.canonicalize().unwrap())));
        for key in ["../secret", "raw/../../x", "/etc/passwd", ""] {
            assert_eq!(objects.local_path(key), None, "{key}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_full_disk_is_found_however_deep_the_store_wrapped_it() {
        let enospc = || std::io::Error::from_raw_os_error(28);
        let local = object_store::Error::Generic { store: "LocalFileSystem", source: Box::new(enospc()) };
        assert!(is_storage_full(&local));
        // What a writer's shutdown hands back: the store's error inside an io::Error, inside ours.
        let shutdown = std::io::Error::other(local);
        assert!(is_storage_full(&object_store::Error::Generic { store: "writer", source: Box::new(shutdown) }));
        assert!(is_storage_full(&std::io::Error::from_raw_os_error(122))); // EDQUOT
        let other = object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(std::io::Error::from_raw_os_error(13)),
        };
        assert!(!is_storage_full(&other));
    }
}
