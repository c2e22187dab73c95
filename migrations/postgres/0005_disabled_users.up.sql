-- An admin may disable a user: they can no longer log in, their sessions end (their tokens
-- are deleted in the same transaction) and their live sockets close. Their jobs stay.
alter table users add column disabled_at timestamptz;
