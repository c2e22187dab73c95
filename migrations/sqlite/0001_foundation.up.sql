-- jobwatch foundation (SQLite): the same tables as the PostgreSQL schema.
-- uuids are stored as lowercase hyphenated text and timestamps as UTC text
-- 'YYYY-MM-DDTHH:MM:SS.sssZ', so rows read well in the sqlite3 shell and text order is time order.

create table users (
    id            text primary key not null default (lower(
                      hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' ||
                      substr(hex(randomblob(2)), 2) || '-' ||
                      substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' ||
                      hex(randomblob(6)))),
    email         text not null,
    password_hash text not null,
    is_admin      integer not null default 0 check (is_admin in (0, 1)),
    created_at    text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
create unique index users_email_key on users (lower(email));

create table auth_tokens (
    token_hash blob primary key not null,   -- sha256 of the bearer token
    user_id    text not null references users (id) on delete cascade,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    expires_at text not null
);
create index auth_tokens_user_id_idx on auth_tokens (user_id);

create table datasets (
    id         text primary key not null default (lower(
                   hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' ||
                   substr(hex(randomblob(2)), 2) || '-' ||
                   substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' ||
                   hex(randomblob(6)))),
    name       text not null,
    created_by text references users (id) on delete set null,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
create index datasets_created_by_idx on datasets (created_by);

create table background_jobs (
    id                 text primary key not null default (lower(
                           hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' ||
                           substr(hex(randomblob(2)), 2) || '-' ||
                           substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' ||
                           hex(randomblob(6)))),
    job_type           text not null
        check (job_type in ('import', 'export', 'validation', 'processing')),
    status             text not null default 'pending'
        check (status in ('pending', 'running', 'completed', 'failed', 'cancelled')),
    progress           integer not null default 0
        constraint progress_range check (progress >= 0 and progress <= 100),
    related_dataset_id text references datasets (id) on delete set null,
    created_by         text references users (id) on delete set null,
    created_at         text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        check (julianday(created_at) is not null),
    started_at         text check (started_at is null or julianday(started_at) is not null),
    completed_at       text check (completed_at is null or julianday(completed_at) is not null),
    error_message      text,
    retry_count        integer not null default 0 check (retry_count >= 0),
    max_retries        integer not null default 3 check (max_retries >= 0),
    metadata           text not null default '{}' check (json_valid(metadata))
);

-- Same indexes, same reasons, as the PostgreSQL schema (SQLite, too, uses a partial index
-- with `x is not null` for a query comparing x).
create index background_jobs_active_idx
    on background_jobs (created_by, created_at desc)
    where status in ('pending', 'running') and created_by is not null;
create index background_jobs_finished_idx
    on background_jobs (created_by, completed_at desc)
    where completed_at is not null and created_by is not null;
create index background_jobs_created_by_idx
    on background_jobs (created_by, created_at desc)
    where created_by is not null;
create index background_jobs_related_dataset_idx
    on background_jobs (related_dataset_id)
    where related_dataset_id is not null;

-- Other tools may write timestamps in any format SQLite understands ('2026-01-01 10:00:00',
-- '…+02:00'); rewrite them to the canonical UTC form so text comparison stays time comparison.
create trigger background_jobs_canonical_times_insert
after insert on background_jobs
when new.created_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at)
  or new.started_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.started_at)
  or new.completed_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.completed_at)
begin
    update background_jobs set
        created_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at),
        started_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.started_at),
        completed_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.completed_at)
    where rowid = new.rowid;
end;

create trigger background_jobs_canonical_times_update
after update of created_at, started_at, completed_at on background_jobs
when new.created_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at)
  or new.started_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.started_at)
  or new.completed_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.completed_at)
begin
    update background_jobs set
        created_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at),
        started_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.started_at),
        completed_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.completed_at)
    where rowid = new.rowid;
end;
