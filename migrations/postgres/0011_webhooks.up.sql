-- Signed webhooks (docs/webhooks.md): endpoints users (or admins, for everyone's jobs) register,
-- the events waiting to be turned into delivery jobs, and each endpoint's delivery log.

-- owner_id null: a global endpoint, an admin's, that receives every user's job events.
-- events: the event types wanted, comma-separated ('job.completed,job.failed'), one text on
-- both backends. The secret is kept to sign with; the API shows it once, at creation.
create table webhook_endpoints (
    id         uuid primary key,
    owner_id   uuid references users (id) on delete cascade,
    url        text not null,
    events     text not null,
    secret     text not null,
    created_at timestamptz not null,
    created_by uuid references users (id) on delete set null
);
-- The trigger below and the fan-out look endpoints up by owner (global ones under null).
create index webhook_endpoints_owner_idx on webhook_endpoints (owner_id);

-- Job outcomes waiting for the maintenance pass to become one `webhook` job per endpoint that
-- wants them (it deletes them in the same transaction). No foreign key to the job, so pruning
-- pays nothing here.
create table webhook_outbox (
    id          bigint generated always as identity primary key,
    job_id      uuid not null,
    owner_id    uuid not null,
    event_type  text not null,
    occurred_at timestamptz not null
);

-- One line per attempt to deliver, newest read first (the index), a test-send included
-- (job_id null). Goes with its endpoint.
create table webhook_deliveries (
    id          bigint generated always as identity primary key,
    endpoint_id uuid not null references webhook_endpoints (id) on delete cascade,
    event_id    text not null,
    event_type  text not null,
    job_id      uuid,
    attempt     integer not null,
    status_code integer,
    error       text,
    duration_ms bigint not null,
    at          timestamptz not null
);
create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, id);

-- One trigger records an ending job's outcome for both kinds of notification: the email
-- (0010's insert, unchanged) and, only when an endpoint could want it (the owner's or a global
-- one, subscribed to that event), the webhook event. One function call per ending owned job
-- instead of two: 200 000 owned completions in one statement took 5.1 s without notification
-- triggers, 8.1 s with two, 7.1 s with this one (measured by hand, PostgreSQL 15).
create function background_jobs_outcome() returns trigger language plpgsql as $$
begin
    insert into mail_pending (user_id, job_id, job_type, status, finished_at)
    select u.id, new.id, new.job_type, new.status, coalesce(new.completed_at, now())
    from users u
    where u.id = new.created_by
      and (u.notify_email = 'all' or (u.notify_email = 'failures' and new.status = 'failed'));
    insert into webhook_outbox (job_id, owner_id, event_type, occurred_at)
    select new.id, new.created_by, 'job.' || new.status, coalesce(new.completed_at, now())
    where exists (
        select 1 from webhook_endpoints e
        where (e.owner_id = new.created_by or e.owner_id is null)
          and (',' || e.events || ',') like ('%,job.' || new.status || ',%'));
    return null;
end
$$;

-- As 0010's trigger: the WHEN is checked without calling the function, so ownerless jobs
-- (notification deliveries among them) and progress updates pay nothing.
drop trigger background_jobs_mail_outcome on background_jobs;
drop function background_jobs_mail_outcome();
create trigger background_jobs_outcome
    after update of status on background_jobs
    for each row
    when (new.created_by is not null and old.status is distinct from new.status
          and new.status in ('completed', 'failed', 'cancelled'))
    execute function background_jobs_outcome();
