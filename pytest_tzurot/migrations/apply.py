"""Apply pending migrations (minimal version: one transaction per migration).

The full Prisma-compatible runner (lock timeout, non-transactional
migrations, failure records, resolve) replaces this module's internals while
keeping `deploy(dsn, directory, history_table=...)`.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from psycopg import sql

from pytest_tzurot.config import DEFAULT_HISTORY_TABLE
from pytest_tzurot.connect import connect
from pytest_tzurot.errors import MigrationError
from pytest_tzurot.migrations.discovery import discover

PRISMA_LOCK_KEY = 72707369


def deploy(dsn: str, directory: str | Path, *, history_table: str = DEFAULT_HISTORY_TABLE) -> list[str]:
    """Apply every pending migration in order; return the names applied."""
    migrations = discover(directory)
    table = sql.Identifier(history_table)
    applied_now: list[str] = []
    with connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (id VARCHAR(36) PRIMARY KEY NOT NULL,"
                " checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ,"
                " migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ,"
                " started_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
                " applied_steps_count INTEGER NOT NULL DEFAULT 0)"
            ).format(table)
        )
        conn.execute("SELECT pg_advisory_lock(%s)", (PRISMA_LOCK_KEY,))
        try:
            done = {
                row[0]
                for row in conn.execute(
                    sql.SQL(
                        "SELECT migration_name FROM {} WHERE finished_at IS NOT NULL"
                        " AND rolled_back_at IS NULL"
                    ).format(table)
                )
            }
            for migration in migrations:
                if migration.name in done:
                    continue
                try:
                    with conn.transaction():
                        conn.execute(migration.sql.encode())
                        conn.execute(
                            sql.SQL(
                                "INSERT INTO {} (id, checksum, migration_name, finished_at,"
                                " applied_steps_count) VALUES (%s, %s, %s, now(), 1)"
                            ).format(table),
                            (str(uuid.uuid4()), migration.checksum, migration.name),
                        )
                except Exception as exc:
                    raise MigrationError(f"migration {migration.name} failed: {exc}") from None
                applied_now.append(migration.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (PRISMA_LOCK_KEY,))
    return applied_now
