drop trigger background_jobs_webhook_outcome on background_jobs;
drop function background_jobs_webhook_outcome();
drop table webhook_deliveries;
drop table webhook_outbox;
drop table webhook_endpoints;
delete from background_jobs where job_type = 'webhook';
