-- make bench-stats: :jobs ownerless jobs into a freshly migrated PostgreSQL database, the
-- mix of bench/api/seed-pg.sql by g % 1000: 0.5 % pending, 1.6 % running, 4 % failed, 1 %
-- cancelled, 92.9 % completed; created over the last 7 days (the default retention),
-- completed 5 s to 10 min after. Ownerless: the stats read no per-user index, and the
-- history indexes leave such jobs out, so the fill is quicker.
\set ON_ERROR_STOP 1
set synchronous_commit = off;
set maintenance_work_mem = '512MB';
insert into background_jobs (id, job_type, status, progress, created_at, run_at, started_at, completed_at,
                             attempt, lease_expires_at, locked_by)
select gen_random_uuid(),
       (array['import', 'import', 'import', 'export', 'export', 'validation', 'processing'])[1 + g % 7],
       case when k < 5 then 'pending' when k < 21 then 'running' when k < 61 then 'failed'
            when k < 71 then 'cancelled' else 'completed' end,
       case when k < 21 then 0 else 100 end,
       created_at, created_at,
       case when k >= 5 then created_at + interval '1 second' end,
       case when k >= 21 then least(created_at + interval '5 seconds' + r * interval '10 minutes', now()) end,
       case when k >= 5 then 1 else 0 end,
       case when k between 5 and 20 then now() + interval '30 seconds' end,
       case when k between 5 and 20 then 'bench' end
from (select g, g % 1000 as k, random() as r, now() - random() * interval '7 days' as created_at
      from generate_series(1, :jobs) g) src;
vacuum analyze background_jobs;
