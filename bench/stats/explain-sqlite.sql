-- The statements behind GET /api/v2/admin/stats and GET /metrics, as
-- src/storage/history.rs (QUEUE_DEPTH) and src/storage/sqlite/finished.rs run them: each planned,
-- then run under .timer.
.bail on
.timer on
explain query plan
select job_type, status, count(*) as count, min(created_at) as oldest
from background_jobs where status = 'pending' group by job_type, status
union all
select job_type, status, count(*) as count, min(created_at) as oldest
from background_jobs where status = 'running' group by job_type, status
order by job_type, status;
select job_type, status, count(*) as count, min(created_at) as oldest
from background_jobs where status = 'pending' group by job_type, status
union all
select job_type, status, count(*) as count, min(created_at) as oldest
from background_jobs where status = 'running' group by job_type, status
order by job_type, status;
explain query plan
select job_type, status, count(*) as last_day, count(*) filter (where completed_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour')) as last_hour
from background_jobs where status in ('completed', 'failed', 'cancelled') and completed_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day')
group by job_type, status order by job_type, status;
select job_type, status, count(*) as last_day, count(*) filter (where completed_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour')) as last_hour
from background_jobs where status in ('completed', 'failed', 'cancelled') and completed_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day')
group by job_type, status order by job_type, status;
-- Once folded (src/storage/sqlite/finished.rs): a day of minutes, and the index for the
-- unfolded tail (here the fold's end is 5 min ago).
explain query plan
select minute, job_type, status, count from finished_minutes
where minute >= strftime('%Y-%m-%dT%H:%M:00.000Z', 'now', '-1 day') and minute < strftime('%Y-%m-%dT%H:%M:00.000Z', 'now', '-5 minutes');
select count(*) from finished_minutes
where minute >= strftime('%Y-%m-%dT%H:%M:00.000Z', 'now', '-1 day') and minute < strftime('%Y-%m-%dT%H:%M:00.000Z', 'now', '-5 minutes');
select job_type, status, count(*) as last_day
from background_jobs where status in ('completed', 'failed', 'cancelled') and completed_at >= strftime('%Y-%m-%dT%H:%M:00.000Z', 'now', '-5 minutes')
group by job_type, status;
