-- The admins' overview counts the last day's finished jobs. Read from the completion index
-- that is one entry per finished job: 1.4 M entries, about 0.7 s, on a queue finishing 1.4 M
-- jobs a day. A maintenance pass now folds finished jobs into per-minute counts a few minutes
-- after they finish; the overview reads at most a day of minutes, and the index only for the
-- few minutes not folded yet. Nothing is written when a job finishes: the pass reads the
-- index range since its last run, so the queue's hot path pays nothing.
create table finished_minutes (
    minute   timestamptz not null,
    job_type varchar(50) not null,
    status   varchar(20) not null,
    count    bigint not null,
    primary key (minute, job_type, status)
);

-- How far the pass has folded (exclusive); one row. Null: not yet run.
create table finished_rollup (
    id         int primary key check (id = 1),
    done_until timestamptz
);
insert into finished_rollup (id, done_until) values (1, null);
