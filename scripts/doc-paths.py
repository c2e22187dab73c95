#!/usr/bin/env python3
"""Every path the docs name must exist: a README that points at a file since moved fails make test.

Reads README.md, DEVELOPERS.md and docs/*.md (or the files given). Checks
- each inline `code` span that names a path: one whose first part is a top-level entry of the
  clone or a folder of src/ (`src/jobs/state.rs`, `storage/postgres/`, `tests/cli/`), or a bare
  file name with a source extension (`runner.rs`). A path is looked for from the clone's root,
  from the page's folder and from src/; a bare name first in the folder the line named last
  (`src/worker/` — `runner.rs`, `lease.rs`), else anywhere in the clone;
- each relative link, [text](path#anchor): the file, and the heading the anchor names.
Code blocks are not read; spans with placeholders (`raw/<job id>`, `…`, `*`) are skipped.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# For bare names (`runner.rs`); not .sql, which is also a method (`app.sql`).
EXTENSIONS = {"rs", "md", "sh", "py", "toml", "json", "png", "mjs", "ts", "tsx", "lock", "lua", "html"}
# Placeholders (`raw/<job id>`, `NNNN_name.up.sql`), URLs, routes, and paths outside the clone.
PLACEHOLDER = re.compile(r"[\s<>{}*…$~|\\]|NNN|://|^\.\.|^/")
SPAN = re.compile(r"`([^`]+)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def tracked_files():
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    return [f for f in out.splitlines() if os.path.exists(os.path.join(ROOT, f))]


FILES = tracked_files()
BASENAMES = {os.path.basename(f) for f in FILES}
ROOTS = {f.split("/", 1)[0] for f in FILES} | {
    f.split("/")[1] for f in FILES if f.startswith("src/") and f.count("/") >= 2
}


def exists(rel):
    path = os.path.normpath(os.path.join(ROOT, rel))
    return path.startswith(ROOT) and (os.path.isdir(path) if rel.endswith("/") else os.path.exists(path))


def names_a_path(token):
    if PLACEHOLDER.search(token):
        return False
    first = token.split("/", 1)[0]
    if "/" in token:
        return first in ROOTS
    stem, dot, extension = token.rpartition(".")
    return token in ROOTS or bool(stem and dot) and extension in EXTENSIONS


def resolve(token, page_dir, base):
    """The path `token` names, or None."""
    candidates = [token, os.path.join(page_dir, token), os.path.join("src", token)]
    if base and "/" not in token:
        candidates.insert(0, os.path.join(base, token))
    for c in candidates:
        if exists(c):
            return c
    if "/" not in token and token in BASENAMES:
        return token
    return None


def slug(heading):
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", f.read(), re.M)}


def check(page):
    problems = []
    page_dir = os.path.dirname(page)
    in_code = False
    with open(os.path.join(ROOT, page), encoding="utf-8") as f:
        lines = f.read().split("\n")
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        # A list item's folder stays the base for the names on its continuation lines.
        if not line.startswith("  "):
            base = None
        for token in SPAN.findall(line):
            token = token.strip()
            if not names_a_path(token):
                continue
            found = resolve(token, page_dir, base)
            if found is None:
                problems.append(f"{page}:{number}: `{token}` names no file or folder")
            elif found.endswith("/"):
                base = found
        for target in LINK.findall(line):
            if re.match(r"^[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            rel = os.path.normpath(os.path.join(page_dir, path)) if path else page
            if not exists(rel + ("/" if path.endswith("/") else "")):
                problems.append(f"{page}:{number}: link to {target}: no such file")
            elif anchor and rel.endswith(".md") and anchor not in anchors(rel):
                problems.append(f"{page}:{number}: link to {target}: no heading #{anchor} in {rel}")
    return problems


def main(pages):
    pages = pages or ["README.md", "DEVELOPERS.md"] + sorted(
        os.path.join("docs", f) for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md")
    )
    problems = [p for page in pages for p in check(page)]
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"FAIL: {len(problems)} path(s) in the docs name nothing (moved or renamed?)", file=sys.stderr)
        return 1
    print(f"doc paths: every path named in {len(pages)} pages exists")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
