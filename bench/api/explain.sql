-- The plan of GET /api/v2/jobs/active on the seeded data, as the server runs it: one prepared
-- statement (token check + both index range scans). Prints a custom and the generic plan.
\set token_hash `head -1 "$TOKENS_FILE" | python3 -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.read().strip().encode()).hexdigest())'`
prepare active(bytea, timestamptz, timestamptz) as
select j.* from auth_tokens t left join lateral (
  select id, job_type, status, progress, related_dataset_id, created_by, created_at, started_at,
         completed_at, error_message, retry_count, max_retries, metadata
  from background_jobs where created_by = t.user_id and status in ('pending', 'running')
  union all
  select id, job_type, status, progress, related_dataset_id, created_by, created_at, started_at,
         completed_at, error_message, retry_count, max_retries, metadata
  from background_jobs where created_by = t.user_id and completed_at >= $3
    and status in ('completed', 'failed', 'cancelled')
) j on true
where t.token_hash = $1 and t.expires_at > $2
order by j.created_at desc;
explain (analyze, buffers, costs off) execute active(decode(:'token_hash', 'hex'), now(), now() - interval '5 minutes');
set plan_cache_mode = force_generic_plan;
explain (analyze, buffers, costs off) execute active(decode(:'token_hash', 'hex'), now(), now() - interval '5 minutes');
