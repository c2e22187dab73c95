//! Suppliers, datasets and held jobs on SQLite.

use super::{SqliteStore, bind_new_job, job_from_row, required, time_column, time_text, uuid_column};
use crate::imports::model::{Dataset, NewDataset, Supplier};
use crate::jobs::model::{Job, NewJob};
use crate::storage::imports::ImportStore;
use crate::storage::{StoreError, StoreResult, parse_column};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

const SUPPLIER_COLUMNS: &str = "id, name, created_by, created_at";
/// As [`DATASET_COLUMNS`] without the preview, which lists do not show.
const DATASET_LIST_COLUMNS: &str = "id, name, supplier_id, original_filename, format, size_bytes, sha256, row_count, \
                                    columns, null as preview, read_as, warnings, rows_key, import_job_id, created_by, \
                                    created_at";
const DATASET_COLUMNS: &str = "id, name, supplier_id, original_filename, format, size_bytes, sha256, row_count, \
                               columns, preview, read_as, warnings, rows_key, import_job_id, created_by, created_at";

fn supplier_from_row(row: &SqliteRow) -> StoreResult<Supplier> {
    let raw: String = row.try_get("id")?;
    Ok(Supplier {
        id: required(&raw, "id", uuid_column(&raw, row, "id")?)?,
        name: row.try_get("name")?,
        created_by: uuid_column(&raw, row, "created_by")?,
        created_at: required(&raw, "created_at", time_column(&raw, row, "created_at")?)?,
    })
}

fn json_column<T: serde::de::DeserializeOwned + Default>(raw: &str, row: &SqliteRow, column: &str) -> StoreResult<T> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        serde_json::from_str(&t)
            .map_err(|e| StoreError::BadRow { id: raw.to_owned(), problem: format!("{column}: {e}") })
    })
    .transpose()
    .map(Option::unwrap_or_default)
}

fn dataset_from_row(row: &SqliteRow) -> StoreResult<Dataset> {
    let raw: String = row.try_get("id")?;
    let id = required(&raw, "id", uuid_column(&raw, row, "id")?)?;
    let format: Option<String> = row.try_get("format")?;
    Ok(Dataset {
        name: row.try_get("name")?,
        supplier_id: uuid_column(&raw, row, "supplier_id")?,
        original_filename: row.try_get("original_filename")?,
        format: format.map(|f| parse_column(&id, &f)).transpose()?,
        size_bytes: row.try_get("size_bytes")?,
        sha256: row.try_get("sha256")?,
        row_count: row.try_get("row_count")?,
        columns: json_column(&raw, row, "columns")?,
        preview: json_column(&raw, row, "preview")?,
        read_as: json_column(&raw, row, "read_as")?,
        warnings: json_column(&raw, row, "warnings")?,
        rows_key: row.try_get("rows_key")?,
        import_job_id: uuid_column(&raw, row, "import_job_id")?,
        created_by: uuid_column(&raw, row, "created_by")?,
        created_at: required(&raw, "created_at", time_column(&raw, row, "created_at")?)?,
        id,
    })
}

#[async_trait]
impl ImportStore for SqliteStore {
    async fn insert_supplier(&self, s: &Supplier) -> StoreResult<()> {
        sqlx::query("insert into suppliers (id, name, name_key, created_by, created_at) values (?1, ?2, ?5, ?3, ?4)")
            .bind(s.id.to_string())
            .bind(&s.name)
            .bind(s.created_by.map(|u| u.to_string()))
            .bind(time_text(s.created_at))
            .bind(s.name.to_lowercase())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn find_supplier(&self, id: Uuid) -> StoreResult<Option<Supplier>> {
        let sql = format!("select {SUPPLIER_COLUMNS} from suppliers where id = ?1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(supplier_from_row).transpose()
    }

    async fn list_suppliers(&self, owner: Uuid) -> StoreResult<Vec<Supplier>> {
        let sql = format!("select {SUPPLIER_COLUMNS} from suppliers where created_by = ?1 order by name_key");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner.to_string()).fetch_all(&self.pool).await?;
        rows.iter().map(supplier_from_row).collect()
    }

    async fn insert_dataset(&self, d: &NewDataset) -> StoreResult<Dataset> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "insert into datasets (id, name, supplier_id, original_filename, format, size_bytes, sha256, row_count, \
             columns, preview, rows_key, import_job_id, created_by, created_at, read_as, warnings) \
             values (?1, ?3, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) returning {DATASET_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(d.id.to_string())
            .bind(d.supplier_id.to_string())
            .bind(&d.original_filename)
            .bind(d.format.as_str())
            .bind(d.size_bytes)
            .bind(&d.sha256)
            .bind(d.row_count)
            .bind(serde_json::to_string(&d.columns).expect("columns serialise"))
            .bind(serde_json::to_string(&d.preview).expect("rows of text serialise"))
            .bind(&d.rows_key)
            .bind(d.import_job_id.to_string())
            .bind(d.created_by.map(|u| u.to_string()))
            .bind(time_text(d.created_at))
            .bind(serde_json::to_string(&d.read_as).expect("text serialises"))
            .bind(serde_json::to_string(&d.warnings).expect("text serialises"))
            .fetch_one(&mut *tx)
            .await?;
        let jobs = sqlx::query(
            "update background_jobs set related_dataset_id = ?1, version = version + 1 where id = ?2 \
             returning id, created_by, version",
        )
        .bind(d.id.to_string())
        .bind(d.import_job_id.to_string())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        self.publish_rows(&jobs)?;
        dataset_from_row(&row)
    }

    async fn find_dataset(&self, id: Uuid) -> StoreResult<Option<Dataset>> {
        let sql = format!("select {DATASET_COLUMNS} from datasets where id = ?1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(dataset_from_row).transpose()
    }

    async fn find_dataset_by_import_job(&self, job: Uuid) -> StoreResult<Option<Dataset>> {
        let sql = format!("select {DATASET_COLUMNS} from datasets where import_job_id = ?1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(job.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(dataset_from_row).transpose()
    }

    async fn find_dataset_by_sha256(&self, supplier_id: Uuid, sha256: &str) -> StoreResult<Option<Dataset>> {
        let sql = format!("select {DATASET_COLUMNS} from datasets where supplier_id = ?1 and sha256 = ?2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(supplier_id.to_string())
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dataset_from_row).transpose()
    }

    async fn list_datasets(&self, owner: Uuid, before: Option<Uuid>, limit: u32) -> StoreResult<Vec<Dataset>> {
        let sql = format!(
            "select {DATASET_LIST_COLUMNS} from datasets where created_by = ?1 and (?2 is null or id < ?2) \
             order by id desc limit ?3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner.to_string())
            .bind(before.map(|u| u.to_string()))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(dataset_from_row).collect()
    }

    async fn insert_held_job(
        &self,
        job: &NewJob,
        holder: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Job> {
        let sql = concat!(
            "insert into background_jobs (id, job_type, created_by, related_dataset_id, metadata, created_at, \
             run_at, priority, max_retries, status, started_at, attempt, locked_by, lease_expires_at, \
             heartbeat_at) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'running', ?10, 1, ?11, ?12, ?10) returning ",
            job_columns!()
        );
        let row = bind_new_job(sqlx::query(sql).bind(crate::storage::new_job_id().to_string()), job)
            .bind(time_text(now))
            .bind(holder)
            .bind(time_text(lease_until))
            .fetch_one(&self.pool)
            .await?;
        let job = job_from_row(&row)?;
        self.published(Some(job.clone()))?;
        Ok(job)
    }
}
