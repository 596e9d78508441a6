"""The state of every migration: what is on disk against what the history table says.

States: `applied`, `pending` (never applied), `failed` (a row with neither
finished_at nor rolled_back_at: blocks deploys), `rolled_back` (its last
attempt was marked rolled back: the next deploy applies it again),
`drifted` (applied, but the file's checksum no longer matches in any of the
line-ending forms Prisma accepts) and `missing` (applied, no file on disk).
Only `applied` is clean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pytest_tzurot.migrations.checksums import matches
from pytest_tzurot.migrations.discovery import Migration
from pytest_tzurot.migrations.history import HistoryRow

APPLIED = "applied"
PENDING = "pending"
FAILED = "failed"
ROLLED_BACK = "rolled_back"
DRIFTED = "drifted"
MISSING = "missing"
STATES = (APPLIED, PENDING, FAILED, ROLLED_BACK, DRIFTED, MISSING)


@dataclass(frozen=True)
class MigrationStatus:
    """One migration's state, with its file and its latest history row (when there is one)."""

    name: str
    state: str
    path: Path | None = None
    checksum: str | None = None
    recorded_checksum: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    rolled_back_at: datetime | None = None
    applied_steps_count: int | None = None
    logs: str | None = None

    @property
    def ok(self) -> bool:
        """Applied and clean."""
        return self.state == APPLIED

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (timestamps as ISO 8601, paths as strings)."""
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "name": self.name,
            "state": self.state,
            "path": str(self.path) if self.path else None,
            "checksum": self.checksum,
            "recorded_checksum": self.recorded_checksum,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "rolled_back_at": iso(self.rolled_back_at),
            "applied_steps_count": self.applied_steps_count,
            "logs": self.logs,
        }


def _of(name: str, migration: Migration | None, rows: Sequence[HistoryRow]) -> MigrationStatus | None:
    applied = [r for r in rows if r.is_applied]
    failed = [r for r in rows if r.is_failed]
    if failed:
        state, row = FAILED, failed[-1]
    elif applied:
        row = applied[-1]
        if migration is None:
            state = MISSING
        elif not matches(row.checksum, migration.content):
            state = DRIFTED
        else:
            state = APPLIED
    elif rows:
        if migration is None:
            return None  # rolled back and deleted: Prisma forgets it too
        state, row = ROLLED_BACK, rows[-1]
    else:
        state, row = PENDING, None
    return MigrationStatus(
        name=name,
        state=state,
        path=migration.path if migration else None,
        checksum=migration.checksum if migration else None,
        recorded_checksum=row.checksum if row else None,
        started_at=row.started_at if row else None,
        finished_at=row.finished_at if row else None,
        rolled_back_at=row.rolled_back_at if row else None,
        applied_steps_count=row.applied_steps_count if row else None,
        logs=row.logs if row else None,
    )


def compare(migrations: Sequence[Migration], rows: Sequence[HistoryRow]) -> list[MigrationStatus]:
    """The state of every migration on disk or in history, ordered by name."""
    on_disk = {m.name: m for m in migrations}
    by_name: dict[str, list[HistoryRow]] = {}
    for row in rows:
        by_name.setdefault(row.migration_name, []).append(row)
    result = []
    for name in sorted(set(on_disk) | set(by_name)):
        found = _of(name, on_disk.get(name), by_name.get(name, []))
        if found is not None:
            result.append(found)
    return result


def status(dsn: str, directory: str | Path, *, history_table: str = "_prisma_migrations",
           application_name: str = "tzurot migrate") -> list[MigrationStatus]:
    """Every migration's state, reading the history table without locking or writing.

    Raises ConfigError (bad DSN), MigrationError (bad migrations directory or file),
    ServerError (cannot connect).
    """
    import psycopg

    from pytest_tzurot import dsn as dsn_mod
    from pytest_tzurot.connect import connect
    from pytest_tzurot.errors import MigrationError
    from pytest_tzurot.migrations import history
    from pytest_tzurot.migrations.discovery import discover
    from pytest_tzurot.migrations.prisma_url import to_libpq

    dsn = to_libpq(dsn).dsn
    dsn_mod.parse(dsn)
    migrations = discover(directory, validate=False)
    with connect(dsn, autocommit=True, application_name=application_name) as conn:
        try:
            rows = history.read(conn, history_table)
        except psycopg.Error as exc:
            raise MigrationError(f"cannot read the history table {history_table!r}: "
                                 f"{' '.join(str(exc).split())}") from None
    return compare(migrations, rows)
