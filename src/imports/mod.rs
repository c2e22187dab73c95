//! Imports: suppliers send files; an upload streams into object storage under an `import`
//! job the user watches, and a worker parses it into a dataset.
//!
//! `upload` takes the bytes; `import_job` is the worker's half; `parse` reads each format;
//! `service` holds suppliers and datasets with who-may-see-what; `routes` is the HTTP edge.

pub mod import_job;
pub mod model;
pub mod parse;
pub mod routes;
pub mod service;
pub mod upload;

pub use import_job::ImportHandler;
pub use model::{Dataset, Supplier};
pub use service::{ImportError, ImportService, ImportSettings};
