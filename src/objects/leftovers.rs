//! A local store's half-written files: what a writer stopped by a crash left behind. Our
//! blocking writer stages `.<uuid>.partial` beside its object; object_store's local multipart
//! upload stages `<object>#<n>`. Neither is ever an object, and each is renamed or removed
//! when its writer ends, so one older than any writer lives is garbage.

use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// What a sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub files: u64,
    pub bytes: u64,
}

fn is_staging(name: &str) -> bool {
    (name.starts_with('.') && name.ends_with(".partial")) || name.contains('#')
}

/// Removes staging files under `root` last written more than `older_than` ago (a writer
/// still at work on another process keeps writing, so its file stays young).
pub fn remove_stale(root: &Path, older_than: Duration) -> io::Result<Swept> {
    let cutoff = SystemTime::now().checked_sub(older_than).unwrap_or(SystemTime::UNIX_EPOCH);
    let mut swept = Swept::default();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(entry.path());
                continue;
            }
            let name = entry.file_name();
            if !kind.is_file() || !is_staging(&name.to_string_lossy()) {
                continue;
            }
            let meta = entry.metadata()?;
            if meta.modified()? < cutoff {
                std::fs::remove_file(entry.path())?;
                swept.files += 1;
                swept.bytes += meta.len();
            }
        }
    }
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &Path, age: Duration) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let f = std::fs::File::create(path).unwrap();
        std::io::Write::write_all(&mut &f, b"12345").unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
    }

    #[test]
    fn only_old_staging_files_go() {
        let root = std::env::temp_dir().join(format!("jobwatch-leftovers-{}", uuid::Uuid::new_v4().simple()));
        let hour = Duration::from_secs(3600);
        file(&root.join("uploads/.0a1b.partial"), hour);
        file(&root.join("exports/x/report.xlsx#3"), hour);
        file(&root.join("uploads/.young.partial"), Duration::ZERO);
        file(&root.join("uploads/old-object.csv"), hour);
        file(&root.join("uploads/partial"), hour);
        let swept = remove_stale(&root, Duration::from_secs(60)).unwrap();
        assert_eq!(swept, Swept { files: 2, bytes: 10 });
        for kept in ["uploads/.young.partial", "uploads/old-object.csv", "uploads/partial"] {
            assert!(root.join(kept).exists(), "{kept}");
        }
        assert!(!root.join("uploads/.0a1b.partial").exists());
        assert!(!root.join("exports/x/report.xlsx#3").exists());
        std::fs::remove_dir_all(root).unwrap();
    }
}
