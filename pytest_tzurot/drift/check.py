"""Drift check: every applied history row against its file on disk, read-only.

Statuses: `ok` (checksum matches, with Prisma's line-ending tolerance),
`drift` (file edited; both checksums and whether the edit is cosmetic),
`missing` (applied, file gone), `renamed` (applied, file now under another
name), and the informational `pending` (on disk, not applied) and `failed`
(a failed row; `tzurot migrate status` deals with it). Only the first three
problems count as drift. The connection is read-only: this never writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from pytest_tzurot.connect import connect
from pytest_tzurot.drift.assess import COSMETIC, SEMANTIC, UNKNOWN, assess
from pytest_tzurot.drift.git import Repo, find_repo
from pytest_tzurot.errors import ServerError
from pytest_tzurot.migrations import fingerprints, history
from pytest_tzurot.migrations.discovery import Migration
from pytest_tzurot.migrations.fingerprints import FingerprintRow
from pytest_tzurot.migrations.history import HistoryRow

OK, DRIFT, MISSING, RENAMED, PENDING, FAILED = "ok", "drift", "missing", "renamed", "pending", "failed"
PROBLEMS = (DRIFT, MISSING, RENAMED)


@dataclass(frozen=True)
class DriftEntry:
    """One migration's state; `recorded`/`current` are the database's and the file's checksums."""

    name: str
    status: str
    detail: str = ""
    recorded: str | None = None
    current: str | None = None
    path: str | None = None
    edit: str | None = None  # for `drift`: cosmetic, semantic or unknown

    @property
    def is_problem(self) -> bool:
        return self.status in PROBLEMS


@dataclass(frozen=True)
class DriftReport:
    """The check's result: one entry per migration applied or on disk, in name order."""

    history_table: str
    table_found: bool
    entries: list[DriftEntry] = field(default_factory=list)

    @property
    def problems(self) -> list[DriftEntry]:
        return [e for e in self.entries if e.is_problem]

    def as_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for entry in self.entries:
            counts[entry.status] = counts.get(entry.status, 0) + 1
        return {"history_table": self.history_table, "table_found": self.table_found,
                "drift": bool(self.problems), "counts": counts,
                "migrations": [asdict(e) for e in self.entries]}


@dataclass(frozen=True)
class DatabaseState:
    """What the database recorded: history rows and side-table fingerprints."""

    table_found: bool
    rows: list[HistoryRow]
    side_rows: list[FingerprintRow]


@contextmanager
def read_only(dsn: str) -> Iterator[psycopg.Connection]:
    """A connection that cannot write (default_transaction_read_only), rolled back and closed after."""
    conn = connect(dsn, application_name="tzurot drift check")
    try:
        conn.read_only = True
        conn.execute("SET default_transaction_read_only = on")
        yield conn
    finally:
        try:
            conn.rollback()
        finally:
            conn.close()


def read_state(conn: psycopg.Connection, history_table: str) -> DatabaseState:
    """The history and side-table rows (empty when the tables do not exist); ServerError on SQL errors."""
    try:
        found = history.exists(conn, history_table)
        rows = history.read(conn, history_table) if found else []
        side = fingerprints.read(conn, history_table) if found else []
    except psycopg.Error as exc:
        raise ServerError(f"cannot read {history_table}: {str(exc).strip().splitlines()[0]}") from None
    return DatabaseState(found, rows, side)


def latest_rows(rows: list[HistoryRow]) -> tuple[dict[str, HistoryRow], dict[str, HistoryRow]]:
    """Per migration name: the latest applied row, and the latest failed row of names never applied."""
    applied: dict[str, HistoryRow] = {}
    failed: dict[str, HistoryRow] = {}
    for row in rows:  # ordered by started_at: later rows win
        if row.is_applied:
            applied[row.migration_name] = row
        elif row.is_failed:
            failed[row.migration_name] = row
    return applied, {k: v for k, v in failed.items() if k not in applied}


def check(state: DatabaseState, migrations: list[Migration], history_table: str,
          repo: Repo | None = None) -> DriftReport:
    """Compare every applied row with its file; never writes."""
    on_disk = {m.name: m for m in migrations}
    applied, failed = latest_rows(state.rows)
    by_checksum = {m.checksum: m for m in migrations if m.name not in applied}
    if repo is None and migrations:
        repo = find_repo(migrations[0].path)
    entries: list[DriftEntry] = []
    for name in sorted(set(on_disk) | set(applied) | set(failed)):
        migration, row = on_disk.get(name), applied.get(name)
        if row is None:
            if name in failed:
                entries.append(DriftEntry(
                    name, FAILED, "a failed attempt is recorded; see tzurot migrate status",
                    recorded=failed[name].checksum, current=migration.checksum if migration else None))
            else:
                assert migration is not None
                entries.append(DriftEntry(name, PENDING, "not applied yet", current=migration.checksum,
                                          path=str(migration.path)))
        elif migration is None:
            twin = by_checksum.get(row.checksum.strip().lower())
            if twin is not None:
                entries.append(DriftEntry(
                    name, RENAMED,
                    f"applied as {name}, but the file is now {twin.path} (name {twin.name}): restore the "
                    "original name; the history table records migrations by name",
                    recorded=row.checksum, current=twin.checksum, path=str(twin.path)))
            else:
                entries.append(DriftEntry(
                    name, MISSING,
                    f"applied, but no migration named {name} is on disk: restore the file from git "
                    "(applied migrations are history)", recorded=row.checksum))
        else:
            entries.append(_compare(row, migration, state.side_rows, repo))
    return DriftReport(history_table, state.table_found, entries)


def _compare(row: HistoryRow, migration: Migration, side_rows: list[FingerprintRow],
             repo: Repo | None) -> DriftEntry:
    result = assess(row, migration, side_rows, repo)
    common = {"recorded": row.checksum, "current": migration.checksum, "path": str(migration.path)}
    if result.kind not in (COSMETIC, SEMANTIC, UNKNOWN):
        return DriftEntry(row.migration_name, OK, "", **common)
    advice = {
        COSMETIC: f"fix the checksum with `tzurot drift fix {row.migration_name}`",
        SEMANTIC: "revert the edit and add a new migration instead",
        UNKNOWN: "revert the edit, or after reviewing it run "
                 f"`tzurot drift fix {row.migration_name} --force`",
    }[result.kind]
    return DriftEntry(row.migration_name, DRIFT, f"{result.detail}; {advice}", edit=result.kind, **common)


def relative(path: str | None, root: Path) -> str | None:
    """`path` relative to `root` when it is inside it (for shorter output)."""
    if path is None:
        return None
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path
