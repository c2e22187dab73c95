-- Email on completion (docs/notifications.md). Notifications are jobs themselves, of types
-- only jobwatch creates: 'email' (a user's digest) and 'webhook' (one delivery). They have no
-- owner, so they are in nobody's list. The check is added NOT VALID: every existing row passed
-- the stricter check it replaces, and validating would scan the whole table under lock.
alter table background_jobs drop constraint background_jobs_job_type_check;
alter table background_jobs add constraint background_jobs_job_type_check
    check (job_type in ('import', 'export', 'validation', 'processing', 'email', 'webhook')) not valid;

-- Which of their own jobs' outcomes a user is mailed about.
alter table users add column notify_email varchar(10) not null default 'off'
    constraint users_notify_email_check check (notify_email in ('off', 'failures', 'all'));

-- Outcomes waiting to be mailed. Written by the trigger below in the transaction that ends the
-- job, so no outcome is lost whichever path ended it (a worker, a cancel, a rescue out of
-- retries). A digest job takes a user's waiting rows (digest_job_id), sends them in one email
-- and deletes them. No foreign key to the job: a pruned job does not take its line out of a
-- digest, and pruning pays nothing for this table.
create table mail_pending (
    id            bigint generated always as identity primary key,
    user_id       uuid not null references users (id) on delete cascade,
    job_id        uuid not null,
    job_type      varchar(50) not null,
    status        varchar(20) not null,
    finished_at   timestamptz not null,
    digest_job_id uuid
);
-- The maintenance pass looks for users whose waiting rows are due.
create index mail_pending_waiting_idx on mail_pending (user_id, finished_at) where digest_job_id is null;
-- A digest job reads and deletes its own rows.
create index mail_pending_digest_idx on mail_pending (digest_job_id) where digest_job_id is not null;

create function background_jobs_mail_outcome() returns trigger language plpgsql as $$
begin
    insert into mail_pending (user_id, job_id, job_type, status, finished_at)
    select u.id, new.id, new.job_type, new.status, coalesce(new.completed_at, now())
    from users u
    where u.id = new.created_by
      and (u.notify_email = 'all' or (u.notify_email = 'failures' and new.status = 'failed'));
    return null;
end
$$;

-- Only owned jobs reaching an end: the WHEN is checked without calling the function, so
-- ownerless queue work and progress updates pay nothing.
create trigger background_jobs_mail_outcome
    after update of status on background_jobs
    for each row
    when (new.created_by is not null and old.status is distinct from new.status
          and new.status in ('completed', 'failed', 'cancelled'))
    execute function background_jobs_mail_outcome();
