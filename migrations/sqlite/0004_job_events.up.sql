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

create index background_jobs_status_history_idx
    on background_jobs (status, created_at desc, id desc)
    where created_by is not null;

-- The audit trail: see the PostgreSQL migration.
create table job_audit (
    id       integer primary key autoincrement,
    job_id   text not null references background_jobs (id) on delete cascade,
    at       text not null,
    kind     text not null check (kind in ('cancelled', 'stopping', 'retried', 'retrying', 'failed')),
    actor    text references users (id) on delete set null,
    attempt  integer,
    message  text,
    bulk     integer not null default 0
);
create index job_audit_job_idx on job_audit (job_id, id);
create index job_audit_actor_idx on job_audit (actor) where actor is not null;
