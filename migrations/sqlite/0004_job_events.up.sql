-- Live updates: versions, stage text, last sign of life (see the PostgreSQL migration).
alter table background_jobs add column version integer not null default 1;
alter table background_jobs add column stage text check (length(stage) <= 200);
alter table background_jobs add column heartbeat_at text;

-- History pages: see the PostgreSQL migration.
drop index background_jobs_created_by_idx;
create index background_jobs_created_by_idx
    on background_jobs (created_by, created_at desc, id desc)
    where created_by is not null;
create index background_jobs_history_idx
    on background_jobs (created_at desc, id desc)
    where created_by is not null;
