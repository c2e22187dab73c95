//! A throwaway PostgreSQL cluster of a test's own: `initdb` into a fresh directory, `pg_ctl`
//! on a free port with its socket in that directory, run as the `postgres` user (initdb
//! refuses root). A test may stop and restart it — never the shared server at 5432. On drop
//! it is stopped and its directory removed, also when the test panics.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Where the server binaries are looked for when `JOBWATCH_PG_BIN` does not say.
const PG_LIB: &str = "/usr/lib/postgresql";

pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    /// A running cluster, or `None` after a loud message when PostgreSQL's server binaries
    /// are not installed; under CI (`CI=true`) their absence fails the test instead.
    pub fn start() -> Option<Cluster> {
        let Some(bin) = server_binaries() else {
            let message = format!(
                "initdb not found (JOBWATCH_PG_BIN or {PG_LIB}/<version>/bin): the PostgreSQL restart test \
                 needs a cluster of its own"
            );
            assert!(std::env::var("CI").as_deref() != Ok("true"), "FAIL under CI: {message}");
            eprintln!("{}\n#  SKIPPED: {message}\n{}", "#".repeat(80), "#".repeat(80));
            return None;
        };
        let dir = std::env::temp_dir().join(format!("jobwatch-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).expect("cluster directory");
        // Made before anything can fail, so the directory is removed whatever happens next.
        let cluster = Cluster { bin, port: free_port(), dir };
        run(Command::new("chown").arg("postgres:").arg(&cluster.dir), "chown the cluster directory");
        let mut initdb = cluster.as_postgres("initdb");
        run(
            initdb.arg("-D").arg(cluster.data()).args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]),
            "initdb",
        );
        cluster.start_again();
        Some(cluster)
    }

    /// The `postgres` database as the `postgres` superuser, over TCP.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl stop -m <mode>` (`fast`, `immediate`), waiting until the server is gone.
    pub fn stop(&self, mode: &str) {
        run(self.pg_ctl().args(["stop", "-w", "-m", mode]), "pg_ctl stop");
    }

    /// Start the stopped cluster on its port again, waiting until it accepts connections.
    pub fn start_again(&self) {
        // fsync off: a crash of the test machine loses nothing anyone needs.
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        let log = self.dir.join("server.log");
        // The server keeps whatever pg_ctl inherits: no pipes here for anyone to wait on.
        let started = (self.pg_ctl().args(["start", "-w", "-o", &options, "-l"]).arg(&log))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !started.is_ok_and(|s| s.success()) {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("pg_ctl start failed; the server's log:\n{log}");
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn pg_ctl(&self) -> Command {
        let mut cmd = self.as_postgres("pg_ctl");
        cmd.arg("-D").arg(self.data());
        cmd
    }

    /// One of the server's programs, as the `postgres` user when this process is root.
    fn as_postgres(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        cmd.current_dir(&self.dir).stdin(Stdio::null());
        cmd
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            let _ = self.pg_ctl().args(["stop", "-w", "-m", "immediate"]).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `JOBWATCH_PG_BIN`, else the newest `/usr/lib/postgresql/<version>/bin` holding `initdb`.
fn server_binaries() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("JOBWATCH_PG_BIN") {
        return Some(PathBuf::from(dir)).filter(|d| d.join("initdb").is_file());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(PG_LIB)
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    let id = Command::new("id").arg("-u").output().expect("id -u");
    String::from_utf8_lossy(&id.stdout).trim() == "0"
}

/// A port nothing listens on now (the kernel's pick, released for the server to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
}
