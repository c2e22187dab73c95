create index datasets_created_by_idx on datasets (created_by);
drop index datasets_owner_id_idx;
drop index datasets_supplier_sha256_key;
alter table datasets
    drop column import_job_id,
    drop column rows_key,
    drop column preview,
    drop column columns,
    drop column row_count,
    drop column sha256,
    drop column size_bytes,
    drop column format,
    drop column original_filename,
    drop column supplier_id;
drop table suppliers;
