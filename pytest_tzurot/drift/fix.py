"""Drift fix: re-record the checksum of applied migrations whose edit is provably cosmetic.

`plan()` decides per migration (fixed, forced, unchanged or refused) without
writing; `apply()` then updates only the `checksum` column of the history
table, for all planned fixes in one transaction, under Prisma's advisory lock,
and only where the row still holds the checksum that was read. A plan with
any refusal writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from pytest_tzurot.drift.assess import COSMETIC, UNCHANGED, UNKNOWN, assess
from pytest_tzurot.drift.check import DatabaseState, latest_rows
from pytest_tzurot.drift.git import Repo, find_repo
from pytest_tzurot.errors import ConfigError, ServerError
from pytest_tzurot.migrations.discovery import Migration
from pytest_tzurot.migrations.history import HistoryRow, table_identifier

FIXED, FORCED, NOTHING, REFUSED = "fixed", "forced", "unchanged", "refused"
PRISMA_LOCK_KEY = 72707369  # Prisma Migrate's advisory lock: never fix while a deploy runs


@dataclass(frozen=True)
class FixOutcome:
    """What `fix` does (or refuses to do) for one migration, and why."""

    name: str
    action: str
    reason: str
    row: HistoryRow | None = None
    new_checksum: str | None = None

    @property
    def writes(self) -> bool:
        return self.action in (FIXED, FORCED)

    def line(self) -> str:
        """One line for the terminal: what changed (or why not)."""
        if self.writes:
            assert self.row is not None
            return (f"{self.action} {self.name}: checksum {self.row.checksum} -> {self.new_checksum} "
                    f"(only the checksum column changed; {self.reason})")
        if self.action == NOTHING:
            return f"unchanged {self.name}: {self.reason}"
        return f"refused {self.name}: {self.reason}"


def plan(state: DatabaseState, migrations: list[Migration], names: list[str], *, force: bool = False,
         repo: Repo | None = None) -> list[FixOutcome]:
    """The outcome for each name; ConfigError when a name is neither on disk nor in the history."""
    on_disk = {m.name: m for m in migrations}
    applied, failed = latest_rows(state.rows)
    unknown = [n for n in names if n not in on_disk and n not in applied and n not in failed]
    if unknown:
        raise ConfigError(
            f"no migration named {', '.join(unknown)} on disk or in the history table; "
            "`tzurot drift check` lists the names"
        )
    if repo is None and migrations:
        repo = find_repo(migrations[0].path)
    return [
        _decide(name, on_disk.get(name), applied.get(name), name in failed, force, state, repo)
        for name in dict.fromkeys(names)
    ]


def _decide(name: str, migration: Migration | None, row: HistoryRow | None, failed: bool, force: bool,
            state: DatabaseState, repo: Repo | None) -> FixOutcome:
    if row is None:
        why = ("its last attempt failed; resolve it with `tzurot migrate` (see migrate status), not drift fix"
               if failed else "it is not applied to this database, so there is no checksum to fix")
        return FixOutcome(name, REFUSED, why)
    if migration is None:
        return FixOutcome(name, REFUSED, "its file is missing on disk; restore it from git "
                          "(applied migrations are history), then run drift check", row)
    result = assess(row, migration, state.side_rows, repo)
    if result.kind == UNCHANGED:
        return FixOutcome(name, NOTHING, "the file already matches the recorded checksum", row)
    if result.kind == COSMETIC:
        return FixOutcome(name, FIXED, result.detail, row, migration.checksum)
    if result.kind == UNKNOWN:
        if force:
            return FixOutcome(name, FORCED, f"--force: {result.detail}", row, migration.checksum)
        return FixOutcome(name, REFUSED, f"cannot prove the edit is cosmetic: {result.detail}; "
                          "review the edit and re-run with --force to accept the file as applied", row)
    return FixOutcome(name, REFUSED, f"{result.detail}. Revert the edit and add a new migration instead "
                      "(`tzurot migrate create NAME`); --force does not override a semantic edit", row)


def apply(conn: psycopg.Connection, history_table: str, outcomes: list[FixOutcome]) -> int:
    """Write the planned fixes in the caller's transaction; ServerError if a row changed meanwhile."""
    table = table_identifier(history_table)
    written = 0
    for outcome in outcomes:
        if not outcome.writes:
            continue
        assert outcome.row is not None
        cur = conn.execute(
            sql.SQL("UPDATE {} SET checksum = %s WHERE id = %s AND checksum = %s").format(table),
            (outcome.new_checksum, outcome.row.id, outcome.row.checksum),
        )
        if cur.rowcount != 1:
            raise ServerError(
                f"{outcome.name}: its history row changed while fixing (another deploy or fix?); "
                "nothing was changed, re-run tzurot drift fix"
            )
        written += 1
    return written


def lock(conn: psycopg.Connection, timeout_s: float = 10.0) -> None:
    """Take Prisma's advisory lock for the current transaction (waits at most `timeout_s`)."""
    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{int(timeout_s * 1000)}ms")))
    try:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (PRISMA_LOCK_KEY,))
    except psycopg.errors.LockNotAvailable:
        raise ServerError(
            f"another deploy holds the migration lock (waited {timeout_s:g} s); retry when it is done"
        ) from None
