drop table finished_rollup;
drop table finished_minutes;
