"""`resolve`: Prisma's way out of a failed migration.

- `rolled_back=NAME`: the migration must be failed; its failed row gets
  `rolled_back_at`, and the next deploy applies the migration again.
- `applied=NAME`: the migration must exist on disk and not be applied; a
  failed row is marked rolled back and a new row records it as applied with
  the current file's checksum (also how a database is baselined).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from pytest_tzurot import dsn as dsn_mod
from pytest_tzurot.config import DEFAULT_HISTORY_TABLE
from pytest_tzurot.connect import connect
from pytest_tzurot.errors import ConfigError, MigrationError, ServerError
from pytest_tzurot.migrations import fingerprints, history
from pytest_tzurot.migrations.discovery import discover
from pytest_tzurot.migrations.lock import migration_lock
from pytest_tzurot.migrations.prisma_url import to_libpq


def resolve(dsn: str, directory: str | Path, *, applied: str | None = None, rolled_back: str | None = None,
            history_table: str = DEFAULT_HISTORY_TABLE, lock_timeout: float = 10.0,
            application_name: str = "tzurot migrate") -> str:
    """Mark one migration applied or rolled back (exactly one of the two); return what was done.

    Raises ConfigError (both or neither given, bad DSN), MigrationError (the migration is
    not in a state that allows it, or not on disk), ServerError, LockTimeout.
    """
    if (applied is None) == (rolled_back is None):
        raise ConfigError("resolve needs exactly one of --applied NAME or --rolled-back NAME")
    dsn = to_libpq(dsn).dsn
    dsn_mod.parse(dsn)
    name = applied if applied is not None else rolled_back
    assert name is not None
    migration = None
    if applied is not None:
        migration = next((m for m in discover(directory, validate=False) if m.name == applied), None)
        if migration is None:
            raise MigrationError(f"no migration {applied!r} in {directory}; --applied needs its file")
    table = history.table_identifier(history_table)
    with connect(dsn, autocommit=True, application_name=application_name) as conn:
        try:
            with migration_lock(conn, lock_timeout):
                history.ensure_table(conn, history_table)
                rows = [r for r in history.read(conn, history_table) if r.migration_name == name]
                failed_ids = [r.id for r in rows if r.is_failed]
                if rolled_back is not None:
                    if not failed_ids:
                        state = "applied" if any(r.is_applied for r in rows) else "not failed"
                        raise MigrationError(
                            f"migration {name} cannot be marked rolled back: it is {state}; only a failed "
                            "migration can (see `tzurot migrate status`)"
                        )
                    _mark_rolled_back(conn, table, failed_ids)
                    return f"migration {name} marked as rolled back; the next deploy applies it again"
                if any(r.is_applied for r in rows):
                    raise MigrationError(f"migration {name} is already recorded as applied; nothing to do")
                assert migration is not None
                fingerprints.ensure_table(conn, history_table)
                with conn.transaction():
                    _mark_rolled_back(conn, table, failed_ids)
                    conn.execute(
                        sql.SQL(
                            "INSERT INTO {} (id, checksum, finished_at, migration_name, logs, started_at,"
                            " applied_steps_count) VALUES (%s, %s, now(), %s, NULL, now(), 0)"
                        ).format(table),
                        (str(uuid.uuid4()), migration.checksum, name),
                    )
                    fingerprints.record(conn, name, migration.checksum, fingerprints.compute(migration.sql),
                                        history_table)
                return f"migration {name} recorded as applied (checksum {migration.checksum[:12]}...)"
        except psycopg.Error as exc:
            if conn.broken or conn.closed:
                reason = " ".join(dsn_mod.mask(str(exc)).split())
                raise ServerError(f"lost the connection to {dsn_mod.mask(dsn)}: {reason}") from None
            raise MigrationError(f"resolve failed: {' '.join(str(exc).split())}") from None


def _mark_rolled_back(conn: psycopg.Connection, table: sql.Composable, ids: list[str]) -> None:
    if ids:
        conn.execute(
            sql.SQL("UPDATE {} SET rolled_back_at = now() WHERE id = ANY(%s)").format(table), (ids,)
        )
