-- Post-seed report for the SQLite half (run by run.sh).
.bail on
select 'status mix: ' || group_concat(status || '=' || n, ', ')
from (select status, count(*) as n from background_jobs group by status order by n desc);
select 'running jobs created more than 1 h ago: ' || count(*) from background_jobs
where status = 'running' and created_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour');
select 'non-canonical timestamps (must be 0): ' || count(*) from background_jobs
where created_at is not strftime('%Y-%m-%dT%H:%M:%fZ', created_at)
   or started_at is not strftime('%Y-%m-%dT%H:%M:%fZ', started_at)
   or completed_at is not strftime('%Y-%m-%dT%H:%M:%fZ', completed_at);
select 'active set of user00000: ' || count(*) || ' jobs (' ||
       cast(total(status in ('pending', 'running')) as integer) || ' pending/running, ' ||
       cast(total(status not in ('pending', 'running')) as integer) || ' finished in the last 5 min); mean over all users ' ||
       (select round(count(*) * 1.0 / (select count(*) from users), 1) from background_jobs
         where status in ('pending', 'running')
            or completed_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-5 minutes'))
from background_jobs j join users u on u.id = j.created_by
where u.email = 'user00000@example.com'
  and (j.status in ('pending', 'running')
       or j.completed_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-5 minutes'));
select 'users ' || (select count(*) from users) || ', auth_tokens ' || (select count(*) from auth_tokens) ||
       ', datasets ' || (select count(*) from datasets) || ', jobs ' || (select count(*) from background_jobs);
