#!/usr/bin/env python3
"""Generate one bearer token per benchmark user: 'jw_' + 64 hex chars (secrets.token_hex(32)).

Writes the plain tokens, one a line, to --out (line n = user n-1 = user%05d@example.com).
With --sqlite-sql FILE it also writes the SQLite rows for those users and their auth_tokens
(token_hash = sha256 of the token as a BLOB; sqlite3 has no sha256 builtin). The PostgreSQL
half hashes the same plain tokens in SQL with sha256(convert_to(token, 'UTF8')).
"""
import argparse
import hashlib
import secrets
import uuid

ap = argparse.ArgumentParser()
ap.add_argument("--users", type=int, required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--sqlite-sql")
a = ap.parse_args()

tokens = ["jw_" + secrets.token_hex(32) for _ in range(a.users)]
with open(a.out, "w") as f:
    f.writelines(t + "\n" for t in tokens)

if a.sqlite_sql:
    ts = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
    exp = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+1 day')"
    with open(a.sqlite_sql, "w") as f:
        f.write("begin;\n")
        for i, tok in enumerate(tokens):
            uid = str(uuid.uuid4())  # lowercase, hyphenated: the schema's uuid text form
            f.write(f"insert into users (id, email, password_hash, is_admin, created_at) "
                    f"values ('{uid}', 'user{i:05d}@example.com', '!', 0, {ts});\n")
            f.write(f"insert into auth_tokens (token_hash, user_id, created_at, expires_at) "
                    f"values (X'{hashlib.sha256(tok.encode()).hexdigest()}', '{uid}', {ts}, {exp});\n")
        f.write("commit;\n")
