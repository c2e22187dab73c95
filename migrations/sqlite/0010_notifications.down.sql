drop trigger background_jobs_mail_outcome;
drop table mail_pending;
alter table users drop column notify_email;
delete from background_jobs where job_type in ('email', 'webhook');
pragma writable_schema = on;
update sqlite_schema
   set sql = replace(sql,
                     'check (job_type in (''import'', ''export'', ''validation'', ''processing'', ''email'', ''webhook''))',
                     'check (job_type in (''import'', ''export'', ''validation'', ''processing''))')
 where type = 'table' and name = 'background_jobs';
pragma writable_schema = reset;
-- Bumps the schema cookie so open connections reload the narrowed check (see the up migration).
create table mail_schema_bump (x integer);
drop table mail_schema_bump;
