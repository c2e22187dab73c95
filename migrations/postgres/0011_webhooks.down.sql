drop trigger background_jobs_outcome on background_jobs;
drop function background_jobs_outcome();
-- 0010's trigger, as it was.
create function background_jobs_mail_outcome() returns trigger language plpgsql as $$
begin
    insert into mail_pending (user_id, job_id, job_type, status, finished_at)
    select u.id, new.id, new.job_type, new.status, coalesce(new.completed_at, now())
    from users u
    where u.id = new.created_by
      and (u.notify_email = 'all' or (u.notify_email = 'failures' and new.status = 'failed'));
    return null;
end
$$;
create trigger background_jobs_mail_outcome
    after update of status on background_jobs
    for each row
    when (new.created_by is not null and old.status is distinct from new.status
          and new.status in ('completed', 'failed', 'cancelled'))
    execute function background_jobs_mail_outcome();
drop table webhook_deliveries;
drop table webhook_outbox;
drop table webhook_endpoints;
delete from background_jobs where job_type = 'webhook';
