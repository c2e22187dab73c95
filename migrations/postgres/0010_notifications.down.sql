drop trigger background_jobs_mail_outcome on background_jobs;
drop function background_jobs_mail_outcome();
drop table mail_pending;
alter table users drop column notify_email;
delete from background_jobs where job_type in ('email', 'webhook');
alter table background_jobs drop constraint background_jobs_job_type_check;
alter table background_jobs add constraint background_jobs_job_type_check
    check (job_type in ('import', 'export', 'validation', 'processing'));
