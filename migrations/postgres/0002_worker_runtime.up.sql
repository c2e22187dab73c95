-- The jobs table becomes the queue: due times, priorities, leases held by workers, cancel
-- requests, and cron schedules that create jobs.

create table job_schedules (
    id          uuid primary key default gen_random_uuid(),
    name        text not null,
    cron        text not null,                       -- standard cron; seconds optional
    timezone    text not null default 'UTC',         -- IANA name the cron is read in
    job_type    varchar(50) not null
        check (job_type in ('import', 'export', 'validation', 'processing')),
    metadata    jsonb not null default '{}'::jsonb,
    priority    integer not null default 0 check (priority between -1000 and 1000),
    max_retries integer not null default 3 check (max_retries >= 0),
    created_by  uuid references users (id) on delete set null,
    next_run_at timestamptz not null,                -- the next tick; claimed by compare-and-set
    last_run_at timestamptz,
    created_at  timestamptz not null default now()
);
create unique index job_schedules_name_key on job_schedules (name);
-- Every node's scheduler asks "which schedules are due?".
create index job_schedules_next_run_at_idx on job_schedules (next_run_at);

alter table background_jobs
    add column priority            integer not null default 0       -- higher runs first
        check (priority between -1000 and 1000),
    add column run_at              timestamptz not null default now(), -- due from then on
    add column attempt             integer not null default 0,      -- times claimed; fences a worker's writes
    add column lease_expires_at    timestamptz,                     -- running: the claim holds until then
    add column locked_by           text,                            -- running: the worker holding it
    add column cancel_requested_at timestamptz,                     -- running: the handler is asked to stop
    -- No foreign key: its trigger cost every insert of a job (8 % of bulk enqueue), and a
    -- schedule is deleted rarely; deleting one clears its jobs' schedule_id itself, as on SQLite.
    add column schedule_id         uuid;

-- Claiming: the most urgent due pending jobs, in a stable order. Partial, so finished jobs
-- (nearly all rows) are not in it. Keyed on -priority so a worker can resume its scan after
-- the last job it claimed with one row comparison: claimed jobs leave dead entries at the
-- front of this index until vacuum, and a scan from the start would wade through them all.
create index background_jobs_claim_idx
    on background_jobs ((-priority), run_at, id)
    where status = 'pending';

-- Rescue: running jobs whose lease ran out.
create index background_jobs_lease_idx
    on background_jobs (lease_expires_at)
    where status = 'running';

-- Retention: finished jobs in completion order, pruned oldest first.
create index background_jobs_completed_at_idx
    on background_jobs (completed_at)
    where status in ('completed', 'failed', 'cancelled');

-- Clearing a deleted schedule's jobs; one job per schedule tick.
create unique index background_jobs_schedule_tick_key
    on background_jobs (schedule_id, run_at)
    where schedule_id is not null;
