drop trigger background_jobs_canonical_times_update;
drop trigger background_jobs_canonical_times_insert;

create trigger background_jobs_canonical_times_insert
after insert on background_jobs
when new.created_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at)
  or new.started_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.started_at)
  or new.completed_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.completed_at)
begin
    update background_jobs set
        created_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at),
        started_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.started_at),
        completed_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.completed_at)
    where rowid = new.rowid;
end;

create trigger background_jobs_canonical_times_update
after update of created_at, started_at, completed_at on background_jobs
when new.created_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at)
  or new.started_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.started_at)
  or new.completed_at is not strftime('%Y-%m-%dT%H:%M:%fZ', new.completed_at)
begin
    update background_jobs set
        created_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.created_at),
        started_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.started_at),
        completed_at = strftime('%Y-%m-%dT%H:%M:%fZ', new.completed_at)
    where rowid = new.rowid;
end;

drop index background_jobs_schedule_tick_key;
drop index background_jobs_completed_at_idx;
drop index background_jobs_lease_idx;
drop index background_jobs_claim_idx;
alter table background_jobs drop column schedule_id;
alter table background_jobs drop column cancel_requested_at;
alter table background_jobs drop column locked_by;
alter table background_jobs drop column lease_expires_at;
alter table background_jobs drop column attempt;
alter table background_jobs drop column run_at;
alter table background_jobs drop column priority;
drop table job_schedules;
