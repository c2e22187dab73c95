-- A user's history filtered by status: see the PostgreSQL migration.
create index background_jobs_owner_status_history_idx
    on background_jobs (created_by, status, created_at desc, id desc)
    where created_by is not null;
