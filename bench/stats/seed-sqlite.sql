-- make bench-stats: @jobs ownerless jobs into a freshly migrated SQLite database, the same
-- mix as seed-pg.sql. Times are canonical text (strftime '%Y-%m-%dT%H:%M:%fZ'), so the
-- canonical-time triggers never fire; julianday('now') is constant within the statement.
.bail on
pragma synchronous = off;
pragma cache_size = -524288;
begin;
with recursive g(n) as (select 1 union all select n + 1 from g where n < @jobs),
src as (
  select n, n % 1000 as k, (random() / 18446744073709551616.0 + 0.5) as r,
         julianday('now') - (random() / 18446744073709551616.0 + 0.5) * 7 as cjd
  from g
)
insert into background_jobs (job_type, status, progress, created_at, run_at, started_at, completed_at,
                             attempt, lease_expires_at, locked_by)
select case n % 7 when 0 then 'import' when 1 then 'import' when 2 then 'import' when 3 then 'export'
                  when 4 then 'export' when 5 then 'validation' else 'processing' end,
       case when k < 5 then 'pending' when k < 21 then 'running' when k < 61 then 'failed'
            when k < 71 then 'cancelled' else 'completed' end,
       case when k < 21 then 0 else 100 end,
       strftime('%Y-%m-%dT%H:%M:%fZ', cjd), strftime('%Y-%m-%dT%H:%M:%fZ', cjd),
       case when k >= 5 then strftime('%Y-%m-%dT%H:%M:%fZ', cjd + 1 / 86400.0) end,
       case when k >= 21 then strftime('%Y-%m-%dT%H:%M:%fZ', min(cjd + (5 + r * 600) / 86400.0, julianday('now'))) end,
       case when k >= 5 then 1 else 0 end,
       case when k between 5 and 20 then strftime('%Y-%m-%dT%H:%M:%fZ', julianday('now') + 30 / 86400.0) end,
       case when k between 5 and 20 then 'bench' end
from src;
commit;
analyze;
