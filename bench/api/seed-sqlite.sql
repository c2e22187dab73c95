-- Seed a freshly migrated jobwatch SQLite database for the /api/v2/jobs/active benchmark: the
-- same data shape as seed-pg.sql (the reference peer's seed.py mix). Run by run.sh with the
-- sqlite3 CLI after the users/auth_tokens rows written by tokens.py --sqlite-sql, as
--   { echo ".parameter set @jobs N"; echo ".parameter set @datasets N"; cat seed-sqlite.sql; } | sqlite3 DB
--
-- Storage forms of the schema: uuids lowercase hyphenated TEXT (the column defaults generate
-- them), timestamps TEXT exactly strftime('%Y-%m-%dT%H:%M:%fZ', …) — canonical, so the
-- background_jobs_canonical_times_* triggers' WHEN is false and they never fire — booleans 0/1,
-- metadata JSON text. Times are computed as Julian days relative to julianday('now'), which is
-- constant within one statement.
.bail on
pragma synchronous = off;
pragma cache_size = -262144;

-- users 0..n-1 and datasets 0..m-1 by index, for uniform random picks
create temp table bench_users as
select (row_number() over (order by email)) - 1 as i, id from users;
create temp table bench_datasets (i integer primary key, id text not null);

begin;
with recursive g(n) as (select 1 union all select n + 1 from g where n < @datasets)
insert into datasets (name, created_by, created_at)
select 'dataset_' || n, u.id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
from g join bench_users u on u.i = (n - 1) % (select count(*) from bench_users);
commit;
insert into bench_datasets (i, id) select (row_number() over (order by rowid)) - 1, id from datasets;

begin;
with recursive g(n) as (select 1 union all select n + 1 from g where n < @jobs),
src as materialized (
  select n as g, n % 1000 as k,
         -- random() / 2^64 + 0.5 is uniform in [0, 1)
         case when n % 1000 < 20 then julianday('now') - (random() / 18446744073709551616.0 + 0.5) / 24.0
              when n % 1000 = 20 then julianday('now') - 1 / 24.0 - (random() / 18446744073709551616.0 + 0.5) * 5 / 24.0
              else julianday('now') - (random() / 18446744073709551616.0 + 0.5) * 7 end as cjd,
         case abs(random()) % 10 when 0 then 'import' when 1 then 'import' when 2 then 'import'
              when 3 then 'import' when 4 then 'import' when 5 then 'export' when 6 then 'export'
              when 7 then 'validation' when 8 then 'validation' else 'processing' end as job_type,
         abs(random()) % (select count(*) from bench_users) as ui,
         abs(random()) % (select count(*) from bench_datasets) as di,
         random() / 18446744073709551616.0 + 0.5 as r
  from g
)
insert into background_jobs (job_type, status, progress, related_dataset_id, created_by,
                             created_at, started_at, completed_at, error_message,
                             retry_count, max_retries, metadata)
select job_type,
       case when k < 5 then 'pending' when k < 21 then 'running' when k < 61 then 'failed'
            when k < 71 then 'cancelled' else 'completed' end,
       case when k < 5 then 0 when k < 21 then 1 + cast(r * 99 as integer)
            when k < 71 then cast(r * 100 as integer) else 100 end,
       case when k >= 71 and job_type = 'import' then d.id end,
       u.id,
       strftime('%Y-%m-%dT%H:%M:%fZ', cjd),
       case when k < 5 then null else strftime('%Y-%m-%dT%H:%M:%fZ', cjd + r * 5 / 86400.0) end,
       case when k < 21 then null
            else strftime('%Y-%m-%dT%H:%M:%fZ', min(cjd + (5 + r * 600) / 86400.0, julianday('now'))) end,
       case when k between 21 and 60 then 'Parse error: unexpected delimiter at line ' || (g % 5000) end,
       case when k between 21 and 60 then cast(r * 4 as integer) else 0 end,
       3,
       case when job_type = 'import' then json_object('filename', 'upload_' || g || '.csv') else '{}' end
from src
join bench_users u on u.i = src.ui
join bench_datasets d on d.i = src.di;
commit;

analyze;
