-- How an import read its file (the sheet, delimiter, encoding, and the format when a .json file
-- held JSON Lines), and what it changed so rows fit the header (rows padded or trimmed). Old
-- datasets read with the defaults and changed nothing: '{}' and '[]'.
alter table datasets add column read_as jsonb not null default '{}';
alter table datasets add column warnings jsonb not null default '[]';
