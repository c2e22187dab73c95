-- The statements behind GET /api/v2/admin/stats and GET /metrics, as
-- src/storage/postgres/history.rs (queue_depth) and src/storage/postgres/finished.rs run them.
\set ON_ERROR_STOP 1
\pset pager off
explain (analyze, buffers, costs off)
select job_type, status, count(*) as count, min(created_at) as oldest
from background_jobs where status = 'pending' group by job_type, status
union all
select job_type, status, count(*) as count, min(created_at) as oldest
from background_jobs where status = 'running' group by job_type, status
order by job_type, status;
-- What the overview read before the fold, and what a first fold reads once: a day of jobs.
explain (analyze, buffers, costs off)
select job_type, status, count(*) as last_day, count(*) filter (where completed_at >= now() - interval '1 hour') as last_hour
from background_jobs where status in ('completed', 'failed', 'cancelled') and completed_at >= now() - interval '1 day'
group by job_type, status order by job_type, status;
-- The first fold of the last day (rolled back here: the server's first read does it).
begin;
explain (analyze, buffers, costs off)
insert into finished_minutes (minute, job_type, status, count)
select date_trunc('minute', completed_at, 'UTC'), job_type, status, count(*) from background_jobs
where status in ('completed', 'failed', 'cancelled')
  and completed_at >= date_trunc('minute', now() - interval '5 minutes' - interval '1 day', 'UTC')
  and completed_at < date_trunc('minute', now() - interval '5 minutes', 'UTC')
group by 1, 2, 3;
-- What the overview reads once folded: a day of minutes, and the index for the edges and the
-- unfolded tail (here the fold's end is 5 min ago).
explain (analyze, buffers, costs off)
select minute, job_type, status, count from finished_minutes
where minute >= date_trunc('minute', now() - interval '1 day', 'UTC') + interval '1 minute'
  and minute < date_trunc('minute', now() - interval '5 minutes', 'UTC');
explain (analyze, buffers, costs off)
select job_type, status, count(*) as last_day, count(*) filter (where completed_at >= now() - interval '1 hour') as last_hour
from (
  select job_type, status, completed_at from background_jobs where status in ('completed', 'failed', 'cancelled')
    and completed_at >= now() - interval '1 day' and completed_at < date_trunc('minute', now() - interval '1 day', 'UTC') + interval '1 minute'
  union all
  select job_type, status, completed_at from background_jobs where status in ('completed', 'failed', 'cancelled')
    and completed_at >= date_trunc('minute', now() - interval '1 hour', 'UTC') and completed_at < date_trunc('minute', now() - interval '1 hour', 'UTC') + interval '1 minute'
  union all
  select job_type, status, completed_at from background_jobs where status in ('completed', 'failed', 'cancelled')
    and completed_at >= date_trunc('minute', now() - interval '5 minutes', 'UTC')
) finished group by job_type, status order by job_type, status;
rollback;
