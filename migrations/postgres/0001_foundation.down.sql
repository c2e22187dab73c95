drop table background_jobs;
drop table datasets;
drop table auth_tokens;
drop table users;
