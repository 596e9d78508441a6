"""The history table, column for column as Prisma Migrate creates and fills it.

`ensure_table` creates it if missing (same DDL as Prisma); `read` returns
its rows ordered by `started_at` (and `[]` when the table does not exist), so
a database migrated by Prisma is understood as-is and the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

# Prisma's own DDL for `_prisma_migrations` (the table name is configurable).
_DDL = (
    "CREATE TABLE IF NOT EXISTS {table} ("
    " id VARCHAR(36) PRIMARY KEY NOT NULL,"
    " checksum VARCHAR(64) NOT NULL,"
    " finished_at TIMESTAMPTZ,"
    " migration_name VARCHAR(255) NOT NULL,"
    " logs TEXT,"
    " rolled_back_at TIMESTAMPTZ,"
    " started_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
    " applied_steps_count INTEGER NOT NULL DEFAULT 0)"
)
COLUMNS = (
    "id", "checksum", "finished_at", "migration_name", "logs",
    "rolled_back_at", "started_at", "applied_steps_count",
)


@dataclass(frozen=True)
class HistoryRow:
    """One row of the history table."""

    id: str
    checksum: str
    finished_at: datetime | None
    migration_name: str
    logs: str | None
    rolled_back_at: datetime | None
    started_at: datetime
    applied_steps_count: int

    @property
    def is_applied(self) -> bool:
        """Finished and not rolled back: Prisma counts it as applied."""
        return self.finished_at is not None and self.rolled_back_at is None

    @property
    def is_failed(self) -> bool:
        """Started, never finished, not rolled back: blocks every later deploy."""
        return self.finished_at is None and self.rolled_back_at is None

    @property
    def is_rolled_back(self) -> bool:
        return self.rolled_back_at is not None


def table_identifier(table: str) -> sql.Composable:
    """`table` (optionally `schema.table`) as a quoted SQL identifier."""
    return sql.Identifier(*table.split(".", 1))


def create_sql(table: str) -> sql.Composed:
    """Prisma's `CREATE TABLE` for the history table, as `IF NOT EXISTS` (idempotent)."""
    return sql.SQL(_DDL).format(table=table_identifier(table))


def ensure_table(conn: psycopg.Connection, table: str) -> None:
    """Create the history table with Prisma's DDL if it does not exist (idempotent)."""
    conn.execute(create_sql(table))


def exists(conn: psycopg.Connection, table: str) -> bool:
    """Whether the history table exists (as seen through the search_path)."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (regclass_name(table),)).fetchone()
    return bool(row and row[0])


def read(conn: psycopg.Connection, table: str) -> list[HistoryRow]:
    """Every row ordered by `started_at` (then id); `[]` when the table does not exist."""
    if not exists(conn, table):
        return []
    query = sql.SQL("SELECT {cols} FROM {table} ORDER BY started_at, id").format(
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS), table=table_identifier(table)
    )
    return [HistoryRow(*row) for row in conn.execute(query).fetchall()]


def regclass_name(table: str) -> str:
    """`table` as to_regclass reads it: each part quoted, so mixed case survives."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in table.split(".", 1))
