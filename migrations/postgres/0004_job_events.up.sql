-- Live updates: every change a watcher can see moves a job's version, so pushed changes can be
-- ordered and deduplicated; the handler's stage text; and the last sign of life of a running job.

alter table background_jobs
    -- Starts at 1 and grows by one with every visible change (status, progress, stage, error, …);
    -- lease renewals alone do not move it.
    add column version      bigint not null default 1,
    -- Short text the handler reports with its progress ("parsing rows 120 000 / 1 000 000").
    add column stage        text check (char_length(stage) <= 200),
    -- When the job last showed life: started or claimed, lease renewed, progress reported.
    -- A running job quiet for longer than JOBWATCH_STALLED_AFTER is shown as stalled.
    add column heartbeat_at timestamptz;
