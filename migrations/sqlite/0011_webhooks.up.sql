-- Signed webhooks: see the PostgreSQL migration.
create table webhook_endpoints (
    id         text primary key not null,
    owner_id   text references users (id) on delete cascade,
    url        text not null,
    events     text not null,
    secret     text not null,
    created_at text not null,
    created_by text references users (id) on delete set null
);
create index webhook_endpoints_owner_idx on webhook_endpoints (owner_id);

-- autoincrement: an event's row id is never reused, even after the table was emptied.
create table webhook_outbox (
    id          integer primary key autoincrement,
    job_id      text not null,
    owner_id    text not null,
    event_type  text not null,
    occurred_at text not null
);

create table webhook_deliveries (
    id          integer primary key autoincrement,
    endpoint_id text not null references webhook_endpoints (id) on delete cascade,
    event_id    text not null,
    event_type  text not null,
    job_id      text,
    attempt     integer not null,
    status_code integer,
    error       text,
    duration_ms integer not null,
    at          text not null
);
create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, id);

create trigger background_jobs_webhook_outcome
after update of status on background_jobs
when new.created_by is not null and old.status is not new.status
     and new.status in ('completed', 'failed', 'cancelled')
begin
    insert into webhook_outbox (job_id, owner_id, event_type, occurred_at)
    select new.id, new.created_by, 'job.' || new.status,
           coalesce(new.completed_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    where exists (
        select 1 from webhook_endpoints e
        where (e.owner_id = new.created_by or e.owner_id is null)
          and (',' || e.events || ',') like ('%,job.' || new.status || ',%'));
end;
