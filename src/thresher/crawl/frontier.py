"""The resumable frontier: every URL the crawl has seen, its site, depth and state, in one SQLite file.

States: ``queued`` (to fetch), ``done`` (fetched and stored, or finally failed), ``skipped`` (robots,
scope, limits: never fetched). Order within a site is breadth first: terms pages first (priority 0),
then by depth, then by discovery. The file is on disk, so a 100k-URL frontier costs pages of SQLite
cache, not Python objects; every state change is committed right after the WARC records it
describes are flushed, so a killed crawl resumes where it stopped.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterable

SCHEMA = """
create table if not exists urls (url text primary key, site text not null, depth integer not null,
    prio integer not null default 1, seq integer not null, state text not null default 'queued',
    outcome text, via text);
create index if not exists urls_next on urls (site, state, prio, depth, seq);
create table if not exists sites (site text primary key, seed text not null, pages integer not null default 0,
    info text);
"""


class Frontier:
    def __init__(self, path: Path):
        self.db = sqlite3.connect(str(path), isolation_level=None)
        self.db.execute("pragma journal_mode=wal")
        self.db.execute("pragma synchronous=normal")
        self.db.executescript(SCHEMA)
        self.seq = self.db.execute("select coalesce(max(seq), 0) from urls").fetchone()[0]
        self._batch = 0

    def begin(self) -> None:
        self.db.execute("begin")

    def commit(self) -> None:
        self.db.execute("commit")

    def add_site(self, site: str, seed: str) -> None:
        self.db.execute("insert or ignore into sites (site, seed) values (?, ?)", (site, seed))

    def sites(self) -> list[tuple[str, str]]:
        return list(self.db.execute("select site, seed from sites order by rowid"))

    def site_info(self, site: str) -> dict[str, Any] | None:
        row = self.db.execute("select info from sites where site = ?", (site,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def set_site_info(self, site: str, info: dict[str, Any]) -> None:
        self.db.execute("update sites set info = ? where site = ?", (json.dumps(info, sort_keys=True), site))

    def pages(self, site: str) -> int:
        return self.db.execute("select pages from sites where site = ?", (site,)).fetchone()[0]

    def count_page(self, site: str) -> None:
        self.db.execute("update sites set pages = pages + 1 where site = ?", (site,))

    def add(self, urls: Iterable[tuple[str, str, int, int, str | None]]) -> int:
        """Queue (url, site, depth, prio, via) rows not seen before; a known URL keeps its first entry,
        except that a terms page found later is promoted to priority 0. Returns how many were new."""
        before = self.db.total_changes
        rows = []
        for url, site, depth, prio, via in urls:
            self.seq += 1
            rows.append((url, site, depth, prio, self.seq, via))
        self.db.executemany("insert or ignore into urls (url, site, depth, prio, seq, via) values (?, ?, ?, ?, ?, ?)",
                            rows)
        new = self.db.total_changes - before
        promote = [(u,) for u, _, _, p, _, _ in rows if p == 0]
        if promote:
            self.db.executemany("update urls set prio = 0 where url = ? and state = 'queued'", promote)
        return new

    def next(self, site: str) -> tuple[str, int, int] | None:
        """(url, depth, prio) of the site's next queued URL, breadth first."""
        return self.db.execute("select url, depth, prio from urls where site = ? and state = 'queued' "
                               "order by prio, depth, seq limit 1", (site,)).fetchone()

    def has_queued(self, site: str) -> bool:
        return self.db.execute("select 1 from urls where site = ? and state = 'queued' limit 1", (site,)).fetchone() \
            is not None

    def state(self, url: str) -> str | None:
        row = self.db.execute("select state from urls where url = ?", (url,)).fetchone()
        return row[0] if row else None

    def finish(self, url: str, site: str, state: str, outcome: str, depth: int = 0) -> None:
        """Mark a URL done or skipped (inserting it if it was reached by a redirect, not queued)."""
        self.seq += 1
        self.db.execute("insert into urls (url, site, depth, seq, state, outcome) values (?, ?, ?, ?, ?, ?) "
                        "on conflict(url) do update set state = excluded.state, outcome = excluded.outcome",
                        (url, site, depth, self.seq, state, outcome))

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("select state, count(*) from urls group by state"))

    def close(self) -> None:
        self.db.close()
