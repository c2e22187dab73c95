-- Per-minute counts of finished jobs for the admins' overview: see the PostgreSQL migration.
create table finished_minutes (
    minute   text not null,
    job_type text not null,
    status   text not null,
    count    integer not null,
    primary key (minute, job_type, status)
) without rowid;

create table finished_rollup (
    id         integer primary key check (id = 1),
    done_until text
);
insert into finished_rollup (id, done_until) values (1, null);
