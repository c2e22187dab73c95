//! Suppliers, datasets and held jobs on PostgreSQL.

use super::{NOTIFIED, PgStore, WRITTEN, bind_new_job};
use crate::imports::model::{Dataset, NewDataset, Supplier};
use crate::jobs::model::{Job, NewJob};
use crate::storage::imports::ImportStore;
use crate::storage::{StoreError, StoreResult, parse_column};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use uuid::Uuid;

const SUPPLIER_COLUMNS: &str = "id, name, created_by, created_at";
/// As [`DATASET_COLUMNS`] without the preview, which lists do not show.
const DATASET_LIST_COLUMNS: &str = "id, name, supplier_id, original_filename, format, size_bytes, sha256, row_count, \
                                    columns, null::jsonb as preview, read_as, warnings, rows_key, import_job_id, created_by, \
                                    created_at";
const DATASET_COLUMNS: &str = "id, name, supplier_id, original_filename, format, size_bytes, sha256, row_count, \
                               columns, preview, read_as, warnings, rows_key, import_job_id, created_by, created_at";

fn supplier_from_row(row: &PgRow) -> StoreResult<Supplier> {
    Ok(Supplier {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}

fn dataset_from_row(row: &PgRow) -> StoreResult<Dataset> {
    let id: Uuid = row.try_get("id")?;
    let format: Option<String> = row.try_get("format")?;
    Ok(Dataset {
        name: row.try_get("name")?,
        supplier_id: row.try_get("supplier_id")?,
        original_filename: row.try_get("original_filename")?,
        format: format.map(|f| parse_column(&id, &f)).transpose()?,
        size_bytes: row.try_get("size_bytes")?,
        sha256: row.try_get("sha256")?,
        row_count: row.try_get("row_count")?,
        columns: row.try_get::<Option<Json<_>>, _>("columns")?.map(|j| j.0).unwrap_or_default(),
        preview: row.try_get::<Option<Json<_>>, _>("preview")?.map(|j| j.0).unwrap_or_default(),
        read_as: row.try_get::<Json<_>, _>("read_as")?.0,
        warnings: row.try_get::<Json<_>, _>("warnings")?.0,
        rows_key: row.try_get("rows_key")?,
        import_job_id: row.try_get("import_job_id")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        id,
    })
}

#[async_trait]
impl ImportStore for PgStore {
    async fn insert_supplier(&self, s: &Supplier) -> StoreResult<()> {
        sqlx::query("insert into suppliers (id, name, name_key, created_by, created_at) values ($1, $2, $5, $3, $4)")
            .bind(s.id)
            .bind(&s.name)
            .bind(s.created_by)
            .bind(s.created_at)
            .bind(s.name.to_lowercase())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn find_supplier(&self, id: Uuid) -> StoreResult<Option<Supplier>> {
        let sql = format!("select {SUPPLIER_COLUMNS} from suppliers where id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(supplier_from_row).transpose()
    }

    async fn list_suppliers(&self, owner: Uuid) -> StoreResult<Vec<Supplier>> {
        let sql = format!("select {SUPPLIER_COLUMNS} from suppliers where created_by = $1 order by name_key");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner).fetch_all(&self.pool).await?;
        rows.iter().map(supplier_from_row).collect()
    }

    async fn insert_dataset(&self, d: &NewDataset) -> StoreResult<Dataset> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "insert into datasets (id, name, supplier_id, original_filename, format, size_bytes, sha256, row_count, \
             columns, preview, rows_key, import_job_id, created_by, created_at, read_as, warnings) \
             values ($1, $3, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) returning {DATASET_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(d.id)
            .bind(d.supplier_id)
            .bind(&d.original_filename)
            .bind(d.format.as_str())
            .bind(d.size_bytes)
            .bind(&d.sha256)
            .bind(d.row_count)
            .bind(Json(&d.columns))
            .bind(Json(&d.preview))
            .bind(&d.rows_key)
            .bind(d.import_job_id)
            .bind(d.created_by)
            .bind(d.created_at)
            .bind(Json(&d.read_as))
            .bind(Json(&d.warnings))
            .fetch_one(&mut *tx)
            .await?;
        let write = "update background_jobs set related_dataset_id = $1, version = version + 1 where id = $2 \
                     returning id, created_by, version";
        let sql = format!("{} {WRITTEN}", self.notifying("", write, "true"));
        let written =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(d.id).bind(d.import_job_id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        self.publish_written(&written)?;
        dataset_from_row(&row)
    }

    async fn find_dataset(&self, id: Uuid) -> StoreResult<Option<Dataset>> {
        let sql = format!("select {DATASET_COLUMNS} from datasets where id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(dataset_from_row).transpose()
    }

    async fn find_dataset_by_import_job(&self, job: Uuid) -> StoreResult<Option<Dataset>> {
        let sql = format!("select {DATASET_COLUMNS} from datasets where import_job_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(job).fetch_optional(&self.pool).await?;
        row.as_ref().map(dataset_from_row).transpose()
    }

    async fn find_dataset_by_sha256(&self, supplier_id: Uuid, sha256: &str) -> StoreResult<Option<Dataset>> {
        let sql = format!("select {DATASET_COLUMNS} from datasets where supplier_id = $1 and sha256 = $2");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(supplier_id).bind(sha256).fetch_optional(&self.pool).await?;
        row.as_ref().map(dataset_from_row).transpose()
    }

    async fn list_datasets(&self, owner: Uuid, before: Option<Uuid>, limit: u32) -> StoreResult<Vec<Dataset>> {
        let sql = format!(
            "select {DATASET_LIST_COLUMNS} from datasets where created_by = $1 and ($2::uuid is null or id < $2) \
             order by id desc limit $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(before)
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
        let write = concat!(
            "insert into background_jobs (job_type, created_by, related_dataset_id, metadata, created_at, run_at, \
             priority, max_retries, id, status, started_at, attempt, locked_by, lease_expires_at, heartbeat_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'running', $10, 1, $11, $12, $10) returning ",
            job_columns!()
        );
        let sql = format!("{} select w.*, {NOTIFIED} from w", self.notifying("", write, "true"));
        let query = bind_new_job(sqlx::query(sqlx::AssertSqlSafe(sql)), job)
            .bind(crate::storage::new_job_id())
            .bind(now)
            .bind(holder)
            .bind(lease_until);
        self.write_jobs(query).await?.pop().ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }
}
