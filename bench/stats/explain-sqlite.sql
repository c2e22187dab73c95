-- The statements behind GET /api/v2/admin/stats and GET /metrics, as
-- src/storage/history.rs (QUEUE_DEPTH) and src/storage/sqlite/history.rs run them: each planned,
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
