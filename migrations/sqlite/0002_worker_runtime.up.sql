-- The jobs table becomes the queue (see the PostgreSQL migration for the reasons).

create table job_schedules (
    id          text primary key not null,
    name        text not null,
    cron        text not null,
    timezone    text not null default 'UTC',
    job_type    text not null check (job_type in ('import', 'export', 'validation', 'processing')),
    metadata    text not null default '{}' check (json_valid(metadata)),
    priority    integer not null default 0,
    max_retries integer not null default 3 check (max_retries >= 0),
    created_by  text references users (id) on delete set null,
    next_run_at text not null,
    last_run_at text,
    created_at  text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
create unique index job_schedules_name_key on job_schedules (name);
create index job_schedules_next_run_at_idx on job_schedules (next_run_at);

-- SQLite cannot add a column whose default is an expression: run_at is filled from
-- created_at by the insert trigger below when a writer leaves it out.
alter table background_jobs add column priority integer not null default 0 check (priority between -1000 and 1000);
alter table background_jobs add column run_at text check (run_at is null or julianday(run_at) is not null);
alter table background_jobs add column attempt integer not null default 0;
alter table background_jobs add column lease_expires_at text;
alter table background_jobs add column locked_by text;
alter table background_jobs add column cancel_requested_at text;
-- No foreign key: SQLite cannot drop a column that has one (the down migration must work);
-- deleting a schedule clears its jobs' schedule_id itself.
alter table background_jobs add column schedule_id text;
update background_jobs set run_at = created_at;

create index background_jobs_claim_idx on background_jobs ((-priority), run_at, id) where status = 'pending';
create index background_jobs_lease_idx on background_jobs (lease_expires_at) where status = 'running';
create index background_jobs_completed_at_idx
    on background_jobs (completed_at)
    where status in ('completed', 'failed', 'cancelled');
create unique index background_jobs_schedule_tick_key
    on background_jobs (schedule_id, run_at)
    where schedule_id is not null;

-- The canonical-time triggers now cover run_at too.
drop trigger background_jobs_canonical_times_insert;
drop trigger background_jobs_canonical_times_update;

create trigger background_jobs_canonical_times_insert
after insert on background_jobs
when new.run_at is null
  or new.created_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at)
  or new.started_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.started_at)
  or new.completed_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.completed_at)
  or new.run_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.run_at)
begin
    update background_jobs set
        created_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at),
        started_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.started_at),
        completed_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.completed_at),
        run_at = strftime('%Y-%m-%dT%H:%M:%fZ', coalesce(new.run_at, new.created_at))
    where rowid = new.rowid;
end;

create trigger background_jobs_canonical_times_update
after update of created_at, started_at, completed_at, run_at on background_jobs
when new.created_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at)
  or new.started_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.started_at)
  or new.completed_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.completed_at)
  or new.run_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.run_at)
begin
    update background_jobs set
        created_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at),
        started_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.started_at),
        completed_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.completed_at),
        run_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.run_at)
    where rowid = new.rowid;
end;
