alter table background_jobs
    drop column heartbeat_at,
    drop column stage,
    drop column version;
