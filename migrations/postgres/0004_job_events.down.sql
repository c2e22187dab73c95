drop table job_audit;
drop index background_jobs_status_history_idx;
drop index background_jobs_history_idx;
drop index background_jobs_created_by_idx;
create index background_jobs_created_by_idx
    on background_jobs (created_by, created_at desc)
    where created_by is not null;
alter table background_jobs
    drop column heartbeat_at,
    drop column stage,
    drop column version;
