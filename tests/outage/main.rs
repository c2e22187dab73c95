//! Faults a deployment meets, against real `jobwatch` processes: PostgreSQL restarting under
//! load (`restart.rs`) on a cluster the test starts itself (`cluster.rs`). Names contain
//! `postgres`, so the SQLite-only run skips them.

mod cluster;
mod restart;
mod serve;
