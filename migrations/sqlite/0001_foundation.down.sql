drop trigger background_jobs_canonical_times_update;
drop trigger background_jobs_canonical_times_insert;
drop table background_jobs;
drop table datasets;
drop table auth_tokens;
drop table users;
