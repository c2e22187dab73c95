drop index background_jobs_completed_at_idx;
create index background_jobs_completed_at_idx
    on background_jobs (completed_at)
    where status in ('completed', 'failed', 'cancelled');
