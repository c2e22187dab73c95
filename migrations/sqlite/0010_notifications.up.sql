-- Email on completion: see the PostgreSQL migration.
--
-- SQLite cannot alter a CHECK constraint. Widening it changes no stored row, so the table's
-- definition is edited in place, the procedure SQLite documents for such changes
-- (sqlite.org/lang_altertable.html, "other kinds of table schema changes"), instead of copying
-- every job into a new table. The create table below bumps the schema cookie, so every open
-- connection reloads the edited definition. tests/api/schema.rs checks the new types insert.
pragma writable_schema = on;
update sqlite_schema
   set sql = replace(sql,
                     'check (job_type in (''import'', ''export'', ''validation'', ''processing''))',
                     'check (job_type in (''import'', ''export'', ''validation'', ''processing'', ''email'', ''webhook''))')
 where type = 'table' and name = 'background_jobs';
pragma writable_schema = reset;

alter table users add column notify_email text not null default 'off'
    check (notify_email in ('off', 'failures', 'all'));

create table mail_pending (
    id            integer primary key,
    user_id       text not null references users (id) on delete cascade,
    job_id        text not null,
    job_type      text not null,
    status        text not null,
    finished_at   text not null,
    digest_job_id text
);
create index mail_pending_waiting_idx on mail_pending (user_id, finished_at) where digest_job_id is null;
create index mail_pending_digest_idx on mail_pending (digest_job_id) where digest_job_id is not null;

create trigger background_jobs_mail_outcome
after update of status on background_jobs
when new.created_by is not null and old.status is not new.status
     and new.status in ('completed', 'failed', 'cancelled')
begin
    insert into mail_pending (user_id, job_id, job_type, status, finished_at)
    select u.id, new.id, new.job_type, new.status,
           coalesce(new.completed_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    from users u
    where u.id = new.created_by
      and (u.notify_email = 'all' or (u.notify_email = 'failures' and new.status = 'failed'));
end;
