-- History search (`GET /jobs?q=`): the text `q` is matched against, lowercased, kept next to the
-- keys of every history index, so a search reads only index pages. Before, each of a user's
-- jobs cost a heap page visit to read its file name and error: 38 ms for a user of 10 000 jobs
-- on 1 M, with no match; 2.5 ms now. A trigram index (pg_trgm) was measured and rejected: its
-- row estimates are far off, so a common word ("prices") took 95 ms instead of 0.1.
-- The error is cut to its first 300 characters (where the reason is), so index rows stay
-- below PostgreSQL's 2 704-byte limit even in four-byte characters. Adding a stored column
-- rewrites the table once: 19 s per million jobs, measured.
-- Jobs without an owner are in nobody's history: they store null and skip the computation,
-- which otherwise cost the queue's bulk enqueue about 10 % (measured with make bench-queue).
alter table background_jobs add column search_text text generated always as (
    case when created_by is not null then
        left(lower(coalesce(metadata ->> 'filename', '')), 255) || E'\n'
            || left(lower(coalesce(error_message, '')), 300)
    end
) stored;

-- The same four history indexes, each also carrying the job's type and search text, so a page
-- filtered by type or text is decided in the index too.
drop index background_jobs_created_by_idx;
create index background_jobs_created_by_idx
    on background_jobs (created_by, created_at desc, id desc) include (job_type, search_text)
    where created_by is not null;
drop index background_jobs_owner_status_history_idx;
create index background_jobs_owner_status_history_idx
    on background_jobs (created_by, status, created_at desc, id desc) include (job_type, search_text)
    where created_by is not null;
drop index background_jobs_history_idx;
create index background_jobs_history_idx
    on background_jobs (created_at desc, id desc) include (job_type, search_text)
    where created_by is not null;
drop index background_jobs_status_history_idx;
create index background_jobs_status_history_idx
    on background_jobs (status, created_at desc, id desc) include (job_type, search_text)
    where created_by is not null;
