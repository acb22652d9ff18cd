"""Which lake files are committed: a small SQLite file beside the lake.

A commit is recorded before its files are moved into place (state `moving`) and marked
`committed` once they are; the writer that finds a `moving` commit when it opens the lake
finishes its moves (every file of it is staged or already in place), so a kill -9 at any
moment leaves either the old state or the new one. Readers take the files of every commit in
the manifest: the ones moving are moved before the writer lets anything read.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS commits (
    commit_id TEXT PRIMARY KEY, state TEXT NOT NULL, note TEXT, created_at TEXT,
    committed_at TEXT
);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, commit_id TEXT NOT NULL, provider TEXT NOT NULL,
    entity TEXT NOT NULL, partition TEXT NOT NULL, rows INTEGER NOT NULL, bytes INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS files_by_entity ON files (entity, provider);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


@dataclass(frozen=True)
class LakeFile:
    """One Parquet file of a commit, by its path under the lake's root."""

    path: str
    provider: str
    entity: str
    partition: str
    rows: int
    bytes: int


class Manifest:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # Autocommit, with explicit BEGIN IMMEDIATE where several statements go together.
        with closing(sqlite3.connect(self.path, isolation_level=None, timeout=30)) as con:
            yield con

    def get(self, key: str) -> str | None:
        with self._connect() as con:
            row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else row[0]

    def put(self, key: str, value: str) -> None:
        with self._connect() as con:
            con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def record(self, commit_id: str, note: str, files: Iterable[LakeFile]) -> None:
        """The commit and its files, in one SQLite transaction, as `moving`."""
        now = dt.datetime.now(dt.UTC).isoformat()
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                con.execute("INSERT INTO commits VALUES (?, 'moving', ?, ?, NULL)",
                            [commit_id, note, now])
                con.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                                [(f.path, commit_id, f.provider, f.entity, f.partition, f.rows,
                                  f.bytes) for f in files])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def mark_committed(self, commit_id: str) -> None:
        with self._connect() as con:
            con.execute("UPDATE commits SET state = 'committed', committed_at = ? "
                        "WHERE commit_id = ?", [dt.datetime.now(dt.UTC).isoformat(), commit_id])

    def moving(self) -> dict[str, list[str]]:
        """Commits recorded but not yet marked committed: their file paths."""
        with self._connect() as con:
            rows = con.execute("""
                SELECT c.commit_id, f.path FROM commits AS c JOIN files AS f USING (commit_id)
                WHERE c.state = 'moving' ORDER BY c.commit_id, f.path""").fetchall()
            empty = con.execute("""
                SELECT commit_id FROM commits AS c WHERE state = 'moving'
                  AND NOT EXISTS (SELECT 1 FROM files AS f WHERE f.commit_id = c.commit_id)
                """).fetchall()
        out: dict[str, list[str]] = {commit_id: [] for (commit_id,) in empty}
        for commit_id, path in rows:
            out.setdefault(commit_id, []).append(path)
        return out

    def has_note(self, note: str) -> bool:
        with self._connect() as con:
            return con.execute("SELECT 1 FROM commits WHERE note = ? LIMIT 1",
                               [note]).fetchone() is not None

    def files(self, entity: str | None = None) -> list[LakeFile]:
        """Every file of every recorded commit (of one entity), oldest commit first."""
        where, params = ("WHERE entity = ?", [entity]) if entity else ("", [])
        with self._connect() as con:
            rows = con.execute(
                f"SELECT path, provider, entity, partition, rows, bytes FROM files {where} "
                "ORDER BY commit_id, path", params).fetchall()
        return [LakeFile(*row) for row in rows]

    def totals(self) -> list[tuple[str, str, int, int, int]]:
        """(provider, entity, files, rows, bytes) for every entity in the lake."""
        with self._connect() as con:
            return con.execute("""
                SELECT provider, entity, count(*), sum(rows), sum(bytes) FROM files
                GROUP BY provider, entity ORDER BY provider, entity""").fetchall()
