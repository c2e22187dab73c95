-- Live updates: versions, stage text, last sign of life (see the PostgreSQL migration).
alter table background_jobs add column version integer not null default 1;
alter table background_jobs add column stage text check (length(stage) <= 200);
alter table background_jobs add column heartbeat_at text;
