drop index background_jobs_created_by_idx;
drop index background_jobs_owner_status_history_idx;
drop index background_jobs_history_idx;
drop index background_jobs_status_history_idx;
alter table background_jobs drop column search_text;
create index background_jobs_created_by_idx
    on background_jobs (created_by, created_at desc, id desc)
    where created_by is not null;
create index background_jobs_owner_status_history_idx
    on background_jobs (created_by, status, created_at desc, id desc)
    where created_by is not null;
create index background_jobs_history_idx
    on background_jobs (created_at desc, id desc)
    where created_by is not null;
create index background_jobs_status_history_idx
    on background_jobs (status, created_at desc, id desc)
    where created_by is not null;
