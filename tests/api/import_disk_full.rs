//! The disk fills while an upload arrives. On a local store on a 2 MiB tmpfs the test mounts
//! itself (as root), and on a store that fails its writes with ENOSPC as an S3 gateway's disk
//! would (an injected error: every machine runs that one). Either way the upload answers 507,
//! leaves no file, fails its job saying the store is full, and the node goes on serving; once
//! there is room again, an upload is stored.

use crate::helpers::{TestApp, contract_tests, test_settings};
use crate::import_helpers::{file_part, text_part};
use async_trait::async_trait;
use axum::http::StatusCode;
use futures_util::stream::BoxStream;
use jobwatch::objects::Objects;
use object_store::memory::InMemory;
use object_store::path::Path as Key;
use object_store::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A size-limited file system of the test's own, unmounted and removed on drop.
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    /// `None`, said loudly, where mounting is not allowed.
    fn mount() -> Option<SmallDisk> {
        let dir = std::env::temp_dir().join(format!("jobwatch-small-disk-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).unwrap();
        let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"]).arg(&dir).output();
        if mounted.as_ref().is_ok_and(|out| out.status.success()) {
            return Some(SmallDisk { dir });
        }
        let _ = std::fs::remove_dir(&dir);
        let why = mounted.map_or_else(|e| e.to_string(), |out| String::from_utf8_lossy(&out.stderr).into_owned());
        eprintln!(
            "{bar}\n#  SKIPPED: cannot mount a 2 MiB tmpfs ({}). A full disk is tested only through the\n#  injected \
             ENOSPC store (store_reporting_enospc); that the partial file is removed is NOT tested.\n{bar}",
            why.trim(),
            bar = "#".repeat(80)
        );
        None
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Every file under `dir`, relative to it.
fn files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            match path.is_dir() {
                true => dirs.push(path),
                false => found.push(path.strip_prefix(dir).unwrap().display().to_string()),
            }
        }
    }
    found
}

/// A store whose writes fail with ENOSPC while `full`, the error wrapped as object_store wraps
/// a local disk's; otherwise an in-memory store.
#[derive(Debug, Default)]
struct FullStore {
    inner: InMemory,
    full: AtomicBool,
}

impl FullStore {
    fn refuse(&self) -> Result<()> {
        match self.full.load(Ordering::SeqCst) {
            true => Err(Error::Generic { store: "FullStore", source: Box::new(std::io::Error::from_raw_os_error(28)) }),
            false => Ok(()),
        }
    }
}

impl std::fmt::Display for FullStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FullStore")
    }
}

#[async_trait]
impl ObjectStore for FullStore {
    async fn put_opts(&self, location: &Key, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        self.refuse()?;
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(&self, location: &Key, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        self.refuse()?;
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(&self, location: &Key, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(&self, locations: BoxStream<'static, Result<Key>>) -> BoxStream<'static, Result<Key>> {
        self.inner.delete_stream(locations)
    }
    fn list(&self, prefix: Option<&Key>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Key>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(&self, from: &Key, to: &Key, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// Where the uploads go.
enum Full<'a> {
    /// A full file system; `ballast` is what fills it.
    Disk {
        dir: &'a Path,
        ballast: PathBuf,
    },
    Injected(&'a FullStore),
}

impl Full<'_> {
    /// What the store holds besides the ballast.
    async fn leftovers(&self) -> Vec<String> {
        match self {
            Full::Disk { dir, .. } => files(dir).into_iter().filter(|f| f != "ballast").collect(),
            Full::Injected(store) => {
                let listed: Vec<ObjectMeta> = futures_util::TryStreamExt::try_collect(store.list(None)).await.unwrap();
                listed.into_iter().map(|meta| meta.location.to_string()).collect()
            }
        }
    }

    fn free(&self) {
        match self {
            Full::Disk { ballast, .. } => std::fs::remove_file(ballast).unwrap(),
            Full::Injected(store) => store.full.store(false, Ordering::SeqCst),
        }
    }
}

/// Uploads that do not fit, then one once there is room.
async fn full_then_freed(node: &TestApp, full: Full<'_>) {
    let user = node.new_user("ann@example.com").await;
    let supplier = node.new_supplier(&user, "Acme").await;
    let csv = |bytes: usize| format!("n\n{}", "1\n".repeat(bytes / 2));
    // Held whole until stored (under the 5 MiB part size), and stored in parts.
    for size in [1 << 20, 8 << 20] {
        let parts = [text_part("supplier_id", &supplier), file_part("big.csv", csv(size))];
        let res = node.upload_parts(&user, "", &parts).await;
        assert_eq!(res.status, StatusCode::INSUFFICIENT_STORAGE, "{size} bytes: {}", res.body);
        assert_eq!(res.body["error"]["code"], "insufficient_storage");
        assert_eq!(full.leftovers().await, Vec::<String>::new(), "no partial file is left ({size} bytes)");
    }
    let failed = "job_type = 'import' and status = 'failed' and error_message like 'the file store is full%'";
    assert_eq!(node.count_jobs(failed).await, 2, "each upload's job failed saying the store is full");

    assert_eq!(node.get("/api/v2/jobs/active", &user).await.status, StatusCode::OK, "the node goes on serving");
    full.free();
    let res =
        node.upload_parts(&user, "", &[text_part("supplier_id", &supplier), file_part("big.csv", csv(1 << 20))]).await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    assert_eq!(full.leftovers().await.len(), 1, "the stored file");
}

contract_tests! {
    async fn an_upload_that_fills_the_disk_answers_507_leaves_no_partial_file_and_fails_its_job(app) {
        let Some(disk) = SmallDisk::mount() else { return };
        let node = app.node_with_objects(Objects::local(&disk.dir).unwrap(), test_settings());
        // Half a MiB left: a 1 MiB file cannot fit.
        let ballast = disk.dir.join("ballast");
        std::fs::write(&ballast, vec![0u8; 1536 * 1024]).unwrap();
        full_then_freed(&node, Full::Disk { dir: &disk.dir, ballast }).await;
    }

    async fn an_upload_into_a_store_reporting_enospc_answers_507_and_fails_its_job(app) {
        let store = Arc::new(FullStore { full: AtomicBool::new(true), ..Default::default() });
        let node = app.node_with_objects(Objects::custom(store.clone(), "a full store"), test_settings());
        full_then_freed(&node, Full::Injected(&store)).await;
    }
}
