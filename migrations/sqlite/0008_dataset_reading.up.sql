-- How an import read its file, and what it changed so rows fit the header (see the PostgreSQL
-- migration).
alter table datasets add column read_as text not null default '{}' check (json_valid(read_as));
alter table datasets add column warnings text not null default '[]' check (json_valid(warnings));
