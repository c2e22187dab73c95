-- Seed a freshly migrated jobwatch PostgreSQL database for the /api/v2/jobs/active benchmark.
--
-- Run by run.sh as:  { <bench_tokens COPY block>; cat seed-pg.sql; } | psql -v jobs=N -v datasets=N
-- The caller first creates and fills the temp table
--     bench_tokens (n int generated always as identity, token text)
-- with one plain bearer token per user (line n = user n-1 = user%05d@example.com).
--
-- Data shape = the reference peer's seed.py (JOBS_SQL), adapted to our schema:
--   by g % 1000 (exact counts): 0.5 % pending (last hour, progress 0), 1.5 % running (last hour),
--   0.1 % running long-running (1 h – 6 h old), 4 % failed, 1 % cancelled, 92.9 % completed
--   (last 7 days, completed_at = created_at + 5 s … 10 min, capped at now()).
-- Jobs are relative to now(): seed right before the load, or the "active" set ages out.
\set ON_ERROR_STOP 1
\pset footer off
set synchronous_commit = off;
set maintenance_work_mem = '512MB';

select clock_timestamp() as t_all \gset
select clock_timestamp() as t0 \gset

-- 1. users (password_hash '!' = no password login), their bearer tokens, datasets
insert into users (email, password_hash)
select format('user%s@example.com', lpad((n - 1)::text, 5, '0')), '!'
from bench_tokens order by n;

insert into auth_tokens (token_hash, user_id, expires_at)
select sha256(convert_to(t.token, 'UTF8')), u.id, now() + interval '1 day'
from bench_tokens t
join users u on u.email = format('user%s@example.com', lpad((t.n - 1)::text, 5, '0'));

insert into datasets (name, created_by)
select 'dataset_' || g, u.id
from generate_series(1, :datasets) g
join (select id, (row_number() over (order by email) - 1)::int as i, count(*) over () as n from users) u
  on u.i = (g - 1) % u.n;

select format('users:    %s s  (%s users, %s tokens, %s datasets)',
              round(extract(epoch from clock_timestamp() - :'t0')::numeric, 1),
              (select count(*) from users), (select count(*) from auth_tokens),
              (select count(*) from datasets)) as msg \gset
\echo :msg

-- 2. background_jobs, inserted with the migrations' indexes in place (about 18 s for 1M rows on
--    this machine). Dropping and recreating the secondary indexes saves about 5 s but does not give
--    back the migrations' exact definitions: PostgreSQL's deparsed indexdef, replayed, yields a
--    differently written predicate for background_jobs_active_idx.
select clock_timestamp() as t0 \gset
begin;
-- The generated rows satisfy the foreign keys: skip the per-row RI triggers (needs a superuser).
set local session_replication_role = replica;
with u as (select array_agg(id) as ids, count(*)::int as n from users),
     d as (select array_agg(id) as ids, count(*)::int as n from datasets),
src as (
  select g, g % 1000 as k,
         case when g % 1000 < 20 then now() - random() * interval '1 hour'
              when g % 1000 = 20 then now() - interval '1 hour' - random() * interval '5 hours'
              else now() - random() * interval '7 days' end as created_at,
         (array['import','import','import','import','import',
                'export','export','validation','validation','processing'])[1 + floor(random() * 10)::int] as job_type,
         u.ids[1 + floor(random() * u.n)::int] as created_by,
         d.ids[1 + floor(random() * d.n)::int] as dataset_id,
         random() as r
  from generate_series(1, :jobs) as g, u, d
)
insert into background_jobs (id, job_type, status, progress, related_dataset_id, created_by,
                             created_at, started_at, completed_at, error_message,
                             retry_count, max_retries, metadata)
select gen_random_uuid(),
       job_type,
       case when k < 5 then 'pending' when k < 21 then 'running' when k < 61 then 'failed'
            when k < 71 then 'cancelled' else 'completed' end,
       case when k < 5 then 0 when k < 21 then 1 + floor(r * 99)::int
            when k < 71 then floor(r * 100)::int else 100 end,
       case when k >= 71 and job_type = 'import' then dataset_id end,
       created_by,
       created_at,
       case when k < 5 then null else created_at + r * interval '5 seconds' end,
       case when k < 21 then null
            else least(created_at + interval '5 seconds' + r * interval '10 minutes', now()) end,
       case when k between 21 and 60 then 'Parse error: unexpected delimiter at line ' || (g % 5000) end,
       case when k between 21 and 60 then floor(r * 4)::int else 0 end,
       3,
       case when job_type = 'import' then jsonb_build_object('filename', 'upload_' || g || '.csv')
            else '{}'::jsonb end
from src;
commit;
select format('jobs:     %s s  (%s rows)', round(extract(epoch from clock_timestamp() - :'t0')::numeric, 1),
              (select count(*) from background_jobs)) as msg \gset
\echo :msg


select clock_timestamp() as t0 \gset
vacuum analyze;
select format('vacuum:   %s s', round(extract(epoch from clock_timestamp() - :'t0')::numeric, 1)) as msg \gset
\echo :msg

select 'status mix: ' || string_agg(format('%s=%s', status, n), ', ' order by n desc) as msg
from (select status, count(*) as n from background_jobs group by status) s \gset
\echo :msg
select format('running jobs created more than 1 h ago: %s',
              count(*)) as msg from background_jobs
where status = 'running' and created_at < now() - interval '1 hour' \gset
\echo :msg
select format('background_jobs total size (heap+indexes): %s',
              pg_size_pretty(pg_total_relation_size('background_jobs'))) as msg \gset
\echo :msg
-- The active set of user00000 as GET /api/v2/jobs/active defines it: pending/running, plus
-- completed/failed/cancelled that finished in the last 5 minutes.
select format('active set of user00000: %s jobs (%s pending/running, %s finished in the last 5 min); '
              'mean over all users %s',
              count(*), count(*) filter (where status in ('pending', 'running')),
              count(*) filter (where status not in ('pending', 'running')),
              (select round(count(*)::numeric / (select count(*) from users), 1) from background_jobs
                where status in ('pending', 'running') or completed_at >= now() - interval '5 minutes'))
       as msg
from background_jobs j join users u on u.id = j.created_by
where u.email = 'user00000@example.com'
  and (j.status in ('pending', 'running') or j.completed_at >= now() - interval '5 minutes') \gset
\echo :msg
select format('seed total (in PostgreSQL): %s s',
              round(extract(epoch from clock_timestamp() - :'t_all')::numeric, 1)) as msg \gset
\echo :msg
