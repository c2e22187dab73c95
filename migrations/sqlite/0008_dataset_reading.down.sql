alter table datasets drop column warnings;
alter table datasets drop column read_as;
