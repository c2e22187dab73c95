//! The upload: bytes stream from the request into object storage, hashed on the way, under
//! an `import` job that exists (and shows in `/jobs/active`) from the first byte. The job is
//! held under a lease like a worker's claim, so a node dying mid-upload leaves it to be
//! rescued, never `running` forever. Once the bytes are stored, the job goes to the queue for
//! a worker to parse.

use super::parse::{FileFormat, ReadOptions};
use super::service::{ImportError, ImportService};
use crate::jobs::model::{Job, JobType, NewJob};
use crate::jobs::state::Action;
use crate::objects::{ObjectWriter, raw_key};
use crate::storage::Beat;
use crate::users::User;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Progress once the upload is accepted (the spec's "validate" stage).
pub const VALIDATED: i64 = 10;
/// Progress once every byte is stored, hashed and found new (the spec's "stored" stage).
pub const STORED: i64 = 40;
/// The attempt an upload's job is in while its bytes arrive.
const UPLOAD_ATTEMPT: i32 = 1;

/// What the client said about the file.
pub struct Incoming<'a> {
    pub supplier_id: Uuid,
    /// As the client sent it; only its last path component is kept, without control characters.
    pub filename: &'a str,
    /// The request's Content-Length, when known: scales progress while bytes arrive.
    pub expected_bytes: Option<u64>,
    /// How to read the file (`sheet`, `delimiter`, `encoding`, `ragged`).
    pub read: ReadOptions,
}

/// The name to show for a client's file name: its last path component, without control
/// characters, at most 255 characters. It never becomes a storage key.
pub fn display_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|c| !c.is_control()).take(255).collect();
    match clean.trim() {
        "" | "." | ".." => "upload".to_owned(),
        name => name.to_owned(),
    }
}

impl ImportService {
    /// Store an uploaded file and queue its parsing; the job is returned as it stands then
    /// (`pending` at 40 %, or `failed` as a duplicate). Failures before the bytes are stored
    /// leave the job `failed` (or `cancelled`) and no object behind.
    pub async fn upload<S, E>(&self, owner: &User, file: Incoming<'_>, body: S) -> Result<Job, ImportError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let filename = display_name(file.filename);
        let format =
            FileFormat::from_filename(&filename).ok_or_else(|| ImportError::UnsupportedType(filename.clone()))?;
        file.read.check_for(format).map_err(ImportError::Invalid)?;
        if file.expected_bytes.is_some_and(|n| n > self.settings.max_upload_bytes + MULTIPART_SLACK) {
            return Err(ImportError::TooLarge { limit: self.settings.max_upload_bytes });
        }
        let supplier = self.own_supplier(owner, file.supplier_id).await?;
        let now = self.clock.now();
        let new = NewJob {
            job_type: JobType::Import,
            created_by: Some(owner.id),
            related_dataset_id: None,
            metadata: json!({"filename": filename, "supplier_id": supplier.id, "format": format, "read": file.read}),
            created_at: now,
            run_at: now,
            priority: 0,
            max_retries: crate::jobs::service::DEFAULT_MAX_RETRIES,
        };
        let job = self.jobs.create_held(&new, &self.node, self.lease_end()).await?;
        let mut lease = Lease { service: self, job: job.id, last: Instant::now() };
        let key = raw_key(job.id);
        // Cancelled the moment it appeared (before a byte was stored): still ended here, or
        // the job would stay `running` until its lease ran out.
        if let Err(e) = lease.beat(VALIDATED).await {
            return Err(self.give_up(job.id, &key, None, e).await);
        }

        let mut writer = self.objects.writer(&key);
        match self.receive(body, &mut writer, file.expected_bytes, &mut lease).await {
            Ok(hasher) => {
                let size = writer.finish().await;
                let sha256 = hex::encode(hasher.finalize());
                let stored = match size {
                    // A last beat: a cancel requested meanwhile must not be lost in the hand-off.
                    Ok(size) => lease.beat(STORED - 1).await.map(|()| size),
                    Err(e) => Err(ImportError::from(e)),
                };
                match stored {
                    Ok(size) => self.hand_off(job.id, &key, size, &sha256, supplier.id).await,
                    Err(e) => Err(self.give_up(job.id, &key, None, e).await),
                }
            }
            Err(e) => Err(self.give_up(job.id, &key, Some(writer), e).await),
        }
    }

    fn lease_end(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now() + chrono::Duration::from_std(self.settings.lease).unwrap_or(chrono::Duration::seconds(30))
    }

    /// Copy the body into `writer`, hashing it, within the size limit, renewing the lease.
    async fn receive<S, E>(
        &self,
        mut body: S,
        writer: &mut ObjectWriter,
        expected: Option<u64>,
        lease: &mut Lease<'_>,
    ) -> Result<Sha256, ImportError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let mut hasher = Sha256::new();
        let limit = self.settings.max_upload_bytes;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                ImportError::Interrupted(format!("after {} bytes: {e}; upload the file again", writer.written()))
            })?;
            if writer.written() + chunk.len() as u64 > limit {
                return Err(ImportError::TooLarge { limit });
            }
            hasher.update(&chunk);
            writer.put(chunk).await?;
            if lease.due(self.settings.lease) {
                let share =
                    expected.map_or(0, |total| writer.written() * (STORED - VALIDATED - 1) as u64 / total.max(1));
                lease.beat(VALIDATED + share.min((STORED - VALIDATED - 1) as u64) as i64).await?;
            }
        }
        Ok(hasher)
    }

    /// The bytes are stored: a duplicate fails now; anything else goes to this node's worker,
    /// or to the queue for any worker.
    async fn hand_off(
        &self,
        job: Uuid,
        key: &str,
        size: u64,
        sha256: &str,
        supplier: Uuid,
    ) -> Result<Job, ImportError> {
        self.metrics.upload_stored(size);
        if let Some(existing) = self.store.find_dataset_by_sha256(supplier, sha256).await? {
            self.objects.discard(key).await;
            let change = Action::Fail(duplicate_message(&existing)).change(self.clock.now()).fenced(UPLOAD_ATTEMPT);
            return Ok(self.jobs.apply_change(job, "fail", change).await?);
        }
        let stored = json!({"raw_key": key, "size_bytes": size, "sha256": sha256});
        let to = self.local.as_ref().map_or(self.node.as_str(), |w| w.holder());
        let moved = self
            .store
            .transfer_job(job, UPLOAD_ATTEMPT, &self.node, to, self.lease_end(), STORED as i32, &stored)
            .await?;
        let Some(moved) = moved else {
            // Its cancel was requested while the last bytes arrived.
            return Err(self.give_up(job, key, None, ImportError::Cancelled).await);
        };
        if let Some(worker) = &self.local
            && worker.send(moved.clone()).is_ok()
        {
            return Ok(moved);
        }
        // To the queue for any worker; a cancel requested meanwhile makes it `cancelled`.
        self.store.release_jobs(&[(job, UPLOAD_ATTEMPT)], self.clock.now()).await?;
        self.store.signal_new_jobs().await?;
        Ok(self.jobs.get_any(job).await?)
    }

    /// Remove what was stored and end the job: cancelled if that is why, failed otherwise.
    async fn give_up(&self, job: Uuid, key: &str, writer: Option<ObjectWriter>, why: ImportError) -> ImportError {
        match writer {
            Some(writer) => writer.abort().await,
            None => self.objects.discard(key).await,
        }
        let now = self.clock.now();
        let change = match &why {
            ImportError::Cancelled => Action::Cancel.change(now),
            other => Action::Fail(other.to_string()).change(now),
        };
        if let Err(e) = self.jobs.apply_change(job, "end", change.fenced(UPLOAD_ATTEMPT)).await {
            tracing::warn!(%job, error = %e, "could not end an upload's job");
        }
        why
    }
}

/// Room for the multipart framing around the file in a request's Content-Length.
const MULTIPART_SLACK: u64 = 64 * 1024;

pub fn duplicate_message(existing: &super::model::Dataset) -> String {
    format!(
        "duplicate: this supplier already imported this file (same SHA-256) as dataset {} ({}, {})",
        existing.id,
        existing.original_filename.as_deref().unwrap_or(&existing.name),
        existing.created_at.format("%Y-%m-%d %H:%M UTC"),
    )
}

/// The upload's hold on its job, renewed as bytes arrive.
struct Lease<'a> {
    service: &'a ImportService,
    job: Uuid,
    last: Instant,
}

impl Lease<'_> {
    /// Renew at most every second, and well within the lease.
    fn due(&self, lease: Duration) -> bool {
        self.last.elapsed() >= (lease / 3).min(Duration::from_secs(1))
    }

    /// Renew and record progress; the job was cancelled or lost when this fails.
    async fn beat(&mut self, progress: i64) -> Result<(), ImportError> {
        self.last = Instant::now();
        let beat = Beat { id: self.job, attempt: UPLOAD_ATTEMPT, progress: Some(progress as i32), stage: None };
        let s = self.service;
        let held = s.jobs.renew(&s.node, beat, s.lease_end()).await?;
        match held {
            Some(h) if !h.cancel_requested => Ok(()),
            _ => Err(ImportError::Cancelled),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_cannot_name_a_path() {
        assert_eq!(display_name("../../etc/passwd.csv"), "passwd.csv");
        assert_eq!(display_name("C:\\Users\\x\\prices.xlsx"), "prices.xlsx");
        assert_eq!(display_name("a\u{0}b\nc.csv"), "abc.csv");
        assert_eq!(display_name("dir/"), "upload");
        assert_eq!(display_name(".."), "upload");
        assert_eq!(display_name(&"x".repeat(300)).chars().count(), 255);
    }
}
