alter table background_jobs drop column heartbeat_at;
alter table background_jobs drop column stage;
alter table background_jobs drop column version;
