-- jobwatch foundation: users, bearer tokens, datasets and the spec's background_jobs table.

create table users (
    id            uuid primary key default gen_random_uuid(),
    email         text not null,
    password_hash text not null,          -- argon2id PHC string
    is_admin      boolean not null default false,
    created_at    timestamptz not null default now()
);
-- Emails are unique regardless of case: 'Ann@x.io' and 'ann@x.io' are one login.
create unique index users_email_key on users (lower(email));

create table auth_tokens (
    token_hash bytea primary key,         -- sha256 of the bearer token; the token itself is never stored
    user_id    uuid not null references users (id) on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null
);
-- Serves the cascade when a user is deleted.
create index auth_tokens_user_id_idx on auth_tokens (user_id);

-- Minimal for now; the imports issue grows it.
create table datasets (
    id         uuid primary key default gen_random_uuid(),
    name       text not null,
    created_by uuid references users (id) on delete set null,
    created_at timestamptz not null default now()
);
create index datasets_created_by_idx on datasets (created_by);

-- The spec's table, column for column. job_type and status are varchar limited by CHECK
-- constraints rather than enum types: the spec's model maps them as strings, plain-SQL
-- writers need no casts, and a value can be added or removed in one reversible migration
-- (an enum value can never be dropped).
create table background_jobs (
    id                 uuid primary key default gen_random_uuid(),
    job_type           varchar(50) not null
        constraint background_jobs_job_type_check
        check (job_type in ('import', 'export', 'validation', 'processing')),
    status             varchar(20) not null default 'pending'
        constraint background_jobs_status_check
        check (status in ('pending', 'running', 'completed', 'failed', 'cancelled')),
    progress           integer not null default 0
        constraint progress_range check (progress >= 0 and progress <= 100),
    related_dataset_id uuid references datasets (id) on delete set null,
    created_by         uuid references users (id) on delete set null,
    created_at         timestamptz not null default now(),
    started_at         timestamptz,
    completed_at       timestamptz,
    error_message      text,
    retry_count        integer not null default 0 check (retry_count >= 0),
    max_retries        integer not null default 3 check (max_retries >= 0),
    metadata           jsonb not null default '{}'::jsonb
);

-- The per-user indexes below leave out jobs without an owner (made by the application
-- itself, by CLI schedules, in bulk): they are in nobody's list, and as one huge group of NULL
-- keys they cost every insert, claim and completion of such a job an index write for nothing.
-- Queries on `created_by = $1` imply `created_by is not null`, so the planner still uses them.

-- GET /jobs/active, first half: a user's pending and running jobs, newest first. Partial, so
-- it holds only the few unfinished jobs and the scan is a short per-user range whatever the
-- table's size or the jobs' age.
create index background_jobs_active_idx
    on background_jobs (created_by, created_at desc)
    where status in ('pending', 'running') and created_by is not null;

-- GET /jobs/active, second half: a user's jobs finished in the last minutes. created_by
-- first for the per-user range, completed_at second to stop at the 5-minute cutoff.
create index background_jobs_finished_idx
    on background_jobs (created_by, completed_at desc)
    where completed_at is not null and created_by is not null;

-- A user's history, newest first, and the ON DELETE SET NULL of users.
create index background_jobs_created_by_idx
    on background_jobs (created_by, created_at desc)
    where created_by is not null;

-- ON DELETE SET NULL of datasets; most jobs have none, so only rows that do are indexed.
create index background_jobs_related_dataset_idx
    on background_jobs (related_dataset_id)
    where related_dataset_id is not null;
