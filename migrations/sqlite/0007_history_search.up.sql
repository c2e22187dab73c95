-- History search: see the PostgreSQL migration. SQLite's LIKE ignores ASCII case by itself and
-- a column added by ALTER TABLE can only be virtual: it is computed when a row is written to
-- an index, and the index's copy is what a search reads (85 ms → 3 ms for a user of 10 000
-- jobs on 1 M, with no match). SQLite has no INCLUDE: the extra columns end the index keys.
alter table background_jobs add column search_text text generated always as (
    substr(coalesce(json_extract(metadata, '$.filename'), ''), 1, 255) || char(10)
        || substr(coalesce(error_message, ''), 1, 300)
) virtual;

drop index background_jobs_created_by_idx;
create index background_jobs_created_by_idx
    on background_jobs (created_by, created_at desc, id desc, job_type, search_text)
    where created_by is not null;
drop index background_jobs_owner_status_history_idx;
create index background_jobs_owner_status_history_idx
    on background_jobs (created_by, status, created_at desc, id desc, job_type, search_text)
    where created_by is not null;
drop index background_jobs_history_idx;
create index background_jobs_history_idx
    on background_jobs (created_at desc, id desc, job_type, search_text)
    where created_by is not null;
drop index background_jobs_status_history_idx;
create index background_jobs_status_history_idx
    on background_jobs (status, created_at desc, id desc, job_type, search_text)
    where created_by is not null;
