-- Disabled users: see the PostgreSQL migration.
alter table users add column disabled_at text;
