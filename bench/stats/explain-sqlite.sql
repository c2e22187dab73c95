-- The statements behind GET /api/v2/admin/stats and GET /metrics, as
-- src/storage/sqlite/history.rs runs them (queue_depth, finished_counts), planned and timed.
.bail on
.timer on
explain query plan
select job_type, status, count(*) as count, min(created_at) as oldest
from background_jobs where status = 'pending' group by job_type
union all
select job_type, status, count(*) as count, min(created_at) as oldest
from background_jobs where status = 'running' group by job_type
order by job_type, status;
explain query plan
select job_type, status, count(*) as last_day, count(*) filter (where completed_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour')) as last_hour
from background_jobs where status in ('completed', 'failed', 'cancelled') and completed_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day')
group by job_type, status order by job_type, status;
