-- Imports: suppliers send files; a fully parsed file becomes a dataset whose rows live in
-- object storage (rows_key), described here by its columns and a preview.

create table suppliers (
    id         uuid primary key,
    name       text not null,
    -- The name lowercased by the application (Unicode-aware on both backends, which SQLite's
    -- lower() is not): unique per user, so 'Émile' and 'émile' are one supplier.
    name_key   text not null,
    created_by uuid references users (id) on delete cascade,
    created_at timestamptz not null default now()
);
-- A user's suppliers by name (and the cascade when a user is deleted).
create unique index suppliers_owner_name_key on suppliers (created_by, name_key);

alter table datasets
    add column supplier_id       uuid references suppliers (id) on delete restrict,
    add column original_filename text,
    add column format            varchar(10),
    add column size_bytes        bigint check (size_bytes >= 0),
    add column sha256            char(64),
    add column row_count         bigint check (row_count >= 0),
    add column columns           jsonb,                      -- [{"name", "type"}], in file order
    add column preview           jsonb,                      -- the first rows, as text
    add column rows_key          text,                       -- object storage key of the parsed rows (CSV)
    add column import_job_id     uuid;                       -- the job that made it (no FK: jobs are pruned)

-- One dataset per file content per supplier: the duplicate check, race-free.
create unique index datasets_supplier_sha256_key on datasets (supplier_id, sha256) where supplier_id is not null;
-- A user's datasets, newest first (ids are time-ordered UUIDv7).
create index datasets_owner_id_idx on datasets (created_by, id desc);
drop index datasets_created_by_idx;
