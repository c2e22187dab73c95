-- Imports (see the PostgreSQL migration for the reasons).

create table suppliers (
    id         text primary key not null,
    name       text not null,
    name_key   text not null,
    created_by text references users (id) on delete cascade,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
create unique index suppliers_owner_name_key on suppliers (created_by, name_key);

-- No foreign key on supplier_id: SQLite cannot drop a column that has one (the down
-- migration must work); suppliers are never deleted.
alter table datasets add column supplier_id text;
alter table datasets add column original_filename text;
alter table datasets add column format text;
alter table datasets add column size_bytes integer check (size_bytes >= 0);
alter table datasets add column sha256 text;
alter table datasets add column row_count integer check (row_count >= 0);
alter table datasets add column columns text check (columns is null or json_valid(columns));
alter table datasets add column preview text check (preview is null or json_valid(preview));
alter table datasets add column rows_key text;
alter table datasets add column import_job_id text;

create unique index datasets_supplier_sha256_key on datasets (supplier_id, sha256) where supplier_id is not null;
create index datasets_owner_id_idx on datasets (created_by, id desc);
drop index datasets_created_by_idx;
