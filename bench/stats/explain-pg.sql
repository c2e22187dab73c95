-- The statements behind GET /api/v2/admin/stats and GET /metrics, as
-- src/storage/postgres/history.rs runs them (queue_depth, finished_counts).
\set ON_ERROR_STOP 1
\pset pager off
explain (analyze, buffers, costs off)
select job_type, status, count(*) as count, min(created_at) as oldest
from background_jobs where status = 'pending' group by job_type, status
union all
select job_type, status, count(*) as count, min(created_at) as oldest
from background_jobs where status = 'running' group by job_type, status
order by job_type, status;
explain (analyze, buffers, costs off)
select job_type, status, count(*) as last_day, count(*) filter (where completed_at >= now() - interval '1 hour') as last_hour
from background_jobs where status in ('completed', 'failed', 'cancelled') and completed_at >= now() - interval '1 day'
group by job_type, status order by job_type, status;
